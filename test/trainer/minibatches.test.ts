import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/index.ts';
import { shuffledMinibatches } from '../../src/trainer/minibatches.ts';

describe('shuffledMinibatches', () => {
  it('cuts a shuffled order of every index into minibatches of the size asked, only the last one smaller', () => {
    fc.assert(
      fc.property(fc.nat(300), fc.integer({ min: 1, max: 70 }), fc.string(), (count, size, seed) => {
        const batches = shuffledMinibatches(count, size, new Rng(seed));
        expect(batches.flat().toSorted((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
        expect(batches).toHaveLength(Math.ceil(count / size));
        batches.slice(0, -1).forEach((batch) => expect(batch).toHaveLength(size));
        // The order is the seed's shuffle, the same for the same seed.
        expect(batches.flat()).toEqual(new Rng(seed).shuffle(Array.from({ length: count }, (_, i) => i)));
      }),
    );
  });

  it('refuses a size that is not a whole number of items', () => {
    for (const size of [0, -1, 2.5, Number.NaN]) expect(() => shuffledMinibatches(4, size, new Rng(0))).toThrow(/a minibatch holds a whole number of items, 1 or more/);
  });
});
