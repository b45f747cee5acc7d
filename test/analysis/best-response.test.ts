import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, type Game } from '../../src/core/index.ts';
import {
  actionProbabilities,
  bestResponse,
  compile,
  evaluatePolicy,
  expectedReturns,
  exploitability,
  nashConv,
  uniformPolicy,
  type TabularPolicy,
} from '../../src/analysis/index.ts';
import { kuhnPoker } from '../../games/kuhn-poker/index.ts';
import { leducPoker } from '../../games/leduc-poker/index.ts';
import { chanceNim, kuhnEquilibrium, policyArbitrary } from './helpers.ts';

const kuhn = kuhnPoker();
const leduc = leducPoker();

/** Every pure policy of `seat`: one action per information state. */
function purePolicies(game: Game, seat: number): TabularPolicy[] {
  const tree = compile(game);
  const infosets = Array.from(tree.seatInfosets[seat]);
  let policies: [string, Record<string, number>][][] = [[]];
  for (const i of infosets) {
    policies = policies.flatMap((partial) => tree.actionTexts[i].map((text) => [...partial, [tree.infoKeys[i], { [text]: 1 }] as [string, Record<string, number>]]));
  }
  return policies.map((entries) => Object.fromEntries(entries));
}

/** The best-response value computed history by history, correct only for perfect-information games. */
function perfectInformationBestResponse<S, A>(game: Game<S, A>, policy: TabularPolicy, seat: number, state: S = game.initial()): number {
  const turn = game.turn(state);
  if (turn === 'terminal') return game.returns(state)[seat];
  if (turn === 'chance') {
    return game.chanceOutcomes(state).reduce((sum, o) => sum + o.probability * perfectInformationBestResponse(game, policy, seat, game.apply(state, o.action)), 0);
  }
  const values = game.legalActions(state).map((a) => perfectInformationBestResponse(game, policy, seat, game.apply(state, a)));
  if (turn === seat) return Math.max(...values);
  const probabilities = actionProbabilities(game, policy, state);
  return values.reduce((sum, v, k) => sum + probabilities[k] * v, 0);
}

describe('best response, NashConv and exploitability', () => {
  it('Kuhn poker, uniform policy: NashConv 11/12, exploitability 11/24', () => {
    const uniform = uniformPolicy(kuhn);
    expect(Math.abs(nashConv(kuhn, uniform) - 11 / 12)).toBeLessThan(1e-9);
    expect(Math.abs(exploitability(kuhn, uniform) - 11 / 24)).toBeLessThan(1e-9);
  });

  it('Leduc poker, uniform policy: NashConv 4.747222222222222, exploitability 2.373611111111111', () => {
    const evaluation = evaluatePolicy(leduc, uniformPolicy(leduc));
    expect(Math.abs(evaluation.nashConv - 4.747222222222222)).toBeLessThan(1e-9);
    expect(Math.abs(evaluation.exploitability - 2.373611111111111)).toBeLessThan(1e-9);
  });

  it("Kuhn's equilibria are unexploitable", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1 / 3, noNaN: true }), (alpha) => {
        expect(Math.abs(nashConv(kuhn, kuhnEquilibrium(alpha)))).toBeLessThan(1e-12);
      }),
    );
  });

  it('NashConv is never negative (Kuhn)', () => {
    fc.assert(
      fc.property(policyArbitrary(kuhn), (policy) => {
        expect(nashConv(kuhn, policy)).toBeGreaterThanOrEqual(-1e-12);
      }),
    );
  });

  it('NashConv is never negative (Leduc)', () => {
    fc.assert(
      fc.property(policyArbitrary(leduc), (policy) => {
        expect(nashConv(leduc, policy)).toBeGreaterThanOrEqual(-1e-12);
      }),
      { numRuns: 10 },
    );
  });

  it('the best response scores at least as well as each of the 2^6 pure policies of its seat on Kuhn, and is one of them', () => {
    const pure = [purePolicies(kuhn, 0), purePolicies(kuhn, 1)];
    expect(pure.map((p) => p.length)).toEqual([64, 64]);
    fc.assert(
      fc.property(policyArbitrary(kuhn), fc.integer({ min: 0, max: 1 }), (policy, seat) => {
        const response = bestResponse(kuhn, policy, seat);
        const scores = pure[seat].map((own) => expectedReturns(kuhn, { ...policy, ...own })[seat]);
        for (const score of scores) expect(response.value).toBeGreaterThanOrEqual(score - 1e-12);
        expect(Math.abs(response.value - Math.max(...scores))).toBeLessThan(1e-12);
        expect(Math.abs(expectedReturns(kuhn, { ...policy, ...response.policy })[seat] - response.value)).toBeLessThan(1e-12);
      }),
      { numRuns: 50 },
    );
  });

  it('a best response is pure and covers exactly its seat’s information states', () => {
    const response = bestResponse(kuhn, uniformPolicy(kuhn), 1);
    expect(Object.keys(response.policy).sort()).toEqual(['1|Jb', '1|Jp', '1|Kb', '1|Kp', '1|Qb', '1|Qp']);
    for (const entry of Object.values(response.policy)) expect(Object.values(entry).sort()).toEqual([0, 1]);
  });

  it('matches history-by-history best response on a perfect-information game with chance', () => {
    const game = chanceNim();
    fc.assert(
      fc.property(policyArbitrary(game), fc.integer({ min: 0, max: 1 }), (policy, seat) => {
        expect(Math.abs(bestResponse(game, policy, seat).value - perfectInformationBestResponse(game, policy, seat))).toBeLessThan(1e-12);
      }),
    );
  });

  it('refuses a seat the game does not have', () => {
    expect(() => bestResponse(kuhn, {}, 2)).toThrow(ConfigError);
    expect(() => bestResponse(kuhn, {}, 2)).toThrow('kuhn-poker has seats 0-1, not 2');
  });
});
