import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { environmentPlayers } from '../../agents/environment.ts';
import { startLlmStub } from '../../agents/llm/stub/server.ts';
import { FAMILIES } from '../../environments/creator-solver/families.ts';
import { createSppo, sppoEntry, sppoGame, winRates, type SppoAction, type SppoState } from '../../environments/sppo/index.ts';
import { ConfigError, IllegalActionError, Rng, type Environment, type Game } from '../../src/core/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { runEnvironment } from '../../src/runtime/environment.ts';

const runAll = (environment: Environment, matches: number, seed: number, specs: Record<string, string> = {}): Promise<Episode[]> =>
  lastValueFrom(runEnvironment({ environment, players: environmentPlayers(environment, specs), matches, seed }).pipe(toArray()));

describe('sppo win rates', () => {
  it('are each response\'s mean preference over the others: 1 for a higher score, 1/2 for a tie, 0 for a lower', () => {
    expect(winRates([1, 0, 0.5, 1])).toEqual([2.5 / 3, 0, 1 / 3, 2.5 / 3]);
    expect(winRates([0.2, 0.2])).toEqual([0.5, 0.5]);
    expect(() => winRates([1])).toThrow(RangeError);
  });

  it('average 1/2 over a prompt\'s responses, and order as the scores do', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 2, maxLength: 12 }), (scores) => {
        const rates = winRates(scores);
        expect(rates.reduce((a, b) => a + b, 0) / rates.length).toBeCloseTo(0.5, 12);
        for (let i = 0; i < scores.length; i++) for (let j = 0; j < scores.length; j++) if (scores[i] > scores[j]) expect(rates[i]).toBeGreaterThan(rates[j]);
      }),
    );
  });
});

describe('the sppo game', () => {
  const family = FAMILIES.sum;
  const game = sppoGame(family, family.start, 3, 7, new Rng(7)) as Game<SppoState, SppoAction>;
  const truth = family.render(family.start, new Rng(7)).truth;

  it('scores each response with the family\'s program and pays its win rate', () => {
    let state = game.initial();
    for (const action of [{ answer: truth }, { malformed: 'no box' }, { answer: `${truth}9` }] as SppoAction[]) state = game.apply(state, action);
    expect(game.turn(state)).toBe('terminal');
    expect(state.scores[0]).toBe(1);
    expect(state.scores[1]).toBe(0);
    expect(game.returns(state)).toEqual(winRates(state.scores));
    expect(game.params).toMatchObject({ family: 'sum', taskType: 'sum', samples: 3 });
    expect(() => game.apply(state, { answer: '1' })).toThrow(IllegalActionError);
    expect(() => game.apply(game.initial(), { answer: 3 } as never)).toThrow(IllegalActionError);
  });
});

describe('the sppo environment', () => {
  it('runs 200 matches with scripted solvers, drawing families as a curriculum asks', async () => {
    const env = createSppo({ samples: 4 });
    const episodes = await runAll(env, 200, 2);
    expect(episodes.every((e) => e.outcome === 'normal' && e.returns.length === 4)).toBe(true);
    for (const e of episodes) expect(e.returns.reduce((a, b) => a + b, 0) / 4).toBeCloseTo(0.5, 12);
    const stats = env.stats() as Record<string, number>;
    expect(stats.matches).toBe(200);
    expect(stats.informativePrompts).toBe(episodes.filter((e) => new Set(e.returns).size > 1).length);
    expect(env.categories).toEqual(Object.keys(FAMILIES));
    expect(env.nextGame(new Rng(1), 'gcd').params.family).toBe('gcd');
  });

  it('refuses bad options', () => {
    expect(() => sppoEntry.create({ samples: '1' })).toThrow(new ConfigError('sppo: samples must be a whole number from 2 to 64, not "1"'));
    expect(() => sppoEntry.create({ families: 'sum,poems' })).toThrow('sppo: unknown task family poems');
    expect(() => createSppo({ families: ['sum'] }).nextGame(new Rng(1), 'gcd')).toThrow(ConfigError);
  });

  it('runs with a model as the solvers against the stub', async () => {
    const stub = await startLlmStub({ seed: 1 });
    try {
      const env = createSppo({ samples: 2 });
      const episodes = await runAll(env, 4, 3, { solver: `llm:model=stub,base=${stub.url},retries=0` });
      expect(episodes.every((e) => e.outcome === 'normal')).toBe(true);
    } finally {
      await stub.close();
    }
  });
});
