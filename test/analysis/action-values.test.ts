import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { actionValues, compile, infosetReach, type TabularPolicy } from '../../src/analysis/index.ts';
import { strategyFromPolicy } from '../../src/analysis/strategy.ts';
import type { Game } from '../../src/core/index.ts';
import { kuhnPoker } from '../../games/kuhn-poker/index.ts';
import { leducPoker } from '../../games/leduc-poker/index.ts';
import { chanceNim, kuhnEquilibrium, policyArbitrary, walkedActionValues, walkedReach } from './helpers.ts';

function compiledActionValues(game: Game, policy: TabularPolicy): Map<string, number[]> {
  const tree = compile(game);
  const q = actionValues(tree, strategyFromPolicy(tree, policy));
  return new Map(tree.infoKeys.map((key, i) => [key, Array.from(q.subarray(tree.actionStart[i], tree.actionStart[i + 1]))]));
}

function expectSame(game: Game, policy: TabularPolicy): void {
  const walked = walkedActionValues(game, policy);
  const compiled = compiledActionValues(game, policy);
  expect([...compiled.keys()].sort()).toEqual([...walked.keys()].sort());
  for (const [key, values] of walked) values.forEach((v, k) => expect(compiled.get(key)![k]).toBeCloseTo(v, 10));
}

/** Checks a compiled pass against walking the game: any policy in Kuhn poker and chance nim, a random one in Leduc poker. */
function equalsWalking(check: (game: Game, policy: TabularPolicy) => void): void {
  for (const game of [kuhnPoker(), chanceNim()]) {
    it(`equals walking ${game.id} itself, for any policy (unreached states included)`, () => {
      fc.assert(fc.property(policyArbitrary(game), (policy) => check(game, policy)), { numRuns: 60 });
    });
  }

  it('equals walking Leduc poker itself, for a random policy', () => {
    const game = leducPoker();
    const [policy] = fc.sample(policyArbitrary(game), { numRuns: 1, seed: 5 });
    check(game, policy);
  });
}

describe('actionValues', () => {
  equalsWalking(expectSame);

  it("leaves the actions Kuhn poker's equilibria mix between equally good, and the ones they never take no better", () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 1 / 3 - 0.01, noNaN: true }), (alpha) => {
        const policy = kuhnEquilibrium(alpha);
        const values = compiledActionValues(kuhnPoker(), policy);
        for (const [key, moves] of Object.entries(policy)) {
          const q = values.get(key)!;
          const best = Math.max(...q);
          Object.values(moves).forEach((p, k) => {
            if (p > 0) expect(q[k]).toBeCloseTo(best, 10);
          });
        }
      }),
      { numRuns: 20 },
    );
  });
});

describe('infosetReach', () => {
  equalsWalking((game, policy) => {
    const tree = compile(game);
    const reach = infosetReach(tree, strategyFromPolicy(tree, policy));
    const walked = walkedReach(game, policy);
    expect(walked.size).toBe(tree.infosetCount);
    tree.infoKeys.forEach((key, i) => expect(reach[i]).toBeCloseTo(walked.get(key)!, 12));
  });
});
