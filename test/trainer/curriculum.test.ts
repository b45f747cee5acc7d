import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { environmentPlayers } from '../../agents/environment.ts';
import { createAbsoluteZero } from '../../environments/absolute-zero/index.ts';
import { createCreatorSolver } from '../../environments/creator-solver/index.ts';
import { createSelfPlayCritic } from '../../environments/self-play-critic/index.ts';
import { ConfigError, Rng } from '../../src/core/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { runEnvironment } from '../../src/runtime/environment.ts';
import { returnMagnitudes, sampleMagnitudes, SecCurriculum } from '../../src/trainer/curriculum.ts';
import type { Sample } from '../../src/trainer/samples.ts';

/** An episode of just what the curriculum reads: its category, seats' roles and returns, and which seats acted. */
function episode(id: string, category: string | undefined, seats: [role: string, ret: number, acted: boolean][]): Episode {
  return {
    id,
    game: { id: 'g', params: category === undefined ? {} : { taskType: category } },
    players: seats.map(([role], seat) => ({ seat, name: role, role })),
    steps: seats.flatMap(([, , acted], seat) => (acted ? [{ seat, action: 'a', valid: true }] : [])),
    returns: seats.map(([, ret]) => ret),
    outcome: 'normal',
  } as unknown as Episode;
}

describe('SEC, the self-evolving curriculum', () => {
  it('moves each category\'s value by TD(0) towards its mean absolute advantage, and leaves unplayed ones', () => {
    const sec = new SecCurriculum(['a', 'b', 'c'], { alpha: 0.5, temperature: 1 });
    expect(sec.update(new Map([['a', [1, -3]], ['b', [0.5]], ['c', []]]))).toEqual({ a: 2, b: 0.5 });
    expect(sec.update(new Map([['a', [0]]]))).toEqual({ a: 0 });
    const arms = sec.arms();
    expect([arms.a.value, arms.b.value, arms.c.value]).toEqual([0.5, 0.25, 0]);
    // Boltzmann at temperature 1: p proportional to exp(Q).
    const z = Math.exp(0.5) + Math.exp(0.25) + 1;
    expect(sec.probabilities()).toEqual([Math.exp(0.5) / z, Math.exp(0.25) / z, 1 / z].map((p) => expect.closeTo(p, 12)));
    expect(() => sec.update(new Map([['unknown', [1]]]))).not.toThrow();
  });

  it('draws categories with its probabilities and counts them', () => {
    const sec = new SecCurriculum(['a', 'b'], { temperature: 0.25 });
    sec.update(new Map([['a', [0.4]]]));
    const p = sec.probabilities()[0];
    expect(p).toBeCloseTo(1 / (1 + Math.exp(-0.2 / 0.25)), 12);
    const rng = new Rng(9);
    const draws = 20_000;
    let a = 0;
    for (let i = 0; i < draws; i++) if (sec.choose(rng) === 'a') a++;
    expect(Math.abs(a / draws - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / draws));
    expect(sec.arms().a.chosen).toBe(a);
    const copy = new SecCurriculum(['a', 'b'], { temperature: 0.25 });
    copy.restore(sec.save());
    expect(copy.arms()).toEqual(sec.arms());
  });

  it('refuses settings it cannot use', () => {
    expect(() => new SecCurriculum([])).toThrow('SEC needs at least one category');
    expect(() => new SecCurriculum(['a'], { alpha: 0 })).toThrow("SEC's alpha must be in (0, 1], not 0");
    expect(() => new SecCurriculum(['a'], { temperature: 0 })).toThrow("SEC's temperature must be a positive number, not 0");
  });

  it('reads the absolute advantages of samples, and of a role\'s returns normalised per category, by episode category', () => {
    const episodes = [
      episode('e1', 'x', [['proposer', 1, true], ['solver', 1, true], ['solver', 0, true]]),
      episode('e2', 'x', [['proposer', 0, true], ['solver', 0, true], ['solver', 0, false]]),
      episode('e3', 'y', [['proposer', 0, true], ['solver', 1, true], ['solver', 1, true]]),
      episode('e4', undefined, [['proposer', 0, true], ['solver', 1, true], ['solver', 0, true]]),
    ];
    const sample = (episodeId: string, advantage: number) => ({ episodeId, advantage }) as Sample;
    expect(sampleMagnitudes([sample('e1', -0.5), sample('e3', 2), sample('e1', 1), sample('e4', 9)], episodes)).toEqual(
      new Map([
        ['x', [0.5, 1]],
        ['y', [2]],
      ]),
    );
    // Solvers that acted in x: returns 1, 0, 0 (mean 1/3, sample sd sqrt(1/3)); in y: 1, 1 (no spread: 0).
    const sd = Math.sqrt(1 / 3);
    const x = returnMagnitudes(episodes, 'solver').get('x')!;
    expect(x).toEqual([(2 / 3) / sd, (1 / 3) / sd, (1 / 3) / sd].map((v) => expect.closeTo(v, 12)));
    expect(returnMagnitudes(episodes, 'solver').get('y')).toEqual([0, 0]);
  });
});

