import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { appendEpisode, encodeBuiltEpisode, encodeEpisode, msgpackPackr, msgpackUnpackr } from '../../src/episodes/codec.ts';
import { EpisodeError } from '../../src/episodes/index.ts';
import { findNonJson, MAX_JSON_DEPTH } from '../../src/episodes/json-data.ts';
import { appendJson, encodeJson, type ByteSink } from '../../src/episodes/msgpack-encoder.ts';
import { episodeArbitrary, sampleEpisode } from './helpers.ts';

/** msgpackr's bytes, the reference: what episode files held before this encoder. */
const reference = (value: unknown) => Buffer.from(msgpackPackr.pack(value));

// Numbers at every boundary of msgpack's integer types, and ones that are not 32-bit integers.
const boundaries = [0, -0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 2 ** 32 - 1, 2 ** 32, -1, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -(2 ** 31), -(2 ** 31) - 1];
const number = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(...boundaries, 2 ** 53, 0.1, 1e300, Number.MIN_VALUE));
// Strings whose character or byte counts straddle every header width (fixstr, str8, str16, str32), in 1-, 2-, 3- and 4-byte characters.
const lengths = [0, 1, 31, 32, 33, 63, 64, 85, 86, 255, 256, 21845, 21846, 65535, 65536];
const longString = fc.tuple(fc.constantFrom(...lengths), fc.constantFrom('a', 'é', '€', '😀')).map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)));
const text = fc.oneof(
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }), weight: 8 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).filter((s) => s.isWellFormed()), weight: 4 },
  { arbitrary: longString, weight: 1 },
);
const key = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 8 }), fc.constantFrom('constructor', 'toString', 'hasOwnProperty', '0', '1', '10')).filter((k) => k !== '__proto__');

/** Any JSON data, object properties sometimes undefined, some objects without a prototype, arrays and maps across the 16-entry boundary. */
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    fc.constant(null),
    fc.boolean(),
    number,
    text,
    fc.array(tie('value'), { maxLength: 18 }),
    fc.dictionary(key, fc.option(tie('value'), { nil: undefined }), { maxKeys: 18 }),
  ),
})).value;

