import { ConfigError, type Game } from '../core/index.ts';
import { CHANCE, compile, TERMINAL, type CompiledGame } from './compile.ts';
import { strategyReturns } from './expected.ts';
import type { TabularPolicy } from './policy.ts';
import { policyFromStrategy, strategyFromPolicy } from './strategy.ts';
import { computeReach } from './tree-passes.ts';

export interface BestResponse {
  readonly seat: number;
  /** The seat's expected return when it best-responds and every other seat plays the policy. */
  readonly value: number;
  /** A pure best response: each of the seat's information states with probability 1 on one action. */
  readonly policy: TabularPolicy;
}

export interface PolicyEvaluation {
  /** Each seat's expected return when every seat plays the policy. */
  readonly returns: readonly number[];
  /** Each seat's best-response value against the others' policy. */
  readonly bestResponseValues: readonly number[];
  /** Sum over seats of best-response value minus expected return; 0 exactly at a Nash equilibrium. */
  readonly nashConv: number;
  /** NashConv divided by the number of seats. */
  readonly exploitability: number;
}

/**
 * The best response of `seat` to the other seats playing `policy`, chosen per
 * information state: each action is scored by its return summed over the
 * histories of the information state, weighted by the probability that chance
 * and the other seats reach them (for games small enough to compile).
 */
export function bestResponse(game: Game, policy: TabularPolicy, seat: number): BestResponse {
  if (!Number.isInteger(seat) || seat < 0 || seat >= game.seats) throw new ConfigError(`${game.id} has seats 0-${game.seats - 1}, not ${seat}`);
  const tree = compile(game);
  const { value, choice } = bestResponseOf(tree, strategyFromPolicy(tree, policy), seat);
  const pure = new Float64Array(tree.actionStart[tree.infosetCount]);
  for (const i of tree.seatInfosets[seat]) pure[tree.actionStart[i] + choice[i]] = 1;
  return { seat, value, policy: policyFromStrategy(tree, pure, [seat]) };
}

/** Expected returns, best-response values, NashConv and exploitability of `policy`. */
export function evaluatePolicy(game: Game, policy: TabularPolicy): PolicyEvaluation {
  const tree = compile(game);
  return evaluateStrategy(tree, strategyFromPolicy(tree, policy));
}

/** Sum over seats of (best-response value - expected return) of `policy`. */
export function nashConv(game: Game, policy: TabularPolicy): number {
  return evaluatePolicy(game, policy).nashConv;
}

/** NashConv of `policy` divided by the number of seats. */
export function exploitability(game: Game, policy: TabularPolicy): number {
  return evaluatePolicy(game, policy).exploitability;
}

/** `evaluatePolicy` over a compiled game and flat strategy. */
export function evaluateStrategy(tree: CompiledGame, strategy: Float64Array): PolicyEvaluation {
  const returns = strategyReturns(tree, strategy);
  const bestResponseValues = returns.map((_, seat) => bestResponseOf(tree, strategy, seat).value);
  let nashConv = 0;
  for (let seat = 0; seat < tree.seats; seat++) nashConv += bestResponseValues[seat] - returns[seat];
  return { returns, bestResponseValues, nashConv, exploitability: nashConv / tree.seats };
}

/**
 * Best-response value of `seat` and its chosen action index per information
 * state (-1 for other seats'). Node values are memoised, and an information
 * state is decided the first time one of its nodes needs its value; with
 * perfect recall everything below it is decided independently of it.
 */
function bestResponseOf(tree: CompiledGame, strategy: Float64Array, seat: number): { value: number; choice: Int32Array } {
  const { player, childStart, infoset, actionStart, chanceProbability, utility, seats, infosetNodeStart, infosetNodes } = tree;
  const own = new Float64Array(tree.nodeCount);
  const others = new Float64Array(tree.nodeCount);
  computeReach(tree, strategy, seat, own, others);
  const values = new Float64Array(tree.nodeCount);
  const known = new Uint8Array(tree.nodeCount);
  const choice = new Int32Array(tree.infosetCount).fill(-1);

  const decide = (i: number): number => {
    if (choice[i] >= 0) return choice[i];
    let best = -Infinity;
    let bestAction = 0;
    const actions = actionStart[i + 1] - actionStart[i];
    for (let k = 0; k < actions; k++) {
      let score = 0;
      for (let j = infosetNodeStart[i]; j < infosetNodeStart[i + 1]; j++) {
        const h = infosetNodes[j];
        score += others[h] * valueOf(childStart[h] + k);
      }
      if (score > best) {
        best = score;
        bestAction = k;
      }
    }
    choice[i] = bestAction;
    return bestAction;
  };

  const valueOf = (n: number): number => {
    if (known[n]) return values[n];
    const mover = player[n];
    const first = childStart[n];
    const end = childStart[n + 1];
    let value = 0;
    if (mover === TERMINAL) {
      value = utility[n * seats + seat];
    } else if (mover === CHANCE) {
      for (let c = first; c < end; c++) value += chanceProbability[c] * valueOf(c);
    } else if (mover === seat) {
      value = valueOf(first + decide(infoset[n]));
    } else {
      const slot = actionStart[infoset[n]] - first;
      for (let c = first; c < end; c++) value += strategy[slot + c] * valueOf(c);
    }
    known[n] = 1;
    values[n] = value;
    return value;
  };

  return { value: valueOf(0), choice };
}