describe('task categories of the environments', () => {
  it('are drawn as asked and recorded as params.taskType', async () => {
    const az = await createAbsoluteZero({ solvers: 1 });
    expect(az.categories).toEqual(['deduction', 'abduction', 'induction']);
    expect(az.nextGame(new Rng(1), 'induction').params.taskType).toBe('induction');
    expect(() => az.nextGame(new Rng(1), 'poetry')).toThrow(new ConfigError('absolute-zero: no task type "poetry" in this run; its types: deduction, abduction, induction'));
    const cs = createCreatorSolver({ families: ['sum', 'gcd'] });
    expect(cs.categories).toEqual(['sum', 'gcd']);
    for (let seed = 0; seed < 20; seed++) expect(cs.nextGame(new Rng(seed), 'gcd').params).toMatchObject({ family: 'gcd', taskType: 'gcd' });
    expect(() => cs.nextGame(new Rng(1), 'sort')).toThrow(ConfigError);
  });

  it('are required of an environment run with a curriculum', () => {
    const environment = createSelfPlayCritic();
    expect(() => runEnvironment({ environment, players: environmentPlayers(environment), matches: 1, curriculum: new SecCurriculum(['a']) })).toThrow(
      new ConfigError('self-play-critic has no task categories for a curriculum to choose among'),
    );
  });
});

describe('SEC on absolute-zero with a solver that improves with practice on one task type only', () => {
  it('spends most matches on that type, where the solver is still learning', async () => {
    const shares: Record<string, Record<string, number>> = {};
    for (const mode of ['sec', 'uniform'] as const) {
      // Deduction is mastered, induction out of reach; abduction improves with every attempt.
      const attempts = { deduction: 0, abduction: 0, induction: 0 };
      const curve = { deduction: () => 0.97, induction: () => 0.03, abduction: (n: number) => Math.min(0.97, 0.05 + n / 1500) };
      const environment = await createAbsoluteZero({ solvers: 4, solverSkill: (type) => curve[type](attempts[type]++) });
      const sec = new SecCurriculum(environment.categories!);
      const played = { deduction: 0, abduction: 0, induction: 0 };
      for (let batch = 0; batch < 12; batch++) {
        const episodes = await lastValueFrom(
          runEnvironment({ environment, players: environmentPlayers(environment), matches: 32, seed: batch, runId: `b${batch}`, ...(mode === 'sec' ? { curriculum: sec } : {}) }).pipe(toArray()),
        );
        for (const e of episodes) played[e.game.params.taskType as keyof typeof played]++;
        sec.update(returnMagnitudes(episodes, 'solver'));
      }
      shares[mode] = Object.fromEntries(Object.entries(played).map(([type, n]) => [type, n / 384]));
    }
    // Uniform draws give each type about a third (sd 0.024 over 384 matches); SEC gives the improving type far more.
    expect(shares.uniform.abduction).toBeLessThan(0.45);
    expect(shares.sec.abduction).toBeGreaterThan(0.5);
    expect(shares.sec.abduction).toBeGreaterThan(shares.sec.deduction + shares.sec.induction);
  }, 60_000);
});
