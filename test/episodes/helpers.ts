import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OUTCOMES } from '../../src/runtime/messages.ts';
import { readEpisodes, type Episode, type ReadOptions } from '../../src/episodes/index.ts';

/** A small valid episode; `extra` is merged in (steps are replaced, not merged). */
export function sampleEpisode(i: number, extra: Partial<Episode> = {}): Episode {
  return {
    schema: 1,
    id: `episode-${i}`,
    game: { id: 'kuhn-poker', params: { hands: 1 } },
    seed: i,
    players: [
      { seat: 0, name: 'alice', role: 'player', policy: { id: 'cfr', version: 2 } },
      { seat: 1, name: 'bob' },
    ],
    steps: [
      { seat: 'chance', action: '[deal K]', parsed: 2, valid: true },
      { seat: 0, observation: `Your card: K\nmove ${i}`, action: '[bet]', parsed: 1, valid: true, ms: 1.5, meta: { tokens: [1, 2, 3], logprob: -0.25 } },
      { seat: 1, observation: 'Your card: J', action: 'fold, I guess', valid: false, error: 'no action found' },
    ],
    history: [2, 0, 1, 0],
    returns: [1, -1],
    outcome: 'normal',
    startedAt: '2025-01-01T00:00:00.000Z',
    durationMs: 12,
    ...extra,
  };
}

/** An episode of a few dozen bytes, for tests that try every byte. */
export function tinyEpisode(i: number): Episode {
  return { schema: 1, id: `t${i}`, game: { id: 'nim', params: {} }, seed: i, players: [], steps: [], history: [i], returns: [1, -1], outcome: 'normal' };
}

/** The episode a crashing writer writes as its `i`th: large, so that a kill can land inside a write (Linux stops a large write at a fatal signal). */
export function crashEpisode(i: number): Episode {
  return sampleEpisode(i, { reason: `payload ${i} `.padEnd(100_000 + (i % 997) * 37, 'x') });
}

/** What a JSON round trip makes of a value: the reference every codec must match. */
export function viaJson<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'selfplay-episodes-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Reads a whole episode file; `truncated` is what onTruncated reported (0 if not called). */
export async function readAll(path: string, options: ReadOptions = {}): Promise<{ episodes: Episode[]; truncated: number }> {
  let truncated = 0;
  const episodes: Episode[] = [];
  for await (const episode of readEpisodes(path, { ...options, onTruncated: (bytes) => (truncated = bytes) })) episodes.push(episode);
  return { episodes, truncated };
}

const key = fc.string({ unit: 'grapheme', maxLength: 8 }).filter((k) => k !== '__proto__');
const text = fc.string({ unit: 'grapheme', maxLength: 24 });
const id = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 });
const number = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(-0, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 2 ** 64, -(2 ** 63), 1e21, Number.MAX_VALUE, Number.MIN_VALUE),
);
/** Any JSON value, object properties sometimes holding undefined (which both encodings drop). */
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    fc.constant(null),
    fc.boolean(),
    number,
    text,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, fc.option(tie('value'), { nil: undefined }), { maxKeys: 4, noNullPrototype: true }),
  ),
})).value;
/** An optional field's value: a value, or undefined written out. */
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined });

const player = fc.record(
  {
    seat: fc.nat(7),
    name: text,
    role: maybe(text),
    policy: maybe(fc.record({ id, version: fc.oneof(text, number) })),
  },
  { requiredKeys: ['seat', 'name'] },
);

const step = fc.record(
  {
    seat: fc.oneof(fc.nat(7), fc.constant('chance' as const)),
    observation: maybe(text),
    action: text,
    parsed: maybe(json),
    valid: fc.boolean(),
    error: maybe(text),
    ms: maybe(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true })),
    meta: maybe(fc.dictionary(key, maybe(json), { maxKeys: 4, noNullPrototype: true })),
  },
  { requiredKeys: ['seat', 'action', 'valid'] },
);

/** Any valid schema v1 episode, with optional fields absent, present, or set to undefined. */
export const episodeArbitrary: fc.Arbitrary<Episode> = fc.record(
  {
    schema: fc.constant(1 as const),
    id,
    game: fc.record({ id, params: fc.dictionary(key, fc.oneof(text, number, fc.boolean()), { maxKeys: 3, noNullPrototype: true }) }),
    seed: fc.maxSafeInteger(),
    players: fc.array(player, { maxLength: 3 }),
    steps: fc.array(step, { maxLength: 6 }),
    history: fc.array(json, { maxLength: 6 }),
    returns: fc.array(number, { maxLength: 3 }),
    outcome: fc.constantFrom(...OUTCOMES),
    reason: maybe(text),
    offender: maybe(fc.nat(7)),
    startedAt: maybe(text),
    durationMs: maybe(fc.double({ min: 0, noNaN: true, noDefaultInfinity: true })),
  },
  { requiredKeys: ['schema', 'id', 'game', 'seed', 'players', 'steps', 'history', 'returns', 'outcome'] },
);
