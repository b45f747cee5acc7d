import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mctsAgent } from '../../agents/mcts.ts';
import { randomAgent } from '../../agents/random.ts';
import { createGame, ticTacToe } from '../../games/index.ts';
import { policyAgent } from '../../src/runtime/index.ts';
import { connect, startServer, Store, type RemoteClient } from '../../src/tournament/index.ts';
import { addAgents, getJson, tempDb, testServer, waitFor, type TestServer } from './helpers.ts';

/** Always the first legal action: in kuhn-poker, check or call... */
const first = policyAgent((turn) => turn.legal[0]);
/** ...and the last: bet or fold. */
const last = policyAgent((turn) => turn.legal[turn.legal.length - 1]);

describe('a round-robin tournament over real sockets', () => {
  let t: TestServer;
  let clients: RemoteClient[];

  beforeAll(async () => {
    t = await testServer(['ann', 'bob', 'cat', 'dan'], {
      tournaments: [{ name: 'rr', game: 'kuhn-poker', format: 'round-robin', gamesPerPairing: 6, pairedSeeds: true, concurrency: 4, timePerMoveMs: 5000 }],
    });
    clients = [
      connect(t.server.url, t.tokens.ann, randomAgent()),
      connect(t.server.url, t.tokens.bob, first, { format: 'msgpack' }),
      connect(t.server.url, t.tokens.cat, last, { tokenInHello: true, version: '2' }),
      connect(t.server.url, t.tokens.dan, randomAgent(), { format: 'msgpack', tokenInHello: true, agent: 'dan' }),
    ];
    await Promise.all(clients.map((c) => c.ready));
    await t.server.runner('rr')!.done;
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await t.stop();
  });

  it('plays every pairing, stores every result exactly once with its episode', async () => {
    const results = t.server.store.results();
    expect(results).toHaveLength(6 * 6);
    expect(new Set(results.map((r) => r.matchId)).size).toBe(36);
    for (const r of results) {
      expect(r.outcome).toBe('normal');
      expect(r.returns[0] + r.returns[1]).toBe(0);
      const stored = t.server.store.match(r.matchId)!;
      expect(stored.match.status).toBe('done');
      expect(stored.episode!.returns).toEqual(r.returns);
      expect(stored.episode!.steps.filter((s) => s.seat !== 'chance').every((s) => s.valid && typeof s.ms === 'number')).toBe(true);
    }
    expect(t.server.store.tournaments()[0].status).toBe('finished');
  });

  it('swaps seats and, with paired seeds, deals the same cards to both sides', () => {
    const game = (g: number) => t.server.store.match(`rr:ann:bob:${g}`)!;
    const [a, b] = [game(0), game(1)];
    expect(a.match.seats).toEqual(['ann', 'bob']);
    expect(b.match.seats).toEqual(['bob', 'ann']);
    expect(a.match.seed).toBe(b.match.seed);
    expect(a.episode!.history.slice(0, 2)).toEqual(b.episode!.history.slice(0, 2));
    expect(game(2).match.seed).not.toBe(a.match.seed);
  });

  it('rates each agent version live and officially', async () => {
    const board = await getJson(`${t.server.url}/api/leaderboard`);
    const names = (rows: { agent: string; version: string }[]) => rows.map((r) => `${r.agent}@${r.version}`).sort();
    expect(board).toMatchObject({ game: 'kuhn-poker', tournament: null, games: ['kuhn-poker'] });
    expect(names(board.live.rows)).toEqual(['ann@1', 'bob@1', 'cat@2', 'dan@1']);
    expect(names(board.official.rows)).toEqual(['ann@1', 'bob@1', 'cat@2', 'dan@1']);
    for (const row of board.live.rows) expect(row.games).toBe(18);
    for (const row of board.official.rows) {
      expect(row.games).toBe(18);
      expect(row.low).toBeLessThanOrEqual(row.rating);
      expect(row.high).toBeGreaterThanOrEqual(row.rating);
    }
    expect(board.official.superiority).toHaveLength(4);
    const tournaments = await getJson(`${t.server.url}/api/tournaments`);
    expect(tournaments.tournaments[0]).toMatchObject({ name: 'rr', status: 'finished', matches: { done: 36, pending: 0, running: 0 } });
    const match = await getJson(`${t.server.url}/api/matches/${encodeURIComponent('rr:ann:bob:0')}`);
    expect(match.episode.id).toBe('rr:ann:bob:0');
    expect((await fetch(`${t.server.url}/api/matches/nope`)).status).toBe(404);
  });

  it('counts the matches of a tournament it does not run from the database, once', async () => {
    const again = await startServer({ db: t.db, port: 0, games: createGame, log: () => undefined });
    try {
      const counts = async () => (await getJson(`${again.url}/api/tournaments`)).tournaments[0];
      expect(await counts()).toMatchObject({ name: 'rr', status: 'finished', matches: { done: 36, pending: 0, running: 0 } });
      // A finished tournament's counts cannot change while the server runs: it does not ask again.
      const other = new Store(t.db);
      const mark = other.db.prepare("UPDATE matches SET status = ? WHERE key = 'ann:bob:0'");
      mark.run('pending');
      try {
        expect((await counts()).matches).toEqual({ done: 36, pending: 0, running: 0 });
      } finally {
        mark.run('done');
        other.close();
      }
    } finally {
      await again.close();
    }
  });
});

