import { Rng, type QuestionAnswer } from '../../src/core/index.ts';
import { generateProblem, readAnswer, readQuestion, SKILLS, type Skill } from './domain.ts';
import type { HeldOutItem, Student, TrainingPair } from './student.ts';

/** What the checker made of one of the teacher's pairs. */
export type PairCheck =
  | { readonly status: 'correct' | 'wrong'; readonly skill: Skill; readonly level: number; readonly expected: number }
  | { readonly status: 'unverifiable'; readonly reason: string };

/** Checks a pair on its own: reads the question, computes its answer, compares the teacher's. */
export function checkPair(pair: QuestionAnswer, levels: number): PairCheck {
  const reading = readQuestion(pair.question, levels);
  if (!reading.readable) return { status: 'unverifiable', reason: reading.reason };
  const given = readAnswer(pair.answer);
  return { status: given === reading.answer ? 'correct' : 'wrong', skill: reading.skill, level: reading.level, expected: reading.answer };
}

/** The readable pairs as the student trains on them (unverifiable ones teach nothing and are left out). */
export function trainingPairs(pairs: readonly QuestionAnswer[], checks: readonly PairCheck[]): TrainingPair[] {
  const out: TrainingPair[] = [];
  pairs.forEach((pair, i) => {
    const check = checks[i];
    if (check.status !== 'unverifiable') out.push({ question: pair.question, answer: pair.answer, skill: check.skill, level: check.level, correct: check.status === 'correct' });
  });
  return out;
}

/**
 * The held-out hard set: `size` questions at the top `hardLevels` levels,
 * spread evenly (round robin) over both skills and those levels, from `seed`.
 */
export function heldOutSet(size: number, levels: number, hardLevels: number, seed: number): HeldOutItem[] {
  const rng = new Rng(seed).split('held-out');
  const top = Array.from({ length: Math.min(hardLevels, levels) }, (_, i) => levels - i);
  const cells = SKILLS.flatMap((skill) => top.map((level) => ({ skill, level })));
  return Array.from({ length: size }, (_, i) => generateProblem(cells[i % cells.length].skill, cells[i % cells.length].level, rng));
}

export interface Evaluation {
  /** Accuracy of the (untrained) student and of its trained clone on the held-out set. */
  readonly before: number;
  readonly after: number;
  /** after - before. */
  readonly gain: number;
  /** The trained clone (the environment's student is never trained). */
  readonly trained: Student;
}

/** Clones `student`, trains the clone for `steps` on `pairs`, and measures both on `heldOut`. */
export function evaluateTeaching(student: Student, pairs: readonly TrainingPair[], steps: number, heldOut: readonly HeldOutItem[], rng: Rng): Evaluation {
  const trained = student.clone();
  trained.train(pairs, steps, rng);
  const before = student.accuracy(heldOut);
  const after = trained.accuracy(heldOut);
  return { before, after, gain: after - before, trained };
}

/**
 * The moving average of teacher reward and the promotion rule: each reward
 * moves the average by `rate * (reward - average)` (from 0); when the average
 * exceeds `threshold`, the best-rewarded trained student since the last
 * promotion is promoted and the average starts again from 0.
 */
export class PromotionTracker<C> {
  average = 0;
  promotions = 0;
  private best: { reward: number; candidate: C } | undefined;

  constructor(
    readonly rate: number,
    readonly threshold: number,
  ) {}

  /** Adds a reward; returns the candidate to promote, if this reward made the average pass the threshold. */
  add(reward: number, candidate: C | undefined): C | undefined {
    this.average += this.rate * (reward - this.average);
    if (candidate !== undefined && (!this.best || reward > this.best.reward)) this.best = { reward, candidate };
    if (!(this.average > this.threshold) || !this.best) return undefined;
    const promoted = this.best.candidate;
    this.best = undefined;
    this.average = 0;
    this.promotions++;
    return promoted;
  }

  /** The best candidate since the last promotion, with its reward. */
  get leader(): { readonly reward: number; readonly candidate: C } | undefined {
    return this.best;
  }
}