describe('the msgpack encoder', () => {
  it('writes the very bytes msgpackr writes, for any JSON data', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(encodeJson(value)).toEqual(reference(value));
      }),
      { numRuns: 300 },
    );
  });

  it('writes the very bytes msgpackr writes for any episode, and for big arrays, maps and strings', () => {
    fc.assert(
      fc.property(episodeArbitrary, (episode) => {
        expect(encodeJson(episode)).toEqual(reference(episode));
        expect(Buffer.from(encodeEpisode(episode, 'msgpack'))).toEqual(reference(episode));
        expect(Buffer.from(encodeBuiltEpisode(episode, 'msgpack'))).toEqual(reference(episode));
      }),
      { numRuns: 300 },
    );
    const big = {
      array16: Array.from({ length: 70_000 }, (_, i) => i),
      map16: Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`k${i}`, i])),
      map32: Object.fromEntries(Array.from({ length: 70_000 }, (_, i) => [`k${i}`, i % 3 ? null : `v${i}`])),
      str32: 'x'.repeat(70_000),
      str32Wide: '€'.repeat(30_000),
    };
    // Buffer.equals and JSON text: a deep comparison of megabytes would take the test's time.
    const bytes = encodeJson(big)!;
    expect(bytes.equals(reference(big))).toBe(true);
    expect(JSON.stringify(msgpackUnpackr.unpack(bytes))).toBe(JSON.stringify(big));
  });

  it('refuses exactly what findNonJson refuses', () => {
    const odd = fc.oneof(
      fc.constantFrom(Number.NaN, Infinity, -Infinity, undefined, 1n, Symbol('s'), () => 1, new Date(0), new Map(), new Uint8Array(2), 'lone \ud800', '\udc00', 'end \ud83d'),
      fc.constant(JSON.parse('{"__proto__": 1}')),
      fc.constant({ ['\ud800key']: 1 }),
      fc.constant(Object.create({ inherited: 1 })),
      fc.constant(Object.create(null)),
      fc.constant([1, , 3]), // a hole reads as undefined
    );
    const mixed = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small', maxDepth: 3 },
        json,
        odd,
        fc.array(tie('value'), { maxLength: 4 }),
        fc.dictionary(key, tie('value'), { maxKeys: 4 }),
      ),
    })).value;
    fc.assert(
      fc.property(mixed, (value) => {
        const bytes = encodeJson(value);
        expect(bytes === undefined).toBe(findNonJson(value) !== undefined);
        if (bytes) expect(bytes).toEqual(reference(value));
      }),
      { numRuns: 300 },
    );
  });

  it('nests as deep as findNonJson allows, and no deeper (cycles included)', () => {
    const nested = (levels: number) => {
      let value: unknown = 1;
      for (let i = 0; i < levels; i++) value = i % 2 ? [value] : { v: value };
      return value;
    };
    expect(encodeJson(nested(MAX_JSON_DEPTH))).toEqual(reference(nested(MAX_JSON_DEPTH)));
    expect(encodeJson(nested(MAX_JSON_DEPTH + 1))).toBeUndefined();
    expect(findNonJson(nested(MAX_JSON_DEPTH + 1))).toBeDefined();
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(encodeJson(cycle)).toBeUndefined();
  });

  it('appends after what the sink holds, growing it, and leaves its length as it was when it refuses', () => {
    const sink: ByteSink = { bytes: Buffer.alloc(4), length: 2 };
    sink.bytes[0] = 0xc3;
    sink.bytes[1] = 0xc2;
    expect(appendJson(sink, { a: 'x'.repeat(100) })).toBe(true);
    expect(sink.bytes.length).toBeGreaterThanOrEqual(sink.length);
    expect(sink.bytes.subarray(0, sink.length)).toEqual(Buffer.concat([Buffer.from([0xc3, 0xc2]), reference({ a: 'x'.repeat(100) })]));
    const before = Buffer.from(sink.bytes.subarray(0, sink.length));
    expect(appendJson(sink, { a: [1, 2, Number.NaN] })).toBe(false);
    expect(appendJson(sink, { b: 'y'.repeat(10_000), c: undefined, d: [undefined] })).toBe(false);
    expect(sink.bytes.subarray(0, sink.length)).toEqual(before);
  });

  it('passes on an error thrown while it reads the value, and the sink stays usable', () => {
    const sink: ByteSink = { bytes: Buffer.alloc(16), length: 0 };
    const hostile = {
      get boom(): never {
        throw new Error('getter failed');
      },
    };
    expect(() => appendJson(sink, hostile)).toThrow('getter failed');
    expect(sink.length).toBe(0);
    expect(appendJson(sink, [1])).toBe(true);
    expect(sink.bytes.subarray(0, sink.length)).toEqual(reference([1]));
  });
});

describe('appendEpisode', () => {
  it('appends records back to back, the bytes encodeEpisode gives each, in either format', () => {
    fc.assert(
      fc.property(fc.array(episodeArbitrary, { maxLength: 5 }), fc.constantFrom('msgpack' as const, 'jsonl' as const), fc.boolean(), (episodes, format, built) => {
        const sink: ByteSink = { bytes: Buffer.alloc(8), length: 0 };
        const lengths = episodes.map((episode) => appendEpisode(sink, episode, format, built));
        const records = episodes.map((episode) => Buffer.from(encodeEpisode(episode, format)));
        expect(lengths).toEqual(records.map((record) => record.length));
        expect(sink.bytes.subarray(0, sink.length)).toEqual(Buffer.concat(records));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses what encodeEpisode refuses, with its message, and leaves the sink as it was', () => {
    for (const format of ['msgpack', 'jsonl'] as const) {
      const sink: ByteSink = { bytes: Buffer.alloc(8), length: 0 };
      appendEpisode(sink, sampleEpisode(1), format, true);
      const length = sink.length;
      const bad = sampleEpisode(7, { history: [1, Number.NaN] });
      expect(() => appendEpisode(sink, bad, format, true)).toThrow(EpisodeError);
      expect(() => appendEpisode(sink, bad, format, true)).toThrow('cannot encode episode "episode-7": history.1: NaN is not a JSON number');
      // Not built: the whole schema is checked too.
      const wrongShape = { ...sampleEpisode(8), seed: 'x' } as unknown as ReturnType<typeof sampleEpisode>;
      expect(() => appendEpisode(sink, wrongShape, format, false)).toThrow(/cannot encode episode "episode-8": seed/);
      expect(sink.length).toBe(length);
    }
  });
});
