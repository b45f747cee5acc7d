import { ConfigError, replay, type Environment, type EnvironmentMatch, type QuestionAnswer } from '../../src/core/index.ts';
import type { EnvironmentEntry, EnvironmentOptions } from '../entry.ts';
import { checkOptions, numberOption } from '../options.ts';
import { teacherGame, type TeacherState } from './game.ts';
import { heldOutSet, PromotionTracker } from './rules.ts';
import { scriptedTeacher } from './scripted.ts';
import { type HeldOutItem, SimulatedStudent, type Student } from './student.ts';

export { readAnswer, readQuestion, generateProblem, SKILLS, type Problem, type Reading, type Skill } from './domain.ts';
export { readTeacherOutput, scoreReply, teacherGame, teacherInput, type TeacherAction, type TeacherMatchSetup, type TeacherState, type TeachingResult } from './game.ts';
export { checkPair, evaluateTeaching, heldOutSet, PromotionTracker, trainingPairs, type Evaluation, type PairCheck } from './rules.ts';
export { scriptedTeacher } from './scripted.ts';
export { defaultMastery, SimulatedStudent, type HeldOutItem, type SimulatedStudentOptions, type Student, type TrainingPair } from './student.ts';

export const DEFAULT_TOPIC =
  'arithmetic and linear equations, written exactly in these forms: "What is 37 + 48 * 2?" (whole numbers with +, - and *; more operations is harder) ' +
  'and "Solve for x: 3x + 7 = x + 15" (one whole-number solution; more terms is harder); each answer is the number alone';

export interface TeacherStudentOptions {
  /** Levels per skill (default 5). */
  readonly levels?: number;
  /** Pairs the teacher writes per match (default 4); pairs past it are ignored. */
  readonly count?: number;
  /** Training steps of the student's clone per match (default 8). */
  readonly k?: number;
  /** Size of the held-out hard set (default 40). */
  readonly heldOut?: number;
  /** How many top levels the held-out set covers (default 2). */
  readonly hardLevels?: number;
  /** Rate of the moving average of teacher reward (default 0.2). */
  readonly emaRate?: number;
  /** The moving average above which the student is promoted (default 0.02). */
  readonly threshold?: number;
  /** Reward for a malformed reply or no pairs (default -1). */
  readonly malformedReward?: number;
  /** Share of wrong answers the scripted teacher writes (default 0.1). */
  readonly mistakeRate?: number;
  /** Seed of the held-out set (default 0). */
  readonly seed?: number;
  /** What the teacher is asked to write about. */
  readonly topic?: string;
  /** The student (default a `SimulatedStudent` with `levels` levels); the environment keeps it and replaces it on promotion. */
  readonly student?: Student;
}

/** A promotion candidate: the trained clone of a match and the correct pairs that trained it. */
interface Candidate {
  readonly student: Student;
  readonly pairs: readonly QuestionAnswer[];
}

/** The environment, with its current student in view. */
export interface TeacherStudentEnvironment extends Environment {
  /** The current student (replaced on promotion; matches only train clones of it). */
  readonly student: Student;
  /** The held-out hard questions a student is measured on. */
  readonly heldOut: readonly HeldOutItem[];
  /** Training steps of a student's copy per match. */
  readonly k: number;
}

/**
 * SOAR-style teacher-student: a teacher writes question/answer pairs; a clone
 * of the student trains k steps on them; the teacher's reward is the clone's
 * accuracy gain on a fixed held-out hard set. The clone is discarded; when the
 * moving average of reward passes the threshold, the best clone since the
 * last promotion becomes the student.
 */