describe('other formats', () => {
  it('gauntlet: challengers meet the field only; swiss: rounds without rematches; ladder: up to maxMatches', async () => {
    const agents = ['a1', 'a2', 'a3', 'a4', 'a5'];
    const t = await testServer(agents, {
      tournaments: [
        { name: 'g', game: 'tic-tac-toe', format: { type: 'gauntlet', challengers: ['a1'] }, gamesPerPairing: 2, concurrency: 2 },
        { name: 's', game: 'tic-tac-toe', format: { type: 'swiss', rounds: 3 }, gamesPerPairing: 1, concurrency: 2 },
        { name: 'l', game: 'tic-tac-toe', format: { type: 'ladder', maxMatches: 10 }, gamesPerPairing: 2, concurrency: 2 },
      ],
    });
    const game = ticTacToe();
    const clients = agents.map((a, i) => connect(t.server.url, t.tokens[a], i === 0 ? mctsAgent(game, { iterations: 50 }) : randomAgent()));
    try {
      await Promise.all(['g', 's', 'l'].map((name) => t.server.runner(name)!.done));
      const byTournament = (name: string) => t.server.store.matchesOf(t.server.store.tournaments().find((x) => x.name === name)!.id);
      const gauntlet = byTournament('g');
      expect(gauntlet).toHaveLength(8);
      expect(gauntlet.every((m) => m.seats.includes('a1'))).toBe(true);
      const swiss = byTournament('s');
      expect(swiss.map((m) => m.round)).toEqual([1, 1, 2, 2, 3, 3]);
      const pairs = swiss.map((m) => [...m.seats].sort().join('-'));
      expect(new Set(pairs).size).toBe(pairs.length);
      const ladder = byTournament('l');
      expect(ladder).toHaveLength(10);
      expect(ladder.every((m) => m.status === 'done')).toBe(true);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await t.stop();
    }
  });
});

