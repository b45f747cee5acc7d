import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, expectedReturns, uniformPolicy, type TabularPolicy } from '../../src/analysis/index.ts';
import { kuhnPoker } from '../../games/kuhn-poker/index.ts';
import { chanceNim, kuhnEquilibrium } from './helpers.ts';

const kuhn = kuhnPoker();

describe('expectedReturns', () => {
  it('uniform play on Kuhn poker returns [1/8, -1/8]', () => {
    const [first, second] = expectedReturns(kuhn, uniformPolicy(kuhn));
    expect(first).toBeCloseTo(1 / 8, 12);
    expect(second).toBeCloseTo(-1 / 8, 12);
  });

  it('an empty policy is the uniform one', () => {
    expect(expectedReturns(kuhn, {})).toEqual(expectedReturns(kuhn, uniformPolicy(kuhn)));
  });

  it("every member of Kuhn's equilibrium family is worth the game value [-1/18, 1/18]", () => {
    fc.assert(
      fc.property(fc.double({ min: 0, max: 1 / 3, noNaN: true }), (alpha) => {
        const [first, second] = expectedReturns(kuhn, kuhnEquilibrium(alpha));
        expect(Math.abs(first + 1 / 18)).toBeLessThan(1e-12);
        expect(Math.abs(second - 1 / 18)).toBeLessThan(1e-12);
      }),
    );
  });

  it('weights chance outcomes by their probabilities', () => {
    // Taking 2 whenever possible: heaps 3 and 4 go to the second player, heap 5 to the first.
    const game = chanceNim();
    const tree = compile(game);
    const greedy: TabularPolicy = Object.fromEntries(tree.infoKeys.map((key, i) => [key, { [tree.actionTexts[i].includes('[2]') ? '[2]' : '[1]']: 1 }]));
    const [first, second] = expectedReturns(game, greedy);
    expect(first).toBeCloseTo(-1 / 3, 12);
    expect(second).toBeCloseTo(1 / 3, 12);
  });
});
