import type { QuestionAnswer, Rng, TeacherInput, TeacherOutput } from '../../src/core/index.ts';
import { generateProblem, readQuestion, SKILLS } from './domain.ts';

export interface ScriptedTeacherOptions {
  readonly levels: number;
  /** Share of answers written wrong (default 0.1). */
  readonly mistakeRate?: number;
}

/**
 * A scripted teacher: it cannot see the student, only its observation. Each
 * pair is, half the time when there are examples, a new question at the skill
 * and level of a random example (what worked before), otherwise at a random
 * skill and a level drawn from the upper half of 1..levels; its answer is
 * right except with probability `mistakeRate`, when it is off by 1 to 3.
 */
export function scriptedTeacher(options: ScriptedTeacherOptions): (observation: TeacherInput, rng: Rng) => TeacherOutput {
  const { levels } = options;
  const mistakeRate = options.mistakeRate ?? 0.1;
  const low = Math.ceil((levels + 1) / 2);
  return (observation, rng) => {
    const count = Math.max(1, Math.floor(observation.count));
    const examples = (observation.examples ?? [])
      .map((example) => readQuestion(example.question, levels))
      .flatMap((r) => (r.readable ? [{ skill: r.skill, level: r.level }] : []));
    const pairs: QuestionAnswer[] = [];
    for (let i = 0; i < count; i++) {
      const imitate = examples.length > 0 && rng.next() < 0.5;
      const { skill, level } = imitate ? rng.pick(examples) : { skill: rng.pick(SKILLS), level: low + rng.int(levels - low + 1) };
      const problem = generateProblem(skill, level, rng);
      const wrong = rng.next() < mistakeRate;
      const answer = wrong ? String(Number(problem.answer) + (1 + rng.int(3)) * (rng.next() < 0.5 ? -1 : 1)) : problem.answer;
      pairs.push({ question: problem.question, answer });
    }
    return { pairs };
  };
}
