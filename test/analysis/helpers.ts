import fc from 'fast-check';
import { defineGame, IllegalActionError, type Game } from '../../src/core/index.ts';
import { compile, type TabularPolicy } from '../../src/analysis/index.ts';

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
