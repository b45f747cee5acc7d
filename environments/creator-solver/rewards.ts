import { isMalformed, type Malformed } from '../../src/core/index.ts';
import type { TaskFamily } from './family.ts';

/**
 * How informative a prompt is for the solver: the best sampled reward minus
 * the mean (eva). 0 when every sample scored the same; at most 1 - 1/n.
 * Clamped at 0 against rounding (the mean of equal floats can exceed them).
 */
export function informativeness(scores: readonly number[]): number {
  if (scores.length === 0) return 0;
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  return Math.max(0, Math.max(...scores) - mean);
}

/** A solver's reward: the family's score of its answer against the truth, 0 when its reply was malformed. */
export const solverReward = (family: TaskFamily, answer: { readonly answer: string } | Malformed, truth: string): number =>
  isMalformed(answer) ? 0 : family.score(answer.answer, truth);

/** The creator's reward: the child's informativeness when its proposal was used, else 0 (badly formatted or unknown parameters). */
export const creatorReward = (validProposal: boolean, scores: readonly number[]): number => (validProposal ? informativeness(scores) : 0);
