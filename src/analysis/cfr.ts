import type { Game } from '../core/index.ts';
import { evaluateStrategy, type PolicyEvaluation } from './best-response.ts';
import { compile, type CompiledGame } from './compile.ts';
import type { TabularPolicy } from './policy.ts';
import { runIterations, type ProgressOptions } from './progress.ts';
import { normalizeStrategy, policyFromStrategy, regretMatching, uniformStrategy } from './strategy.ts';
import { computeReach, computeValues } from './tree-passes.ts';

export interface CfrSolverOptions {
  /**
   * CFR+: regrets floored at 0 after every update, and iteration t weighted by
   * t in the average policy. Plain CFR weights every iteration equally.
   */
  readonly plus?: boolean;
}

export interface CfrOptions extends CfrSolverOptions, ProgressOptions {
  /** Iterations to run; each updates every seat once. */
  readonly iterations: number;
}

export interface CfrResult {
  /** The average policy: the one that converges to a Nash equilibrium in two-player zero-sum games. */
  readonly averagePolicy: TabularPolicy;
  /** The policy of the last iteration (regret matching). */
  readonly currentPolicy: TabularPolicy;
  /** Iterations run (fewer than asked when `targetExploitability` was reached). */
  readonly iterations: number;
  /** The average policy's expected returns, NashConv and exploitability. */
  readonly evaluation: PolicyEvaluation;
}

/**
 * Counterfactual regret minimisation over a game's whole compiled tree, with
 * alternating updates: each iteration updates the seats one after another,
 * each against the others' latest regret-matching policy.
 */
export class CfrSolver {
  readonly tree: CompiledGame;
  readonly plus: boolean;
  private done = 0;
  private readonly regrets: Float64Array;
  private readonly averageWeights: Float64Array;
  private readonly current: Float64Array;
  private readonly ownReach: Float64Array;
  private readonly othersReach: Float64Array;
  private readonly values: Float64Array;

  constructor(game: Game, options: CfrSolverOptions = {}) {
    this.tree = compile(game);
    this.plus = options.plus ?? false;
    const slots = this.tree.actionStart[this.tree.infosetCount];
    this.regrets = new Float64Array(slots);
    this.averageWeights = new Float64Array(slots);
    this.current = uniformStrategy(this.tree);
    this.ownReach = new Float64Array(this.tree.nodeCount);
    this.othersReach = new Float64Array(this.tree.nodeCount);
    this.values = new Float64Array(this.tree.nodeCount);
  }

  /** Iterations run so far. */
  get iterations(): number {
    return this.done;
  }

  /** Runs `count` more iterations. */
  iterate(count = 1): void {
    for (let k = 0; k < count; k++) {
      this.done++;
      for (let seat = 0; seat < this.tree.seats; seat++) this.updateSeat(seat, this.plus ? this.done : 1);
    }
  }

  /** The average strategy as a flat array over the compiled game's action slots. */
  averageStrategy(): Float64Array {
    return normalizeStrategy(this.tree, this.averageWeights, new Float64Array(this.averageWeights.length));
  }

  /** The average policy so far (information states never reached play uniformly). */
  averagePolicy(): TabularPolicy {
    return policyFromStrategy(this.tree, this.averageStrategy());
  }

  /** The regret-matching policy the next iteration starts from. */
  currentPolicy(): TabularPolicy {
    return policyFromStrategy(this.tree, this.current);
  }

  /** Expected returns, NashConv and exploitability of the average policy. */
  evaluate(): PolicyEvaluation {
    return evaluateStrategy(this.tree, this.averageStrategy());
  }

  private updateSeat(seat: number, averageWeight: number): void {
    const { tree, regrets, averageWeights, current, ownReach, othersReach, values } = this;
    const { childStart, infoset, actionStart } = tree;
    computeReach(tree, current, seat, ownReach, othersReach);
    computeValues(tree, current, seat, values);

    for (const n of tree.seatNodes[seat]) {
      const counterfactual = othersReach[n];
      const own = ownReach[n] * averageWeight;
      const value = values[n];
      const first = childStart[n];
      const slot = actionStart[infoset[n]];
      const end = childStart[n + 1];
      for (let c = first, s = slot; c < end; c++, s++) {
        regrets[s] += counterfactual * (values[c] - value);
        averageWeights[s] += own * current[s];
      }
    }

    for (const i of tree.seatInfosets[seat]) {
      const first = actionStart[i];
      const end = actionStart[i + 1];
      if (this.plus) for (let s = first; s < end; s++) if (regrets[s] < 0) regrets[s] = 0;
      regretMatching(regrets, first, end, current, first);
    }
  }
}

/**
 * Runs CFR (or CFR+ with `plus`) for `iterations` on a game small enough to
 * compile, reporting progress through `options`, and returns the average and
 * current policies with the average policy's evaluation.
 */
export function cfr(game: Game, options: CfrOptions): CfrResult {
  const solver = new CfrSolver(game, options);
  const iterations = runIterations(options.iterations, options, () => solver.iterate(), () => solver.evaluate());
  return {
    averagePolicy: solver.averagePolicy(),
    currentPolicy: solver.currentPolicy(),
    iterations,
    evaluation: solver.evaluate(),
  };
}
