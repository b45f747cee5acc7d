import { Rng, sampleChance, type Game, type Seed } from '../core/index.ts';
import { evaluatePolicy } from './best-response.ts';
import type { TabularPolicy } from './policy.ts';
import { runIterations, type ProgressOptions } from './progress.ts';
import { normalizeWeights, regretMatching } from './strategy.ts';

export interface MccfrSolverOptions {
  /** Seed of the sampling; the same seed gives the same policy. */
  readonly seed?: Seed;
}

export interface MccfrOptions extends MccfrSolverOptions, ProgressOptions {
  /** Each iteration traverses once for every seat. */
  readonly iterations: number;
}

export interface MccfrResult {
  readonly averagePolicy: TabularPolicy;
  /** Iterations run (fewer than asked when `targetExploitability` was reached). */
  readonly iterations: number;
  /** Information states visited so far: the size of the policy. */
  readonly infoStates: number;
}

interface InfoStateTable {
  readonly texts: readonly string[];
  readonly regrets: Float64Array;
  readonly averageWeights: Float64Array;
}

/**
 * External-sampling Monte Carlo CFR over the game itself (no compiled tree,
 * so it suits games too large to walk): one traversal per seat and iteration,
 * exploring every action of the traversing seat and sampling chance and the
 * other seats from their current policies. Tables are keyed by `infoKey` and
 * created as information states are first reached.
 */
export class MccfrSolver<S = unknown, A = unknown> {
  private readonly rng: Rng;
  private readonly table = new Map<string, InfoStateTable>();
  private done = 0;

  constructor(
    readonly game: Game<S, A>,
    options: MccfrSolverOptions = {},
  ) {
    this.rng = new Rng(options.seed ?? 0);
  }

  /** Iterations run so far. */
  get iterations(): number {
    return this.done;
  }

  /** Information states reached so far. */
  get infoStates(): number {
    return this.table.size;
  }

  /** Runs `count` more iterations. */
  iterate(count = 1): void {
    for (let k = 0; k < count; k++) {
      this.done++;
      for (let seat = 0; seat < this.game.seats; seat++) this.traverse(this.game.initial(), seat);
    }
  }

  /** The average policy of every information state reached so far (unreached ones play uniformly). */
  averagePolicy(): TabularPolicy {
    const entries: [string, Record<string, number>][] = [];
    for (const [key, { texts, averageWeights }] of this.table) {
      const probabilities = new Array<number>(texts.length);
      normalizeWeights(averageWeights, 0, texts.length, probabilities, 0);
      entries.push([key, Object.fromEntries(texts.map((text, k) => [text, probabilities[k]]))]);
    }
    return Object.fromEntries(entries);
  }

  /** The sampled value of `state` to `seat`, updating regrets at its nodes and the others' average weights. */
  private traverse(state: S, seat: number): number {
    const { game, rng } = this;
    const turn = game.turn(state);
    if (turn === 'terminal') return game.returns(state)[seat];
    if (turn === 'chance') return this.traverse(game.apply(state, sampleChance(game.chanceOutcomes(state), rng)), seat);

    const actions = game.legalActions(state);
    const entry = this.entryAt(state, turn, actions);
    const strategy = new Array<number>(actions.length);
    regretMatching(entry.regrets, 0, actions.length, strategy, 0);

    if (turn !== seat) {
      for (let k = 0; k < actions.length; k++) entry.averageWeights[k] += strategy[k];
      return this.traverse(game.apply(state, actions[rng.weighted(strategy)]), seat);
    }
    const actionValues = actions.map((action) => this.traverse(game.apply(state, action), seat));
    let value = 0;
    for (let k = 0; k < actions.length; k++) value += strategy[k] * actionValues[k];
    for (let k = 0; k < actions.length; k++) entry.regrets[k] += actionValues[k] - value;
    return value;
  }

  private entryAt(state: S, seat: number, actions: readonly A[]): InfoStateTable {
    const key = this.game.infoKey(state, seat);
    let entry = this.table.get(key);
    if (!entry) {
      entry = {
        texts: actions.map((action) => this.game.actionText(state, action)),
        regrets: new Float64Array(actions.length),
        averageWeights: new Float64Array(actions.length),
      };
      this.table.set(key, entry);
    }
    return entry;
  }
}

/**
 * Runs external-sampling MCCFR for `iterations`. Evaluations for progress
 * (`evaluateEvery`) compute the exact exploitability and so compile the game:
 * ask for them only on games small enough for that.
 */
export function mccfr<S, A>(game: Game<S, A>, options: MccfrOptions): MccfrResult {
  const solver = new MccfrSolver(game, options);
  const iterations = runIterations(options.iterations, options, () => solver.iterate(), () => evaluatePolicy(game, solver.averagePolicy()));
  return { averagePolicy: solver.averagePolicy(), iterations, infoStates: solver.infoStates };
}
