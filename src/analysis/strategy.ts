import type { Game } from '../core/index.ts';
import { compile, type CompiledGame } from './compile.ts';
import { readProbabilities, type TabularPolicy } from './policy.ts';

/** A flat strategy over a compiled game's action slots that plays every information state uniformly. */
export function uniformStrategy(tree: CompiledGame): Float64Array {
  const zeros = new Float64Array(tree.actionStart[tree.infosetCount]);
  return normalizeStrategy(tree, zeros, zeros);
}

/** `policy` as a flat strategy over `tree`'s action slots (see `readProbabilities` for what is checked). */
export function strategyFromPolicy(tree: CompiledGame, policy: TabularPolicy): Float64Array {
  const strategy = new Float64Array(tree.actionStart[tree.infosetCount]);
  for (let i = 0; i < tree.infosetCount; i++) readProbabilities(policy, tree.infoKeys[i], tree.actionTexts[i], strategy, tree.actionStart[i]);
  return strategy;
}

/**
 * `out[outFirst...]` gets `weights[first..end - 1]` (regret or average-strategy
 * sums) scaled to sum to 1, or uniform when they sum to 0 (never reached).
 */
export function normalizeWeights(weights: ArrayLike<number>, first: number, end: number, out: { [i: number]: number }, outFirst: number): void {
  let sum = 0;
  for (let s = first; s < end; s++) sum += weights[s];
  for (let s = first, o = outFirst; s < end; s++, o++) out[o] = sum > 0 ? weights[s] / sum : 1 / (end - first);
}

/** `normalizeWeights` for every information state of a compiled game. */
export function normalizeStrategy(tree: CompiledGame, weights: Float64Array, out: Float64Array): Float64Array {
  for (let i = 0; i < tree.infosetCount; i++) normalizeWeights(weights, tree.actionStart[i], tree.actionStart[i + 1], out, tree.actionStart[i]);
  return out;
}

/**
 * Regret matching: `out[outFirst...]` gets the positive parts of
 * `regrets[first..end - 1]`, scaled to sum to 1, or uniform when none is positive.
 */
export function regretMatching(regrets: ArrayLike<number>, first: number, end: number, out: { [i: number]: number }, outFirst: number): void {
  let positive = 0;
  for (let s = first; s < end; s++) if (regrets[s] > 0) positive += regrets[s];
  for (let s = first, o = outFirst; s < end; s++, o++) out[o] = positive > 0 ? Math.max(regrets[s], 0) / positive : 1 / (end - first);
}

/** A flat strategy as a tabular policy, for the information states of the given seats (default all). */
export function policyFromStrategy(tree: CompiledGame, strategy: Float64Array, seats?: readonly number[]): TabularPolicy {
  const entries: [string, Record<string, number>][] = [];
  for (let i = 0; i < tree.infosetCount; i++) {
    if (seats && !seats.includes(tree.infosetSeat[i])) continue;
    const first = tree.actionStart[i];
    entries.push([tree.infoKeys[i], Object.fromEntries(tree.actionTexts[i].map((text, k) => [text, strategy[first + k]]))]);
  }
  return Object.fromEntries(entries);
}

/** The uniform random policy of every seat, listing every information state (for games small enough to compile). */
export function uniformPolicy(game: Game): TabularPolicy {
  const tree = compile(game);
  return policyFromStrategy(tree, uniformStrategy(tree));
}