export function createTeacherStudent(options: TeacherStudentOptions = {}): TeacherStudentEnvironment {
  const levels = options.levels ?? 5;
  const count = options.count ?? 4;
  const k = options.k ?? 8;
  const malformedReward = options.malformedReward ?? -1;
  const topic = options.topic ?? DEFAULT_TOPIC;
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new ConfigError(`teacher-student: ${name} must be a whole number from 1, not ${value}`);
  };
  positive('levels', levels);
  positive('count', count);
  positive('k', k);
  positive('heldOut', options.heldOut ?? 40);
  positive('hardLevels', options.hardLevels ?? 2);
  const emaRate = options.emaRate ?? 0.2;
  const threshold = options.threshold ?? 0.02;
  if (!(emaRate > 0 && emaRate <= 1)) throw new ConfigError(`teacher-student: emaRate must be in (0, 1], not ${emaRate}`);
  if (!(threshold >= 0 && threshold <= 1)) throw new ConfigError(`teacher-student: threshold must be from 0 to 1, not ${threshold}`);
  if (!Number.isFinite(malformedReward)) throw new ConfigError(`teacher-student: malformedReward must be a number, not ${malformedReward}`);
  const heldOut = heldOutSet(options.heldOut ?? 40, levels, options.hardLevels ?? 2, options.seed ?? 0);
  const tracker = new PromotionTracker<Candidate>(emaRate, threshold);
  let student: Student = options.student ?? new SimulatedStudent({ levels });
  let examples: readonly QuestionAnswer[] = [];
  const counts = { matches: 0, stale: 0, pairs: 0, correct: 0, wrong: 0, unverifiable: 0, malformed: 0 };
  let lastReward = 0;
  let rewardSum = 0;

  const record = (match: EnvironmentMatch) => {
    if (match.outcome !== 'normal' || match.game.id !== 'teacher-student') return;
    const result = (replay(match.game, match.history) as TeacherState).result;
    if (!result) return;
    counts.matches++;
    lastReward = result.reward;
    rewardSum += result.reward;
    if (result.failure) counts.malformed++;
    for (const check of result.checks) {
      counts.pairs++;
      counts[check.status]++;
    }
    // A match drawn before the last promotion measured a student that is gone.
    if (match.game.params.generation !== tracker.promotions) {
      counts.stale++;
      return;
    }
    const good = result.pairs.filter((_, i) => result.checks[i].status === 'correct');
    const candidate = result.evaluation && result.reward > 0 ? { student: result.evaluation.trained, pairs: good } : undefined;
    const promoted = tracker.add(result.reward, candidate);
    if (promoted) {
      student = promoted.student.clone();
      examples = promoted.pairs;
    } else if (tracker.leader) {
      examples = tracker.leader.candidate.pairs;
    }
  };

  const environment: TeacherStudentEnvironment = {
    id: 'teacher-student',
    description: 'A teacher writes arithmetic and linear-equation problems; its reward is how much a student trained on them improves on a held-out hard set.',
    roles: ['teacher'],
    get student() {
      return student;
    },
    heldOut,
    k,
    nextGame: (rng) =>
      teacherGame({
        topic,
        count,
        levels,
        k,
        malformedReward,
        student: student.clone(),
        studentAccuracy: student.accuracy(heldOut),
        heldOut,
        examples: examples.slice(0, count),
        generation: tracker.promotions,
        trainSeed: rng.split('train').nextUint32(),
      }),
    record,
    stats: () => ({
      studentAccuracy: student.accuracy(heldOut),
      promotions: tracker.promotions,
      movingAverage: tracker.average,
      matches: counts.matches,
      staleMatches: counts.stale,
      malformedReplies: counts.malformed,
      meanReward: counts.matches ? rewardSum / counts.matches : 0,
      lastReward,
      verifiedShare: counts.pairs ? counts.correct / counts.pairs : 0,
      wrongShare: counts.pairs ? counts.wrong / counts.pairs : 0,
      unverifiableShare: counts.pairs ? counts.unverifiable / counts.pairs : 0,
      ...Object.fromEntries(Object.entries(student.describe()).map(([key, value]) => [`student.${key}`, value])),
    }),
    scripted: { teacher: scriptedTeacher({ levels, mistakeRate: options.mistakeRate ?? 0.1 }) },
  };
  return environment;
}

const OPTIONS = ['levels', 'count', 'k', 'held_out', 'hard_levels', 'ema_rate', 'threshold', 'malformed_reward', 'mistake_rate', 'seed', 'learning_rate', 'transfer', 'wrong_penalty'] as const;

/** The registry entry: string options from the command line. */
export const teacherStudentEntry: EnvironmentEntry = {
  description: 'SOAR-style teacher: write arithmetic and linear-equation problems that make a simulated student better on a held-out hard set.',
  options: {
    levels: 'levels per skill (arithmetic, linear equations) (5)',
    count: 'question/answer pairs the teacher writes per match (4)',
    k: 'training steps of the student copy on the pairs (8)',
    held_out: 'size of the held-out hard set (40)',
    hard_levels: 'top levels the held-out set covers (2)',
    ema_rate: 'rate of the moving average of teacher reward (0.2)',
    threshold: 'moving average above which the student is promoted (0.02)',
    malformed_reward: 'reward for an unreadable reply or no pairs (-1)',
    mistake_rate: 'share of wrong answers of the scripted teacher (0.1)',
    seed: 'seed of the held-out set (0)',
    learning_rate: 'simulated student: mastery gained per step (times readiness and room to learn) (0.15)',
    transfer: 'simulated student: share of a gain that neighbouring levels get (0.25)',
    wrong_penalty: 'simulated student: a wrong answer multiplies mastery by 1 - learning_rate * wrong_penalty (0.5)',
  },
  create: (raw: EnvironmentOptions) => {
    const name = 'teacher-student';
    checkOptions(name, raw, OPTIONS);
    const levels = numberOption(name, raw, 'levels', 5, { min: 1, max: 10, integer: true });
    const learningRate = numberOption(name, raw, 'learning_rate', 0.15, { min: 0, max: 1 });
    return createTeacherStudent({
      levels,
      count: numberOption(name, raw, 'count', 4, { min: 1, max: 64, integer: true }),
      k: numberOption(name, raw, 'k', 8, { min: 1, max: 10_000, integer: true }),
      heldOut: numberOption(name, raw, 'held_out', 40, { min: 1, max: 10_000, integer: true }),
      hardLevels: numberOption(name, raw, 'hard_levels', 2, { min: 1, max: levels, integer: true }),
      emaRate: numberOption(name, raw, 'ema_rate', 0.2, { min: 0.001, max: 1 }),
      threshold: numberOption(name, raw, 'threshold', 0.02, { min: 0, max: 1 }),
      malformedReward: numberOption(name, raw, 'malformed_reward', -1, { min: -10, max: 0 }),
      mistakeRate: numberOption(name, raw, 'mistake_rate', 0.1, { min: 0, max: 1 }),
      seed: numberOption(name, raw, 'seed', 0, { min: 0, max: 2 ** 32 - 1, integer: true }),
      student: new SimulatedStudent({
        levels,
        learningRate,
        transfer: numberOption(name, raw, 'transfer', 0.25, { min: 0, max: 1 }),
        wrongPenalty: numberOption(name, raw, 'wrong_penalty', 0.5, { min: 0, max: 1 }),
      }),
    });
  },
};
