import { describe, expect, expectTypeOf, it } from 'vitest';
import type { z } from 'zod';
import {
  EpisodeError,
  episodeProblem,
  episodeSchema,
  validateEpisode,
  type Episode,
  type EpisodePlayer,
  type EpisodeStep,
} from '../../src/episodes/index.ts';
import { sampleEpisode } from './helpers.ts';

/** The sample episode with one field replaced by anything, to build invalid ones. */
const withField = (change: (episode: Record<string, any>) => void) => {
  const episode = structuredClone(sampleEpisode(3)) as Record<string, any>;
  change(episode);
  return episode;
};

describe('episode schema v1', () => {
  it('knows every field of the Episode type (checked by tsc)', () => {
    type Parsed = z.infer<typeof episodeSchema>;
    expectTypeOf<keyof Parsed>().toEqualTypeOf<keyof Episode>();
    expectTypeOf<keyof Parsed['steps'][number]>().toEqualTypeOf<keyof EpisodeStep>();
    expectTypeOf<keyof Parsed['players'][number]>().toEqualTypeOf<keyof EpisodePlayer>();
  });

  it('accepts a valid episode and returns it as is', () => {
    const episode = sampleEpisode(3);
    expect(episodeProblem(episode)).toBeUndefined();
    expect(validateEpisode(episode)).toBe(episode);
  });

  it.each([
    ['a step validity that is not a boolean', (e: any) => (e.steps[1].valid = 'yes'), 'steps.1.valid: Invalid input: expected boolean, received string'],
    ['a negative seat', (e: any) => (e.players[0].seat = -1), 'players.0.seat'],
    ['a fractional seat', (e: any) => (e.steps[1].seat = 0.5), 'steps.1.seat'],
    ['a seat that is neither a number nor "chance"', (e: any) => (e.steps[0].seat = 'nature'), 'steps.0.seat: expected a seat number (an integer from 0) or "chance"'],
    ['an unknown outcome', (e: any) => (e.outcome = 'win'), 'outcome'],
    ['a missing id', (e: any) => delete e.id, 'id: Invalid input: expected string, received undefined'],
    ['an empty game id', (e: any) => (e.game.id = ''), 'game.id'],
    ['a game parameter that is an object', (e: any) => (e.game.params.deck = { cards: 3 }), 'game.params.deck'],
    ['a string return', (e: any) => (e.returns = ['1', -1]), 'returns.0'],
    ['an unsafe integer seed', (e: any) => (e.seed = 2 ** 60), 'seed'],
    ['a negative duration', (e: any) => (e.durationMs = -1), 'durationMs'],
    ['a policy without a version', (e: any) => (e.players[0].policy = { id: 'cfr' }), 'players.0.policy.version'],
    ['meta that is an array', (e: any) => (e.steps[1].meta = [1]), 'steps.1.meta'],
    ['NaN deep inside meta', (e: any) => (e.steps[1].meta.logprobs = [[-0.5, Number.NaN]]), 'steps.1.meta.logprobs.0.1: NaN is not a JSON number'],
    ['a Date as parsed action', (e: any) => (e.steps[0].parsed = new Date()), 'steps.0.parsed: Date is not a plain object'],
    ['an unknown top-level key', (e: any) => (e.winner = 0), 'Unrecognized key: "winner"'],
    ['an unknown step key', (e: any) => (e.steps[2].latency = 3), 'steps.2: Unrecognized key: "latency"'],
  ])('rejects %s, naming the field', (_name, change, message) => {
    const episode = withField(change);
    expect(episodeProblem(episode)).toContain(message);
    expect(() => validateEpisode(episode)).toThrow(EpisodeError);
    expect(() => validateEpisode(episode)).toThrow(`invalid episode: `);
  });

  it('rejects other schema versions with a message saying which version it reads', () => {
    expect(episodeProblem({ ...sampleEpisode(1), schema: 2 })).toBe('episode schema version 2 is not supported (this reader reads version 1)');
    expect(episodeProblem({ ...sampleEpisode(1), schema: '1' })).toBe('episode schema version "1" is not supported (this reader reads version 1)');
    const { schema: _, ...unversioned } = sampleEpisode(1);
    expect(episodeProblem(unversioned)).toBe('no "schema" field (expected episode schema version 1)');
  });

  it('rejects values that are not objects', () => {
    expect(episodeProblem(42)).toContain('expected object, received number');
    expect(episodeProblem(null)).toContain('expected object, received null');
    expect(episodeProblem([sampleEpisode(1)])).toContain('expected object, received array');
  });
});
