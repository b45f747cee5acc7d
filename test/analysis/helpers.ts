import fc from 'fast-check';
import { defineGame, IllegalActionError, type Game } from '../../src/core/index.ts';
import { actionProbabilities, compile, type TabularPolicy } from '../../src/analysis/index.ts';

/** Any policy for every information state of a small game, pure actions (zeros) included. */
export function policyArbitrary(game: Game): fc.Arbitrary<TabularPolicy> {
  const tree = compile(game);
  const entries = tree.infoKeys.map((key, i) =>
    fc.array(fc.integer({ min: 0, max: 4 }), { minLength: tree.actionTexts[i].length, maxLength: tree.actionTexts[i].length }).map((weights) => {
      const sum = weights.reduce((a, b) => a + b, 0);
      return [key, Object.fromEntries(tree.actionTexts[i].map((text, k) => [text, sum === 0 ? 1 / weights.length : weights[k] / sum]))] as const;
    }),
  );
  return fc.tuple(...entries).map((pairs) => Object.fromEntries(pairs));
}

/**
 * Kuhn poker's equilibrium family (Kuhn 1950), alpha in [0, 1/3]: the first
 * player bets J with alpha, K with 3 alpha, checks Q and calls a bet after
 * checking with Q at alpha + 1/3 and with K always; the second player calls
 * with K, with Q at 1/3, bets K after a check and bluffs J at 1/3.
 */
export function kuhnEquilibrium(alpha: number): TabularPolicy {
  const bet = (p: number) => ({ '[check]': 1 - p, '[bet]': p });
  const call = (p: number) => ({ '[fold]': 1 - p, '[call]': p });
  return {
    '0|J': bet(alpha),
    '0|Q': bet(0),
    '0|K': bet(3 * alpha),
    '0|Jpb': call(0),
    '0|Qpb': call(alpha + 1 / 3),
    '0|Kpb': call(1),
    '1|Jp': bet(1 / 3),
    '1|Qp': bet(0),
    '1|Kp': bet(1),
    '1|Jb': call(0),
    '1|Qb': call(1 / 3),
    '1|Kb': call(1),
  };
}

interface NimState {
  readonly heap: number;
  readonly toMove: number;
  readonly history: readonly number[];
}

/**
 * A perfect-information game with chance: a heap of 3, 4 or 5 (uniformly) is
 * dealt, then the seats alternately take 1 or 2; taking the last wins (+1/-1).
 * Heaps divisible by 3 lose for the first player, so the value is 1/3.
 */
export function chanceNim(): Game<NimState, number> {
  return defineGame<NimState, number>({
    id: 'chance-nim',
    description: 'Take 1 or 2 from a heap of 3-5; taking the last wins.',
    seats: 2,
    maxLength: 6,
    utility: 'zero-sum',
    returnRange: [-1, 1],
    initial: () => ({ heap: -1, toMove: 0, history: [] }),
    turn: (s) => (s.heap < 0 ? 'chance' : s.heap === 0 ? 'terminal' : s.toMove),
    legalActions: (s) => (s.heap < 0 ? [3, 4, 5] : s.heap === 0 ? [] : s.heap === 1 ? [1] : [1, 2]),
    chanceOutcomes: (s) => (s.heap < 0 ? [3, 4, 5].map((heap) => ({ action: heap, probability: 1 / 3 })) : []),
    apply: (s, n) => {
      if (s.heap < 0) return { heap: n, toMove: 0, history: [...s.history, n] };
      if (n !== 1 && !(n === 2 && s.heap >= 2)) throw new IllegalActionError(`cannot take ${n} from ${s.heap}`);
      return { heap: s.heap - n, toMove: 1 - s.toMove, history: [...s.history, n] };
    },
    // The seat that moved last took the last object.
    returns: (s) => (s.toMove === 1 ? [1, -1] : [-1, 1]),
    history: (s) => s.history,
  });
}

/**
 * Every information state's action values by walking the game itself (not its compiled tree): at each history,
 * the probability that chance and the seats other than the mover reach it, and the mover's return after each
 * action under `policy`; averaged over the state's histories by that probability (equally where it is 0).
 */
export function walkedActionValues(game: Game, policy: TabularPolicy): Map<string, number[]> {
  const value = (state: unknown, seat: number): number => {
    const turn = game.turn(state);
    if (turn === 'terminal') return game.returns(state)[seat];
    if (turn === 'chance') return game.chanceOutcomes(state).reduce((sum, o) => sum + o.probability * value(game.apply(state, o.action), seat), 0);
    const p = actionProbabilities(game, policy, state);
    return game.legalActions(state).reduce((sum, a, k) => sum + p[k] * value(game.apply(state, a), seat), 0);
  };
  const found = new Map<string, { weight: number; values: number[] }[]>();
  const walk = (state: unknown, others: readonly number[]): void => {
    const turn = game.turn(state);
    if (turn === 'terminal') return;
    if (turn === 'chance') {
      for (const o of game.chanceOutcomes(state)) walk(game.apply(state, o.action), others.map((r) => r * o.probability));
      return;
    }
    const key = game.infoKey(state, turn);
    const actions = game.legalActions(state);
    const histories = found.get(key) ?? [];
    histories.push({ weight: others[turn], values: actions.map((a) => value(game.apply(state, a), turn)) });
    found.set(key, histories);
    const p = actionProbabilities(game, policy, state);
    actions.forEach((a, k) => walk(game.apply(state, a), others.map((r, seat) => (seat === turn ? r : r * p[k]))));
  };
  walk(game.initial(), Array.from({ length: game.seats }, () => 1));
  return new Map(
    [...found].map(([key, histories]) => {
      const total = histories.reduce((sum, h) => sum + h.weight, 0);
      const weight = (h: { weight: number }) => (total > 0 ? h.weight / total : 1 / histories.length);
      return [key, histories[0].values.map((_, k) => histories.reduce((sum, h) => sum + weight(h) * h.values[k], 0))];
    }),
  );
}

/** The probability that play reaches each information state under `policy`, by walking the game itself. */
export function walkedReach(game: Game, policy: TabularPolicy): Map<string, number> {
  const found = new Map<string, number>();
  const walk = (state: unknown, reach: number): void => {
    const turn = game.turn(state);
    if (turn === 'terminal') return;
    if (turn === 'chance') {
      for (const o of game.chanceOutcomes(state)) walk(game.apply(state, o.action), reach * o.probability);
      return;
    }
    const key = game.infoKey(state, turn);
    found.set(key, (found.get(key) ?? 0) + reach);
    const p = actionProbabilities(game, policy, state);
    game.legalActions(state).forEach((a, k) => walk(game.apply(state, a), reach * p[k]));
  };
  walk(game.initial(), 1);
  return found;
}
