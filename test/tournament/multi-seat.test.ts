import { rate, rating as openskillRating } from 'openskill';
import { describe, expect, it } from 'vitest';
import { createGame } from '../../games/index.ts';
import { randomAgent } from '../../agents/random.ts';
import { policyAgent } from '../../src/runtime/index.ts';
import { parseTournamentConfig, resolveConfig, tournamentConfigSchema, type ResolvedConfig } from '../../src/tournament/config.ts';
import { combinations, ladderPairing, plan, seatScores, type FinishedMatch, type PlannedMatch } from '../../src/tournament/formats.ts';
import { connect, startServer, type GameResolver } from '../../src/tournament/index.ts';
import threeBids from './fixtures/three-bids.ts';
import { addAgents, getJson, tempDb } from './helpers.ts';

/** The built-in games, and the three-seat test game by its id. */
const games: GameResolver = (ref, params) => (ref === 'three-bids' ? threeBids : createGame(ref, params));
const agents = (n: number) => Array.from({ length: n }, (_, i) => `a${i}`);
const config = (raw: Record<string, unknown>, n: number): ResolvedConfig => ({ ...tournamentConfigSchema.parse({ name: 't', game: 'three-bids', ...raw }), agents: agents(n) });
const groupOf = (m: PlannedMatch) => [...m.seats].sort().join('-');
const count = <T>(items: readonly T[]) => items.reduce((m, x) => m.set(x, (m.get(x) ?? 0) + 1), new Map<T, number>());

describe('seat scores with more than two seats', () => {
  it('give a point for every seat beaten and half for every tie: the finishing order', () => {
    expect(seatScores([3, 2, 1])).toEqual([2, 1, 0]);
    expect(seatScores([1, 3, 3])).toEqual([0, 1.5, 1.5]);
    expect(seatScores([2, 2, 2, 0])).toEqual([2, 2, 2, 0]);
    // Two seats: 1 win, 0.5 draw, 0 loss, as before.
    expect(seatScores([1, -1])).toEqual([1, 0]);
    expect(seatScores([0, 0])).toEqual([0.5, 0.5]);
  });
});

describe('schedules of a three-seat game', () => {
  it('round-robin seats every group of three, each agent in every seat of its group once per rotation', () => {
    const planned = plan(config({ format: 'round-robin', gamesPerPairing: 3 }, 5), [], new Map(), 3).matches;
    expect(planned).toHaveLength(10 * 3);
    expect(new Set(planned.map(groupOf)).size).toBe(10);
    for (const m of planned) expect(new Set(m.seats).size).toBe(3);
    const byGroup = new Map<string, PlannedMatch[]>();
    for (const m of planned) byGroup.set(groupOf(m), [...(byGroup.get(groupOf(m)) ?? []), m]);
    for (const games of byGroup.values()) {
      for (let seat = 0; seat < 3; seat++) expect(new Set(games.map((g) => g.seats[seat])).size).toBe(3);
      // Unpaired seeds: each game its own deal.
      expect(new Set(games.map((g) => g.seed)).size).toBe(3);
    }
    expect(new Set(planned.map((m) => m.key)).size).toBe(planned.length);
  });

  it('paired seeds share one deal among the three rotations of a group', () => {
    const planned = plan(config({ format: 'round-robin', gamesPerPairing: 6, pairedSeeds: true }, 3), [], new Map(), 3).matches;
    expect(planned.map((m) => m.seats.join(','))).toEqual(['a0,a1,a2', 'a1,a2,a0', 'a2,a0,a1', 'a0,a1,a2', 'a1,a2,a0', 'a2,a0,a1']);
    expect(new Set(planned.slice(0, 3).map((m) => m.seed)).size).toBe(1);
    expect(new Set(planned.slice(3).map((m) => m.seed)).size).toBe(1);
    expect(planned[0].seed).not.toBe(planned[3].seed);
  });

  it('two seats plan exactly as before', () => {
    const planned = plan(config({ format: 'round-robin', gamesPerPairing: 2, game: 'kuhn-poker' }, 3), [], new Map()).matches;
    expect(planned.map((m) => `${m.key} ${m.seats.join(',')}`)).toEqual(['a0:a1:0 a0,a1', 'a0:a1:1 a1,a0', 'a0:a2:0 a0,a2', 'a0:a2:1 a2,a0', 'a1:a2:0 a1,a2', 'a1:a2:1 a2,a1']);
  });

  it('a gauntlet seats each challenger with every two of the field', () => {
    const planned = plan(config({ format: { type: 'gauntlet', challengers: ['a0'] }, gamesPerPairing: 3 }, 4), [], new Map(), 3).matches;
    expect([...count(planned.map(groupOf)).entries()]).toEqual([['a0-a1-a2', 3], ['a0-a1-a3', 3], ['a0-a2-a3', 3]]);
  });

  it('swiss groups agents of equal standing in threes, the leftovers sitting out in turn', () => {
    const cfg = config({ format: { type: 'swiss', rounds: 3 }, gamesPerPairing: 1 }, 7);
    let planned: PlannedMatch[] = [];
    const finished = new Map<string, FinishedMatch>();
    const sitOut = new Map<string, number>();
    for (let round = 1; round <= 3; round++) {
      const schedule = plan(cfg, planned, finished, 3);
      const next = schedule.matches.filter((m) => m.round === round);
      expect(next).toHaveLength(2);
      const playing = next.flatMap((m) => m.seats);
      expect(new Set(playing).size).toBe(6);
      for (const a of cfg.agents) if (!playing.includes(a)) sitOut.set(a, (sitOut.get(a) ?? 0) + 1);
      planned = [...schedule.matches];
      // The seat named first bids highest.
      for (const m of next) finished.set(m.key, { ...m, scores: seatScores([3, 2, 1]) });
      expect(schedule.final).toBe(round === 3);
    }
    expect([...sitOut.values()].every((n) => n === 1)).toBe(true);
  });

  it('a ladder seats three idle agents: a random one and the two rated nearest it', () => {
    const ratings: Record<string, number> = { a0: 0, a1: 10, a2: 11, a3: 30, a4: 12 };
    for (let sequence = 0; sequence < 30; sequence++) {
      const [match] = ladderPairing(config({ format: 'ladder' }, 5), sequence, Object.keys(ratings), (a) => ratings[a], 3)!;
      expect(new Set(match.seats).size).toBe(3);
      const [first] = match.key.slice(match.key.indexOf(':') + 1).split(':');
      const nearest = Object.keys(ratings).filter((a) => a !== first).sort((a, b) => Math.abs(ratings[a] - ratings[first]) - Math.abs(ratings[b] - ratings[first])).slice(0, 2);
      expect(new Set(match.seats)).toEqual(new Set([first, ...nearest]));
    }
    expect(ladderPairing(config({ format: 'ladder' }, 5), 0, ['a0', 'a1'], () => 0, 3)).toBeUndefined();
  });

  it('combinations are in the items\' order', () => {
    expect(combinations(['a', 'b', 'c', 'd'], 3)).toEqual([['a', 'b', 'c'], ['a', 'b', 'd'], ['a', 'c', 'd'], ['b', 'c', 'd']]);
  });
});

