import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeEpisode } from '../../src/episodes/index.ts';
import { INCOMPLETE, NotJsonMsgpackError, valueEnd } from '../../src/episodes/msgpack-framing.ts';
import { episodeArbitrary } from './helpers.ts';

const packr = new Packr({ useRecords: false, variableMapSize: true });

/** valueEnd finds the end of the whole value, and reports every proper prefix as incomplete. */
function expectFramed(bytes: Uint8Array): void {
  expect(valueEnd(bytes, 0)).toBe(bytes.length);
  for (let cut = 0; cut < bytes.length; cut++) expect(valueEnd(bytes.subarray(0, cut), 0)).toBe(INCOMPLETE);
}

describe('msgpack framing', () => {
  it('finds the end of any encoded episode, and of no prefix of it', () => {
    fc.assert(
      fc.property(episodeArbitrary, (episode) => expectFramed(encodeEpisode(episode, 'msgpack'))),
      { numRuns: 100 },
    );
  });

  it('reads every length width: str8/16/32, array16/32, map16/32', () => {
    const sizes = [15, 16, 31, 32, 255, 256, 65_535, 65_536];
    for (const size of sizes) {
      const value = {
        text: 'é'.repeat(size),
        list: Array.from({ length: size }, (_, i) => i),
        map: Object.fromEntries(Array.from({ length: size }, (_, i) => [`k${i}`, null])),
      };
      const bytes = packr.pack(value);
      expect(valueEnd(bytes, 0)).toBe(bytes.length);
      for (const cut of [1, 2, 3, 4, 5, 6, bytes.length >> 1, bytes.length - 1]) expect(valueEnd(bytes.subarray(0, cut), 0)).toBe(INCOMPLETE);
    }
    expect(valueEnd(packr.pack({ n: [0.5, 2 ** 40, -(2 ** 40), 70_000, -70_000, 200, -100, true, false, null] }), 0)).toBeGreaterThan(0);
  });

  it('starts where it is told and stops after one value', () => {
    const first = packr.pack({ a: 1 });
    const both = Buffer.concat([Buffer.from([0xff]), first, packr.pack({ b: 2 })]);
    expect(valueEnd(both, 1)).toBe(1 + first.length);
  });

  it.each([
    ['a Date (ext -1)', new Date(0)],
    ['bytes (bin)', new Uint8Array([1, 2])],
    ['undefined (fixext)', undefined],
  ])('refuses %s, saying where', (_name, value) => {
    const bytes = packr.pack({ x: [value] });
    expect(() => valueEnd(bytes, 0)).toThrow(NotJsonMsgpackError);
    expect(() => valueEnd(bytes, 0)).toThrow(/at byte 4 is a msgpack type JSON has no counterpart for/);
  });
});
