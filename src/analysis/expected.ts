import type { Game } from '../core/index.ts';
import { compile, type CompiledGame } from './compile.ts';
import type { TabularPolicy } from './policy.ts';
import { strategyFromPolicy } from './strategy.ts';
import { computeValues } from './tree-passes.ts';

/**
 * The exact expected return of every seat when all seats play `policy`,
 * weighting chance outcomes by their probabilities (for games small enough to compile).
 */
export function expectedReturns(game: Game, policy: TabularPolicy): number[] {
  const tree = compile(game);
  return strategyReturns(tree, strategyFromPolicy(tree, policy));
}

/** `expectedReturns` over a compiled game and flat strategy; `values` is scratch space of `nodeCount`. */
export function strategyReturns(tree: CompiledGame, strategy: Float64Array, values = new Float64Array(tree.nodeCount)): number[] {
  const returns: number[] = [];
  for (let seat = 0; seat < tree.seats; seat++) {
    computeValues(tree, strategy, seat, values);
    returns.push(values[0]);
  }
  return returns;
}