describe('configs of a three-seat game', () => {
  const base = { name: 't', game: 'three-bids', format: 'round-robin' };
  it('refuse too few agents for the seats, a field too small for a gauntlet, and paired seeds that do not rotate through every seat', async () => {
    const parsed = await parseTournamentConfig(base, games);
    expect(() => resolveConfig(parsed, ['a', 'b'], 3)).toThrow(/needs at least 3 agents, one a seat \(registered: 2\)/);
    expect(resolveConfig(parsed, ['a', 'b', 'c'], 3).agents).toEqual(['a', 'b', 'c']);
    const gauntlet = await parseTournamentConfig({ ...base, format: { type: 'gauntlet', challengers: ['a', 'b'] } }, games);
    expect(() => resolveConfig(gauntlet, ['a', 'b', 'c'], 3)).toThrow(/needs at least 2 agents that are not challengers \(has 1\)/);
    await expect(parseTournamentConfig({ ...base, pairedSeeds: true, gamesPerPairing: 4 }, games)).rejects.toThrow(/games per pairing must be a multiple of 3 \(three-bids has 3 seats\)/);
    await expect(parseTournamentConfig({ ...base, pairedSeeds: true, gamesPerPairing: 3 }, games)).resolves.toMatchObject({ gamesPerPairing: 3 });
    await expect(parseTournamentConfig({ ...base, format: { type: 'ladder', maxMatches: 4 }, pairedSeeds: true, gamesPerPairing: 3 }, games)).rejects.toThrow(/maxMatches must be a multiple of 3/);
  });
});

