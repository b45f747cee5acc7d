/** How a solver's answer was judged. */
export type Verdict = 'correct' | 'wrong' | 'malformed';

/** The reward numbers; the defaults are those of the Absolute Zero reference code. */
export interface AbsoluteZeroRewards {
  /** Proposer, valid task solved by none or all: too easy or too hard to learn from. */
  readonly trivial: number;
  /** Proposer, task that does not parse, run, terminate, or gives non-JSON or different results on two runs. */
  readonly invalid: number;
  readonly correct: number;
  readonly wrong: number;
  /** Solver, answer with no readable final answer. */
  readonly malformed: number;
}

export const DEFAULT_REWARDS: AbsoluteZeroRewards = { trivial: -0.5, invalid: -1, correct: 1, wrong: -0.5, malformed: -1 };

/** The proposer's reward for a valid task with this solve rate: 1 - rate when 0 < rate < 1, else `trivial`. */
export function proposerReward(solveRate: number, rewards: AbsoluteZeroRewards = DEFAULT_REWARDS): number {
  return solveRate > 0 && solveRate < 1 ? 1 - solveRate : rewards.trivial;
}

export function solverReward(verdict: Verdict, rewards: AbsoluteZeroRewards = DEFAULT_REWARDS): number {
  return rewards[verdict];
}