describe('a ladder stopped and started again', () => {
  it('replays the matches the stop cut short, counts what is stored, and ends with exactly maxMatches results', async () => {
    const db = tempDb();
    const tokens = addAgents(db.path, ['p', 'q', 'r', 's']);
    const tournaments = [{ name: 'lad', game: 'kuhn-poker', format: { type: 'ladder', maxMatches: 30 }, gamesPerPairing: 2, concurrency: 2, timePerMoveMs: 5000 }];
    // A few milliseconds a move, so that the stop lands mid-ladder.
    const steady = policyAgent((turn) => new Promise<string>((resolve) => setTimeout(() => resolve(turn.legal[0]), 15)));
    const play = (url: string) => Object.values(tokens).map((token) => connect(url, token, steady));
    try {
      const first = await startServer({ db: db.path, port: 0, games: createGame, tournaments, log: () => undefined });
      let clients = play(first.url);
      await waitFor(() => first.runner('lad')!.status().finished >= 6, 20_000, 'six results');
      await first.close();
      await Promise.all(clients.map((c) => c.close()));

      const logged: string[] = [];
      const second = await startServer({ db: db.path, port: 0, games: createGame, tournaments, log: (line) => logged.push(line) });
      const counts = second.store.matchCounts(1);
      expect(counts.done).toBeGreaterThanOrEqual(6);
      expect(counts.done).toBeLessThan(30);
      // The stop cut matches short: they are still pending, and are played again.
      expect(counts.planned).toBeGreaterThan(counts.done);
      expect(second.runner('lad')!.status()).toMatchObject({ planned: counts.planned, finished: counts.done });
      expect(logged.join('\n')).toContain(`resumes: ${counts.done} of ${counts.planned} planned matches have results`);
      expect((await getJson(`${second.url}/api/tournaments`)).tournaments[0].matches).toEqual({ done: counts.done, running: 0, pending: counts.planned - counts.done });
      clients = play(second.url);
      await second.runner('lad')!.done;
      const matches = second.store.matchesOf(1);
      const results = second.store.results(1);
      await Promise.all(clients.map((c) => c.close()));
      await second.close();
      expect(matches).toHaveLength(30);
      expect(matches.every((m) => m.status === 'done')).toBe(true);
      expect(new Set(results.map((r) => r.matchId)).size).toBe(30);
    } finally {
      db.remove();
    }
  });
});

describe('a ladder whose database writer thread dies mid-run', () => {
  it('loses no result, doubles none, and its live ratings match the stored ones', async () => {
    const t = await testServer(['p', 'q', 'r', 's'], {
      tournaments: [{ name: 'w', game: 'kuhn-poker', format: { type: 'ladder', maxMatches: 40 }, gamesPerPairing: 2, concurrency: 2, timePerMoveMs: 5000 }],
    });
    const steady = policyAgent((turn) => new Promise<string>((resolve) => setTimeout(() => resolve(turn.legal[0]), 2)));
    const clients = Object.values(t.tokens).map((token) => connect(t.server.url, token, steady));
    const writer = () => (t.server.store as unknown as { committer: { running?: { worker: { terminate(): Promise<number> } } } }).committer.running;
    try {
      // Twice, so that no match can fail the three times after which it waits for the next start.
      for (let kill = 0; kill < 2; kill++) {
        await waitFor(() => writer(), 5000, 'a running writer');
        await new Promise((resolve) => setTimeout(resolve, 60));
        await writer()?.worker.terminate();
      }
      await t.server.runner('w')!.done;
      const results = t.server.store.results(1);
      expect(results).toHaveLength(40);
      expect(new Set(results.map((r) => r.matchId)).size).toBe(40);
      expect(t.server.store.matchesOf(1).every((m) => m.status === 'done')).toBe(true);
      const stored = new Map(t.server.store.ratings().filter((r) => r.tournamentId === 0).map((r) => [r.agent, r]));
      const live = (await getJson(`${t.server.url}/api/leaderboard`)).live.rows as { agent: string; mu: number; sigma: number; games: number }[];
      expect(live.reduce((n, r) => n + r.games, 0)).toBe(80);
      for (const row of live) expect(row).toMatchObject({ mu: stored.get(row.agent)!.mu, sigma: stored.get(row.agent)!.sigma, games: stored.get(row.agent)!.games });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await t.stop();
    }
  });
});