describe('a tournament of a three-seat game', () => {
  it('plays every group with three connected agents, stores every seat, rates them all, and shows them in the API', async () => {
    const db = tempDb();
    const names = ['high', 'low', 'mid', 'rnd'];
    const tokens = addAgents(db.path, names);
    const server = await startServer({ db: db.path, port: 0, host: '127.0.0.1', log: (line) => process.env.DEBUG_TOURNAMENT && console.error(line), bootstrapSamples: 20, games, tournaments: [{ name: 'bids', game: 'three-bids', format: 'round-robin', gamesPerPairing: 3 }] });
    // Legal actions come as the game's text for them: "[1]", "[2]", "[3]".
    const bidder = (bid: number) => policyAgent((turn) => turn.legal.find((a) => a === `[${bid}]`)!);
    const clients = [
      connect(server.url, tokens.high, bidder(3)),
      connect(server.url, tokens.mid, bidder(2)),
      connect(server.url, tokens.low, bidder(1)),
      connect(server.url, tokens.rnd, randomAgent()),
    ];
    try {
      await server.runner('bids')!.done;
      const results = server.store.results();
      // Four groups of three from four agents, three games each.
      expect(results).toHaveLength(12);
      for (const r of results) {
        expect(r.outcome).toBe('normal');
        expect(r.players).toHaveLength(3);
        expect(r.returns).toHaveLength(3);
        expect(new Set(r.players.map((p) => p.agent)).size).toBe(3);
        const bids: Record<string, number> = { high: 3, mid: 2, low: 1 };
        r.players.forEach((p, s) => p.agent !== 'rnd' && expect(r.returns[s]).toBe(bids[p.agent]));
      }
      // Every agent in every seat of each of its groups.
      for (const seat of [0, 1, 2]) expect(count(results.map((r) => r.players[seat].agent))).toEqual(new Map(names.map((n) => [n, 3])));
      const stored = server.store.match(results[0].matchId)!;
      expect(stored.match.seats).toEqual(results[0].players.map((p) => p.agent));
      expect(stored.episode!.players).toHaveLength(3);
      expect(stored.episode!.game).toEqual({ id: 'three-bids', params: {} });

      const board = await getJson(`${server.url}/api/leaderboard`);
      expect(board.game).toBe('three-bids');
      // Bradley-Terry over pairwise outcomes: three pairs a match.
      expect(board.official.games).toBe(36);
      const order = (rows: { agent: string }[]) => rows.map((r) => r.agent).filter((a) => a !== 'rnd');
      expect(order(board.official.rows)).toEqual(['high', 'mid', 'low']);
      expect(order(board.live.rows)).toEqual(['high', 'mid', 'low']);
      for (const row of board.live.rows) expect(row.games).toBe(9);
      // Live ratings: OpenSkill's multi-player update over the results in commit order, scored by finishing order.
      const table = new Map<string, { mu: number; sigma: number }>();
      for (const r of results) {
        const after = rate(r.players.map((p) => [table.get(p.agent) ?? openskillRating()]), { score: seatScores(r.returns) });
        r.players.forEach((p, i) => table.set(p.agent, after[i][0]));
      }
      for (const row of board.live.rows) {
        expect(row.mu).toBeCloseTo(table.get(row.agent)!.mu, 9);
        expect(row.sigma).toBeCloseTo(table.get(row.agent)!.sigma, 9);
      }

      const recent = await getJson(`${server.url}/api/matches?limit=200`);
      expect(recent.recent).toHaveLength(12);
      for (const r of recent.recent) expect(r.players).toHaveLength(3);
      const one = await getJson(`${server.url}/api/matches/${encodeURIComponent(results[0].matchId)}`);
      expect(one.result.players).toHaveLength(3);
      expect(one.episode.returns).toHaveLength(3);
      const [tournament] = (await getJson(`${server.url}/api/tournaments`)).tournaments;
      expect(tournament).toMatchObject({ name: 'bids', game: 'three-bids', status: 'finished', agents: names });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
      db.remove();
    }
  });

  it('runs a ladder and a swiss tournament of it with five agents, three a match', async () => {
    const db = tempDb();
    const names = ['a', 'b', 'c', 'd', 'e'];
    const tokens = addAgents(db.path, names);
    const server = await startServer({
      db: db.path,
      port: 0,
      host: '127.0.0.1',
      log: () => undefined,
      bootstrapSamples: 10,
      games,
      tournaments: [
        { name: 'ladder', game: 'three-bids', format: { type: 'ladder', maxMatches: 9 }, gamesPerPairing: 3, pairedSeeds: true },
        { name: 'swiss', game: 'three-bids', format: { type: 'swiss', rounds: 2 }, gamesPerPairing: 3 },
      ],
    });
    const clients = names.map((n) => connect(server.url, tokens[n], randomAgent()));
    try {
      await Promise.all([server.runner('ladder')!.done, server.runner('swiss')!.done]);
      const [ladder, swiss] = server.store.tournaments();
      for (const [t, matches] of [[ladder, 9], [swiss, 2 * 3]] as const) {
        const results = server.store.results().filter((r) => r.tournamentId === t.id);
        expect(results).toHaveLength(matches);
        for (const r of results) expect(new Set(r.players.map((p) => p.agent)).size).toBe(3);
      }
      // Each ladder pairing is one group of three in three rotations sharing a deal.
      const rows = server.store.matchesOf(ladder.id);
      for (let g = 0; g < 9; g += 3) {
        const group = rows.slice(g, g + 3);
        expect(new Set(group.map((m) => m.seed)).size).toBe(1);
        expect(new Set(group.map((m) => [...m.seats].sort().join())).size).toBe(1);
        expect(new Set(group.map((m) => m.seats[0])).size).toBe(3);
      }
      const board = await getJson(`${server.url}/api/leaderboard?tournament=swiss`);
      expect(board.official.games).toBe(6 * 3);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
      db.remove();
    }
  });
});
