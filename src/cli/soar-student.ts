import { checkPair, readTeacherOutput, trainingPairs, type TeacherStudentEnvironment } from '../../environments/teacher-student/index.ts';
import { ConfigError, type Environment, isMalformed } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import type { MatchRescorer } from '../trainer/env-loop.ts';
import type { HostStudent } from '../trainer/host-student.ts';

/** The held-out set and k of a teacher-student environment, or a clear error for any other. */
export function soarSettings(environment: Environment): Pick<TeacherStudentEnvironment, 'heldOut' | 'k'> {
  const soar = environment as Partial<TeacherStudentEnvironment>;
  if (environment.id !== 'teacher-student' || !soar.heldOut || soar.k === undefined) throw new ConfigError(`--soar-student host: the student is teacher-student's; ${environment.id} has none`);
  return { heldOut: soar.heldOut, k: soar.k };
}

/**
 * SOAR's teacher reward with the model's own copy as the student: each
 * match's readable pairs (the first `count`, those the checker could read)
 * train the student on the host, and its gain on the held-out hard set is the
 * teacher's return. A reply that was unreadable or had no pairs keeps the
 * environment's return (the malformed reward).
 */
export function soarRescorer(student: HostStudent): MatchRescorer {
  const figures = { matches: 0, gain: 0, accuracy: NaN };
  const pairsOf = (episode: Episode) => {
    const reply = episode.history[0];
    if (episode.game.id !== 'teacher-student' || reply === undefined || isMalformed(reply)) return undefined;
    const pairs = readTeacherOutput(reply).pairs.slice(0, Number(episode.game.params.count));
    if (pairs.length === 0) return undefined;
    const checks = pairs.map((pair) => checkPair(pair, Number(episode.game.params.levels)));
    return trainingPairs(pairs, checks).map(({ question, answer }) => ({ question, answer }));
  };
  return {
    async rescore(episodes) {
      const before = (figures.accuracy = await student.accuracy());
      const returns: (readonly number[])[] = [];
      for (const episode of episodes) {
        const pairs = pairsOf(episode);
        if (!pairs) {
          returns.push(episode.returns);
          continue;
        }
        const { gain } = await student.gain(pairs, before);
        figures.matches++;
        figures.gain += gain;
        returns.push([gain]);
      }
      return returns;
    },
    stats: () => ({ 'hostStudent.accuracy': figures.accuracy, 'hostStudent.matches': figures.matches, 'hostStudent.meanGain': figures.matches ? figures.gain / figures.matches : 0 }),
  };
}
