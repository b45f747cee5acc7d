import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createGame } from '../../games/index.ts';
import { parseTournamentConfig, tournamentConfigSchema, type ResolvedConfig } from '../../src/tournament/config.ts';
import { ladderPairing, plan, seatScores, type FinishedMatch, type PlannedMatch } from '../../src/tournament/formats.ts';

const agents = (n: number) => Array.from({ length: n }, (_, i) => `a${i}`);
const config = (raw: Record<string, unknown>, n: number): ResolvedConfig => ({ ...tournamentConfigSchema.parse({ name: 't', game: 'kuhn-poker', ...raw }), agents: agents(n) });
const pairOf = (m: PlannedMatch) => [...m.seats].sort().join('-');

describe('round-robin', () => {
  it('plays every pair the same number of games, seats balanced, keys unique', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 6 }), fc.boolean(), (n, games, swap) => {
        const { matches, final } = plan(config({ format: 'round-robin', gamesPerPairing: games, swapSeats: swap }, n), [], new Map());
        expect(final).toBe(true);
        expect(matches).toHaveLength(((n * (n - 1)) / 2) * games);
        expect(new Set(matches.map((m) => m.key)).size).toBe(matches.length);
        const byPair = new Map<string, PlannedMatch[]>();
        for (const m of matches) byPair.set(pairOf(m), [...(byPair.get(pairOf(m)) ?? []), m]);
        expect(byPair.size).toBe((n * (n - 1)) / 2);
        for (const list of byPair.values()) {
          expect(list).toHaveLength(games);
          const first = list.filter((m) => m.seats[0] === list[0].seats[0]).length;
          expect(first).toBe(swap ? Math.ceil(games / 2) : games);
        }
      }),
    );
  });

  it('paired seeds: games 2k and 2k+1 share a seed with seats swapped; other games differ', () => {
    const { matches } = plan(config({ format: 'round-robin', gamesPerPairing: 4, pairedSeeds: true }, 3), [], new Map());
    const pair = matches.filter((m) => pairOf(m) === 'a0-a1');
    expect(pair.map((m) => m.seats.join())).toEqual(['a0,a1', 'a1,a0', 'a0,a1', 'a1,a0']);
    expect(pair[0].seed).toBe(pair[1].seed);
    expect(pair[2].seed).toBe(pair[3].seed);
    expect(pair[0].seed).not.toBe(pair[2].seed);
    expect(new Set(matches.filter((m) => m.key.endsWith(':0')).map((m) => m.seed)).size).toBe(3);
  });

  it('refuses paired seeds without seat swapping or with an odd number of games', async () => {
    const parse = (raw: Record<string, unknown>) => parseTournamentConfig({ name: 't', game: 'kuhn-poker', ...raw }, createGame);
    await expect(parse({ format: 'round-robin', pairedSeeds: true, swapSeats: false })).rejects.toThrow(/swapSeats/);
    await expect(parse({ format: 'round-robin', pairedSeeds: true, gamesPerPairing: 3 })).rejects.toThrow(/even/);
    await expect(parse({ format: 'knockout' })).rejects.toThrow(/format/);
    await expect(parse({ format: 'round-robin', invalidMoves: 'lenient' })).rejects.toThrow(/invalid-move policy/);
  });
});

describe('gauntlet', () => {
  it('pairs each challenger with every other agent, and nobody else', () => {
    const { matches } = plan(config({ format: { type: 'gauntlet', challengers: ['a0', 'a1'] }, gamesPerPairing: 1 }, 5), [], new Map());
    expect(matches.map(pairOf).sort()).toEqual(['a0-a2', 'a0-a3', 'a0-a4', 'a1-a2', 'a1-a3', 'a1-a4']);
  });
});

describe('swiss', () => {
  /** Plays every planned round to the end with results from `winner`, planning rounds as they open. */
  function run(cfg: ResolvedConfig, winner: (m: PlannedMatch) => number) {
    let planned: PlannedMatch[] = [];
    const finished = new Map<string, FinishedMatch>();
    for (;;) {
      const schedule = plan(cfg, planned, finished);
      planned = [...schedule.matches];
      const open = planned.filter((m) => !finished.has(m.key));
      if (open.length === 0 && schedule.final) return planned;
      for (const m of open) {
        const w = winner(m);
        finished.set(m.key, { ...m, scores: seatScores(m.seats.map((_, s) => (s === w ? 1 : -1))) });
      }
    }
  }

  it('plans round by round: everyone plays once a round, no rematches while avoidable, byes spread out', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 9 }), fc.integer({ min: 1, max: 6 }), fc.integer(), (n, rounds, seed) => {
        const cfg = config({ format: { type: 'swiss', rounds }, gamesPerPairing: 1 }, n);
        const matches = run(cfg, (m) => Math.abs(seed + m.key.length * 7 + m.seats[0].charCodeAt(1)) % 2);
        for (let r = 1; r <= rounds; r++) {
          const seated = matches.filter((m) => m.round === r).flatMap((m) => m.seats);
          expect(new Set(seated).size).toBe(seated.length);
          expect(seated).toHaveLength(n - (n % 2));
        }
        const possible = n % 2 === 0 ? n - 1 : n;
        if (rounds <= possible) expect(new Set(matches.map(pairOf)).size).toBe(matches.length);
        if (n % 2 === 1) {
          const byes = agents(n).map((a) => rounds - matches.filter((m) => m.seats.includes(a)).length);
          expect(Math.max(...byes) - Math.min(...byes)).toBeLessThanOrEqual(1);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('pairs leaders with leaders', () => {
    const cfg = config({ format: { type: 'swiss', rounds: 2 }, gamesPerPairing: 1 }, 4);
    // Round 1 pairs a0-a1 and a2-a3 (ranked by name at 0 points); the lower name wins.
    const matches = run(cfg, (m) => (m.seats[0] < m.seats[1] ? 0 : 1));
    expect(matches.filter((m) => m.round === 2).map(pairOf)).toEqual(['a0-a2', 'a1-a3']);
  });
});

describe('ladder', () => {
  it('pairs an idle agent with the idle agent rated nearest', () => {
    const cfg = config({ format: 'ladder', gamesPerPairing: 1 }, 4);
    const ratings: Record<string, number> = { a0: 0, a1: 10, a2: 11, a3: 30 };
    for (let sequence = 0; sequence < 20; sequence++) {
      const [match] = ladderPairing(cfg, sequence, ['a0', 'a1', 'a2', 'a3'], (a) => ratings[a])!;
      const [a, b] = match.seats;
      const others = ['a0', 'a1', 'a2', 'a3'].filter((x) => x !== a);
      const nearest = Math.min(...others.map((x) => Math.abs(ratings[x] - ratings[a])));
      expect(Math.abs(ratings[b] - ratings[a])).toBe(nearest);
    }
    expect(ladderPairing(cfg, 0, ['a0'], () => 0)).toBeUndefined();
  });
});
