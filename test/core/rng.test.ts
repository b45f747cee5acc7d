import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/index.ts';

const draw = (rng: Rng, n: number) => Array.from({ length: n }, () => rng.nextUint32());

describe('Rng', () => {
  it('gives the same sequence for the same seed, numeric or string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.string()), (seed) => {
        expect(draw(new Rng(seed), 8)).toEqual(draw(new Rng(seed), 8));
      }),
    );
  });

  it('gives different sequences for different seeds', () => {
    expect(draw(new Rng(1), 4)).not.toEqual(draw(new Rng(2), 4));
    expect(draw(new Rng('a'), 4)).not.toEqual(draw(new Rng('b'), 4));
  });

  it('splits into streams that do not advance the parent and differ by label', () => {
    const parent = new Rng(7);
    const a = draw(parent.split(0), 4);
    const b = draw(parent.split(1), 4);
    expect(a).not.toEqual(b);
    expect(draw(parent.split(0), 4)).toEqual(a);
    expect(draw(parent, 4)).toEqual(draw(new Rng(7), 4));
  });

  it('keeps next() in [0, 1) and int(n) in [0, n)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 1, max: 1000 }), (seed, n) => {
        const rng = new Rng(seed);
        for (let i = 0; i < 50; i++) {
          const x = rng.next();
          expect(x >= 0 && x < 1).toBe(true);
          const k = rng.int(n);
          expect(Number.isInteger(k) && k >= 0 && k < n).toBe(true);
        }
      }),
    );
  });

  it('is close to uniform (chi-square over 10 buckets, 100k draws)', () => {
    const rng = new Rng(123);
    const counts = new Array(10).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) counts[rng.int(10)]++;
    const chi2 = counts.reduce((sum, c) => sum + (c - n / 10) ** 2 / (n / 10), 0);
    // 9 degrees of freedom: P(chi2 > 27.9) = 0.001.
    expect(chi2).toBeLessThan(27.9);
  });

  it('shuffles into a permutation, each of the 6 orders of 3 items about equally often', () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.integer(), (items, seed) => {
        const shuffled = new Rng(seed).shuffle(items);
        expect([...shuffled].sort((a, b) => a - b)).toEqual([...items].sort((a, b) => a - b));
      }),
    );
    const rng = new Rng(9);
    const counts = new Map<string, number>();
    for (let i = 0; i < 60_000; i++) {
      const order = rng.shuffle(['a', 'b', 'c']).join('');
      counts.set(order, (counts.get(order) ?? 0) + 1);
    }
    expect(counts.size).toBe(6);
    const chi2 = [...counts.values()].reduce((sum, c) => sum + (c - 10_000) ** 2 / 10_000, 0);
    // 5 degrees of freedom: P(chi2 > 20.5) = 0.001.
    expect(chi2).toBeLessThan(20.5);
  });

  it('draws weighted indices with the given frequencies', () => {
    const rng = new Rng(5);
    const counts = [0, 0, 0];
    for (let i = 0; i < 60_000; i++) counts[rng.weighted([0.5, 0.25, 0.25])]++;
    expect(counts[0] / 60_000).toBeCloseTo(0.5, 1);
    expect(counts[1] / 60_000).toBeCloseTo(0.25, 1);
  });
});

describe('Rng save and restore', () => {
  it('continues exactly where the saved generator stood', () => {
    const rng = new Rng('checkpoint');
    draw(rng, 17);
    const saved = JSON.parse(JSON.stringify(rng.save()));
    expect(draw(Rng.restore(saved), 10)).toEqual(draw(rng, 10));
    expect(() => Rng.restore([1, 2])).toThrow(/four integers/);
  });
});
