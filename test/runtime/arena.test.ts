import { lastValueFrom, Observable, take, tap, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { connectFour, kuhnPoker, ticTacToe } from '../../games/index.ts';
import { randomAgent } from '../../agents/random.ts';
import { policyAgent, ResultTally, runArena, seating, summarize, wilsonInterval, type Agent, type Backpressure } from '../../src/runtime/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { firstLegal, player } from './helpers.ts';

afterEach(() => {
  vi.useRealTimers();
});

const all = (source: Observable<Episode>) => lastValueFrom(source.pipe(toArray()));

describe('runArena', () => {
  it('plays every match, rotating seats and deriving a seed per match', async () => {
    const game = ticTacToe();
    const episodes = await all(runArena({ game, players: [player('A', randomAgent()), player('B', randomAgent())], matches: 10, seed: 3 }));
    expect(episodes).toHaveLength(10);
    expect(episodes.map((e) => e.id).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `seed3-${i}`).sort());
    for (const e of episodes) {
      const index = Number(e.id.split('-')[1]);
      expect(e.players.map((p) => p.name)).toEqual(index % 2 === 0 ? ['A', 'B'] : ['B', 'A']);
    }
    expect(new Set(episodes.map((e) => e.seed)).size).toBe(10);
  });

  it('with paired seeds, matches 2k and 2k+1 deal the same cards with the players in swapped seats', async () => {
    const episodes = await all(runArena({ game: kuhnPoker(), players: [player('A', randomAgent()), player('B', randomAgent())], matches: 40, seed: 5, pairedSeeds: true, concurrency: 4 }));
    const byIndex = new Map(episodes.map((e) => [Number(e.id.split('-')[1]), e]));
    const deal = (e: Episode) => JSON.stringify(e.steps.filter((s) => s.seat === 'chance').map((s) => s.action));
    for (let k = 0; k < 20; k++) {
      const [first, second] = [byIndex.get(2 * k)!, byIndex.get(2 * k + 1)!];
      expect(second.seed).toBe(first.seed);
      expect(deal(second)).toBe(deal(first));
      expect(second.players.map((p) => p.name)).toEqual([...first.players.map((p) => p.name)].reverse());
    }
    expect(new Set(episodes.map((e) => e.seed)).size).toBe(20);
  });

  it('keeps seats fixed on request, and rotates three players through three seats', () => {
    expect(seating(['A', 'B'], 1, 'fixed')).toEqual(['A', 'B']);
    expect([0, 1, 2, 3].map((k) => seating(['A', 'B', 'C'], k).join(''))).toEqual(['ABC', 'CAB', 'BCA', 'ABC']);
  });

  it('is deterministic: the same seed and deterministic agents give identical episodes', async () => {
    const run = (seed: number) =>
      all(runArena({ game: kuhnPoker(), players: [player('r1', randomAgent()), player('r2', randomAgent())], matches: 50, seed, concurrency: 4 }));
    const a = JSON.stringify(await run(9));
    expect(JSON.stringify(await run(9))).toBe(a);
    expect(JSON.stringify(await run(10))).not.toBe(a);
  });

  it('never has more than `concurrency` matches in flight', async () => {
    let live = 0;
    let most = 0;
    const counting: Agent = (inbox) => {
      live++;
      most = Math.max(most, live);
      return new Observable((subscriber) => {
        const inner = policyAgent((turn) => new Promise<string>((resolve) => setTimeout(() => resolve(turn.legal[0]), 1)))(inbox).subscribe(subscriber);
        return () => {
          live--;
          inner.unsubscribe();
        };
      });
    };
    const game = ticTacToe();
    await all(runArena({ game, players: [player('a', counting), player('b', firstLegal)], matches: 12, concurrency: 3 }));
    expect(most).toBe(3);
    expect(live).toBe(0);
  });

  it('unsubscribing cancels every match: no timers, no subscriptions left', async () => {
    vi.useFakeTimers();
    let subscribed = 0;
    const slowAgent: Agent = (inbox) =>
      new Observable((subscriber) => {
        subscribed++;
        const inner = policyAgent((turn) => new Promise<string>((resolve) => setTimeout(() => resolve(turn.legal[0]), 1000)))(inbox).subscribe(subscriber);
        return () => {
          subscribed--;
          inner.unsubscribe();
        };
      });
    const received: Episode[] = [];
    const subscription = runArena({ game: connectFour(), players: [player('a', slowAgent), player('b', slowAgent)], matches: 100, concurrency: 5, turnTimeoutMs: 60_000 }).subscribe((e) => received.push(e));
    await vi.advanceTimersByTimeAsync(3000);
    expect(subscribed).toBe(10);
    subscription.unsubscribe();
    await vi.advanceTimersByTimeAsync(0);
    expect(subscribed).toBe(0);
    // The agents' own pending answers may still fire once; the referee's deadline timers are gone.
    await vi.advanceTimersByTimeAsync(2000);
    expect(vi.getTimerCount()).toBe(0);
    expect(received).toHaveLength(0);
  });

  it('runs no further ahead than its consumer: a match starts only when the backpressure says so', async () => {
    // A consumer that takes 5 episodes, then holds the arena until released.
    const taken: Episode[] = [];
    let released = false;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const backpressure: Backpressure = { ready: () => (!released && taken.length >= 5 ? held : undefined) };
    const game = kuhnPoker();
    const run = all(runArena({ game, players: [player('a', randomAgent()), player('b', randomAgent())], matches: 40, concurrency: 1, backpressure }).pipe(tap((e) => taken.push(e))));
    // Wait until the arena is held (it asked and got the promise), then give it time to run ahead if it could.
    for (let i = 0; i < 200 && taken.length < 5; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(taken).toHaveLength(5);
    released = true;
    release();
    expect(await run).toHaveLength(40);
  });

  it('holds only the matches in flight, however many matches are asked for', async () => {
    // A billion matches: an arena that queued them all before playing would never get to the first.
    const episodes = await all(runArena({ game: kuhnPoker(), players: [player('a', randomAgent()), player('b', randomAgent())], matches: 1_000_000_000 }).pipe(take(5)));
    expect(episodes).toHaveLength(5);
  });

  it('take(n) stops the arena after n episodes', async () => {
    const episodes = await lastValueFrom(runArena({ game: ticTacToe(), players: [player('a', firstLegal), player('b', firstLegal)], matches: 1000 }).pipe(take(5), toArray()));
    expect(episodes).toHaveLength(5);
  });

  it('refuses a wrong number of players', () => {
    expect(() => runArena({ game: ticTacToe(), players: [player('a', firstLegal)], matches: 1 })).toThrow(/needs 2 players, got 1/);
  });
});

describe('summarize', () => {
  const episode = (names: string[], returns: number[], outcome: Episode['outcome'] = 'normal'): Episode => ({
    schema: 1,
    id: 'x',
    game: { id: 'g', params: {} },
    seed: 0,
    players: names.map((name, seat) => ({ seat, name })),
    steps: [],
    history: [],
    returns,
    outcome,
  });

  it('counts wins, draws, losses and errors per agent, whatever its seat', () => {
    const records = summarize(
      [episode(['A', 'B'], [1, -1]), episode(['B', 'A'], [1, -1]), episode(['A', 'B'], [0, 0]), episode(['B', 'A'], [-1.5, 0.5], 'forfeit'), episode(['A', 'B'], [0, 0], 'error')],
      ['A', 'B'],
    );
    expect(records[0]).toMatchObject({ agent: 'A', matches: 5, wins: 2, draws: 1, losses: 1, errors: 1, score: 2.5 / 4 });
    expect(records[1]).toMatchObject({ agent: 'B', wins: 1, draws: 1, losses: 2, errors: 1, score: 1.5 / 4 });
    expect(records[0].meanReturn).toBeCloseTo((1 - 1 + 0 + 0.5) / 4);
  });

  it('tallies one episode at a time as summarize does', () => {
    const a = { ...episode(['x', 'y'], [1, -1]) };
    const b = { ...episode(['y', 'x'], [0, 0]) };
    const tally = new ResultTally(['x', 'y']);
    tally.add(a);
    tally.add(b);
    expect(tally.count).toBe(2);
    expect(tally.records()).toEqual(summarize([a, b], ['x', 'y']));
  });

  it('gives the 95% Wilson interval (checked against the closed form)', () => {
    const [low, high] = wilsonInterval(0.5, 100);
    expect(low).toBeCloseTo(0.4038, 3);
    expect(high).toBeCloseTo(0.5962, 3);
    expect(wilsonInterval(1, 10)[1]).toBeCloseTo(1, 12);
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
  });
});
