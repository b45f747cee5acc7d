import fc from 'fast-check';
import { Packr, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/index.ts';
import {
  EPISODE_FORMATS,
  EpisodeError,
  decodeEpisode,
  encodeEpisode,
  formatFromPath,
  openEpisodeWriter,
  readEpisodes,
  type Episode,
  type EpisodeFormat,
} from '../../src/episodes/index.ts';
import { checkBuiltEpisode, msgpackPackr } from '../../src/episodes/codec.ts';
import { episodeArbitrary, sampleEpisode, viaJson } from './helpers.ts';

const roundTrip = (episode: Episode, format: EpisodeFormat) => decodeEpisode(encodeEpisode(episode, format), format);

/**
 * Walks one msgpack value and returns where it ends, refusing every type JSON
 * has no counterpart for (bin, ext, the unused 0xc1): proof that a generic
 * decoder in any language reads our files as plain maps, arrays and scalars.
 */
function skipStandardValue(bytes: Uint8Array, at: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const byte = bytes[at];
  const items = (count: number, from: number) => {
    let position = from;
    for (let i = 0; i < count; i++) position = skipStandardValue(bytes, position);
    return position;
  };
  if (byte <= 0x7f || byte >= 0xe0) return at + 1; // fixints
  if (byte <= 0x8f) return items(2 * (byte & 0x0f), at + 1); // fixmap
  if (byte <= 0x9f) return items(byte & 0x0f, at + 1); // fixarray
  if (byte <= 0xbf) return at + 1 + (byte & 0x1f); // fixstr
  switch (byte) {
    case 0xc0: case 0xc2: case 0xc3: return at + 1; // nil, false, true
    case 0xca: return at + 5; // float32
    case 0xcb: return at + 9; // float64
    case 0xcc: case 0xd0: return at + 2;
    case 0xcd: case 0xd1: return at + 3;
    case 0xce: case 0xd2: return at + 5;
    case 0xcf: case 0xd3: return at + 9;
    case 0xd9: return at + 2 + bytes[at + 1]; // str8
    case 0xda: return at + 3 + view.getUint16(at + 1); // str16
    case 0xdb: return at + 5 + view.getUint32(at + 1); // str32
    case 0xdc: return items(view.getUint16(at + 1), at + 3); // array16
    case 0xdd: return items(view.getUint32(at + 1), at + 5); // array32
    case 0xde: return items(2 * view.getUint16(at + 1), at + 3); // map16
    case 0xdf: return items(2 * view.getUint32(at + 1), at + 5); // map32
    default: throw new Error(`non-standard msgpack type 0x${byte.toString(16)} at byte ${at}`);
  }
}

const isMapMarker = (byte: number) => (byte >= 0x80 && byte <= 0x8f) || byte === 0xde || byte === 0xdf;

describe('episode codecs', () => {
  it.each(EPISODE_FORMATS)('%s gives back exactly what a JSON round trip gives, for any valid episode', (format) => {
    fc.assert(
      fc.property(episodeArbitrary, (episode) => {
        expect(roundTrip(episode, format)).toStrictEqual(viaJson(episode));
      }),
      { numRuns: 300 },
    );
  });

  it('drops undefined fields in both formats, so both round trips give the same object', () => {
    const episode = sampleEpisode(1, {
      reason: undefined,
      steps: [{ seat: 0, observation: undefined, action: '[bet]', parsed: { card: undefined, bet: 1 }, valid: true, meta: { usage: undefined, model: 'm' } }],
    });
    const expected = sampleEpisode(1, { steps: [{ seat: 0, action: '[bet]', parsed: { bet: 1 }, valid: true, meta: { model: 'm' } }] });
    for (const format of EPISODE_FORMATS) {
      const back = roundTrip(episode, format);
      expect(back).toStrictEqual(expected);
      expect('reason' in back).toBe(false);
      expect('observation' in back.steps[0]).toBe(false);
    }
  });

  it('turns -0 into 0 in both formats, as JSON does, and keeps large integers and extreme doubles exact', () => {
    const numbers = [-0, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 2 ** 64, -(2 ** 63), 1e21, 1e300, Number.MAX_VALUE, Number.MIN_VALUE, 0.1];
    const episode = sampleEpisode(1, { history: numbers, returns: [-0, 0] });
    for (const format of EPISODE_FORMATS) {
      const back = roundTrip(episode, format);
      expect(Object.is(back.history[0], 0)).toBe(true);
      expect(Object.is(back.returns[0], 0)).toBe(true);
      expect(back.history.slice(1)).toStrictEqual(numbers.slice(1));
    }
  });

  it('writes standard msgpack: a generic decoder reads it, records are maps, and no bin or ext type appears', () => {
    fc.assert(
      fc.property(episodeArbitrary, (episode) => {
        const bytes = encodeEpisode(episode, 'msgpack');
        expect(isMapMarker(bytes[0])).toBe(true);
        expect(skipStandardValue(bytes, 0)).toBe(bytes.length);
        expect(unpack(bytes)).toStrictEqual(viaJson(episode));
      }),
      { numRuns: 200 },
    );
  });

  it('writes a JSON line as one line, whatever newlines the strings hold', () => {
    const episode = sampleEpisode(1, { reason: 'two\nlines\r\u2028and more' });
    const text = Buffer.from(encodeEpisode(episode, 'jsonl')).toString('utf8');
    expect(text.indexOf('\n')).toBe(text.length - 1);
    expect(decodeEpisode(text, 'jsonl')).toStrictEqual(episode);
  });

  it.each([
    ['NaN', { history: [Number.NaN] }, 'history.0: NaN is not a JSON number'],
    ['Infinity', { returns: [Infinity, 0] }, 'returns.0'],
    ['a Date', { history: [new Date(0)] }, 'history.0: Date is not a plain object'],
    ['a Map', { history: [new Map()] }, 'history.0: Map is not a plain object'],
    ['bytes', { history: [new Uint8Array(2)] }, 'history.0: Uint8Array is not a plain object'],
    ['undefined in an array', { history: [1, undefined] }, 'history.1: undefined is not JSON data'],
    ['a bigint', { history: [{ big: 1n }] }, 'history.0.big: bigint is not JSON data'],
    ['a lone surrogate', { reason: 'bad \ud800 text' }, 'reason: a string with a lone surrogate'],
    ['a __proto__ key', { history: [JSON.parse('{"__proto__": 1}')] }, 'history.0: the key "__proto__" is not allowed'],
    ['a key with a lone surrogate', { history: [{ ok: 1, 'bad \udc00': 2 }] }, 'history.0.bad \udc00: a key with a lone surrogate cannot be encoded as UTF-8'],
  ])('refuses to encode %s, naming where it is', (_name, extra, message) => {
    const episode = sampleEpisode(7, extra as Partial<Episode>);
    for (const format of EPISODE_FORMATS) {
      expect(() => encodeEpisode(episode, format)).toThrow(EpisodeError);
      expect(() => encodeEpisode(episode, format)).toThrow(message);
      expect(() => encodeEpisode(episode, format)).toThrow('cannot encode episode "episode-7"');
    }
    // A built episode is checked for the same: what is not JSON data could not be read back.
    expect(() => checkBuiltEpisode(episode)).toThrow(EpisodeError);
    expect(() => checkBuiltEpisode(episode)).toThrow(message);
    expect(() => checkBuiltEpisode(episode)).toThrow('cannot encode episode "episode-7"');
  });

  it('stores a built episode handed to the writer thread as JSON in the very bytes encodeEpisode writes', () => {
    fc.assert(
      fc.property(episodeArbitrary, (episode) => {
        expect(() => checkBuiltEpisode(episode)).not.toThrow();
        expect(Buffer.from(msgpackPackr.pack(JSON.parse(JSON.stringify(episode))))).toEqual(Buffer.from(encodeEpisode(episode, 'msgpack')));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses cyclic data instead of overflowing the stack', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => encodeEpisode(sampleEpisode(1, { history: [cycle] }), 'msgpack')).toThrow(/nested more than \d+ levels deep/);
  });

  it('refuses bytes that are not exactly one record', () => {
    const bytes = encodeEpisode(sampleEpisode(1), 'msgpack');
    expect(() => decodeEpisode(Buffer.concat([bytes, Buffer.from([0x01])]), 'msgpack')).toThrow('cannot decode msgpack episode: 1 bytes follow the record');
    expect(() => decodeEpisode(bytes.subarray(0, 10), 'msgpack')).toThrow('cannot decode msgpack episode: the bytes end inside the record');
    const withDate = new Packr({ useRecords: false }).pack({ ...sampleEpisode(1), startedAt: new Date(0) });
    expect(() => decodeEpisode(withDate, 'msgpack')).toThrow(/cannot decode msgpack episode: 0xd6 at byte \d+ is a msgpack type JSON has no counterpart for/);
    expect(() => decodeEpisode('{"schema": 1,', 'jsonl')).toThrow(/cannot decode jsonl episode/);
  });
});

describe('formatFromPath', () => {
  it('reads the format from the extension, in any case', () => {
    expect(formatFromPath('runs/a.msgpack')).toBe('msgpack');
    expect(formatFromPath('a.jsonl')).toBe('jsonl');
    expect(formatFromPath('A.JSONL')).toBe('jsonl');
  });

  it.each(['a.json', 'a.msgpack.gz', 'a.mp', 'episodes', 'dir.jsonl/file'])('throws ConfigError for %s', (path) => {
    expect(() => formatFromPath(path)).toThrow(ConfigError);
    expect(() => formatFromPath(path)).toThrow('expected .msgpack or .jsonl');
  });

  it('makes readers and writers refuse an unknown extension or format', async () => {
    expect(() => readEpisodes('episodes.json')).toThrow(ConfigError);
    await expect(openEpisodeWriter('episodes.txt')).rejects.toThrow(ConfigError);
    expect(() => readEpisodes('a.jsonl', { format: 'csv' as EpisodeFormat })).toThrow('unknown episode format "csv"');
  });
});
