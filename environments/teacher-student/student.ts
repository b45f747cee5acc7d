import type { Rng } from '../../src/core/index.ts';
import type { Skill } from './domain.ts';

/** A held-out question: its text, correct answer, skill and level. */
export interface HeldOutItem {
  readonly question: string;
  readonly answer: string;
  readonly skill: Skill;
  readonly level: number;
}

/**
 * A teacher's pair the checker could read: the question, the teacher's answer,
 * the skill and level the checker found, and whether the answer is right.
 */
export interface TrainingPair {
  readonly question: string;
  readonly answer: string;
  readonly skill: Skill;
  readonly level: number;
  readonly correct: boolean;
}

/**
 * What the environment trains and evaluates: the simulated learner below, or
 * any trainable policy. `train` changes this student in place; the
 * environment only ever trains clones.
 */
export interface Student {
  clone(): Student;
  /** `steps` training steps on `pairs` (readable pairs only; a wrong answer is marked `correct: false`). */
  train(pairs: readonly TrainingPair[], steps: number, rng: Rng): void;
  /** Accuracy on `set`, in [0, 1]. */
  accuracy(set: readonly HeldOutItem[]): number;
  /** A few numbers about the student, for stats (e.g. mastery per skill and level). */
  describe(): Record<string, number>;
}

export interface SimulatedStudentOptions {
  /** Levels per skill (default 5). */
  readonly levels?: number;
  /** Mastery per skill, one number in [0, 1] per level from level 1 (default `defaultMastery(levels)` for both skills). */
  readonly mastery?: Readonly<Partial<Record<Skill, readonly number[]>>>;
  /** How far one step moves mastery (default 0.15). */
  readonly learningRate?: number;
  /** Share of a step's gain that the neighbouring levels also get (default 0.25). */
  readonly transfer?: number;
  /** How hard a wrong answer hits: mastery *= 1 - learningRate * wrongPenalty (default 0.5). */
  readonly wrongPenalty?: number;
}

/** The default starting mastery: 0.95 at level 1, then 0.55 times the level below. */
export const defaultMastery = (levels: number): number[] => Array.from({ length: levels }, (_, i) => 0.95 * 0.55 ** i);

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/**
 * A simulated learner with a mastery in [0, 1] per skill and level: it
 * answers a question at (skill, level) correctly with probability
 * mastery[skill][level]. One training step on a pair at (skill, level):
 *
 * - a correct pair raises mastery there by
 *   `gain = learningRate * ready * (1 - mastery)`, where `ready` is the mastery
 *   of the level below (1 at level 1): the zone of proximal development, most
 *   gain just above what it masters, little when the level below is not
 *   mastered or this one already is; each neighbouring level (one above, one
 *   below) gains `transfer * gain` (capped at 1);
 * - a wrong answer lowers it: `mastery *= 1 - learningRate * wrongPenalty`;
 * - a pair of an unknown skill or a level out of range teaches nothing.
 *
 * Steps cycle through the pairs in order; `accuracy` is the expected accuracy
 * (mean mastery over the set), so the student is deterministic.
 */
export class SimulatedStudent implements Student {
  readonly levels: number;
  readonly learningRate: number;
  readonly transfer: number;
  readonly wrongPenalty: number;
  private readonly mastery: Map<Skill, number[]>;

  constructor(options: SimulatedStudentOptions = {}) {
    const given = options.mastery;
    const levels = options.levels ?? (given ? Math.max(0, ...Object.values(given).map((m) => m?.length ?? 0)) : 5);
    if (!Number.isInteger(levels) || levels < 1) throw new RangeError(`levels must be a whole number from 1, not ${levels}`);
    this.levels = levels;
    this.learningRate = options.learningRate ?? 0.15;
    this.transfer = options.transfer ?? 0.25;
    this.wrongPenalty = options.wrongPenalty ?? 0.5;
    for (const [name, value, max] of [['learningRate', this.learningRate, 1], ['transfer', this.transfer, 1], ['wrongPenalty', this.wrongPenalty, 1 / this.learningRate]] as const) {
      if (!(value >= 0 && value <= max)) throw new RangeError(`${name} must be from 0 to ${max}, not ${value}`);
    }
    const skills = (given ? Object.keys(given) : ['arithmetic', 'linear']) as Skill[];
    this.mastery = new Map(
      skills.map((skill) => {
        const row = given?.[skill] ? [...given[skill]] : defaultMastery(levels);
        if (row.length !== levels || !row.every((m) => m >= 0 && m <= 1)) {
          throw new RangeError(`mastery of ${skill} must be ${levels} numbers in [0, 1], not ${JSON.stringify(row)}`);
        }
        return [skill, row];
      }),
    );
  }

  /** Mastery of `skill` at `level` (1-based); 0 for an unknown skill or level. */
  masteryAt(skill: Skill, level: number): number {
    return this.mastery.get(skill)?.[level - 1] ?? 0;
  }

  clone(): SimulatedStudent {
    return new SimulatedStudent({
      levels: this.levels,
      learningRate: this.learningRate,
      transfer: this.transfer,
      wrongPenalty: this.wrongPenalty,
      mastery: Object.fromEntries([...this.mastery].map(([skill, row]) => [skill, [...row]])),
    });
  }

  /** One step on one pair (see the class comment). */
  step(pair: TrainingPair): void {
    const row = this.mastery.get(pair.skill);
    const i = pair.level - 1;
    if (!row || !Number.isInteger(i) || i < 0 || i >= row.length) return;
    if (!pair.correct) {
      row[i] = clamp01(row[i] * (1 - this.learningRate * this.wrongPenalty));
      return;
    }
    const ready = i === 0 ? 1 : row[i - 1];
    const gain = this.learningRate * ready * (1 - row[i]);
    row[i] = clamp01(row[i] + gain);
    if (i > 0) row[i - 1] = clamp01(row[i - 1] + this.transfer * gain);
    if (i + 1 < row.length) row[i + 1] = clamp01(row[i + 1] + this.transfer * gain);
  }

  train(pairs: readonly TrainingPair[], steps: number, _rng?: Rng): void {
    if (pairs.length === 0) return;
    for (let s = 0; s < steps; s++) this.step(pairs[s % pairs.length]);
  }

  accuracy(set: readonly { readonly skill: Skill; readonly level: number }[]): number {
    if (set.length === 0) return 0;
    return set.reduce((sum, item) => sum + this.masteryAt(item.skill, item.level), 0) / set.length;
  }

  describe(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [skill, row] of this.mastery) row.forEach((m, i) => (out[`${skill}.${i + 1}`] = m));
    return out;
  }
}
