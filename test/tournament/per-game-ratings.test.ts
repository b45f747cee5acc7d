import Database from 'better-sqlite3';
import { rate, rating as openskillRating } from 'openskill';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createGame } from '../../games/index.ts';
import { policyAgent } from '../../src/runtime/index.ts';
import { gameKey, ratedGameOf, writtenGameKey } from '../../src/tournament/game-key.ts';
import { connect, seatScores, startServer, Store, type RemoteClient } from '../../src/tournament/index.ts';
import { addAgents, getJson, tempDb, testServer, waitFor, type TestServer } from './helpers.ts';

/** Plays the first legal action in `good`, and in every other game a move that is never legal (it forfeits at once). */
const goodAt = (good: string) => policyAgent((turn, context) => (context.start.game === good ? turn.legal[0] : '[no such move]'));

describe('the name a game is rated under', () => {
  it('is the id and the parameters that differ from the defaults, however the config writes them', async () => {
    const key = async (game: string, params: Record<string, string | number> = {}) => ratedGameOf({ game, params }, createGame(game, params), createGame);
    expect(await key('kuhn-poker')).toBe('kuhn-poker');
    expect(await key('kuhn-poker:hands=1')).toBe('kuhn-poker');
    expect(await key('kuhn-poker', { scoring: 'chips' })).toBe('kuhn-poker');
    expect(await key('kuhn-poker:hands=3')).toBe('kuhn-poker:hands=3,scoring=match');
    expect(await key('kuhn-poker', { hands: 3 })).toBe('kuhn-poker:hands=3,scoring=match');
    expect(await key('tic-tac-toe')).toBe('tic-tac-toe');
    // Without defaults (a game that cannot be built without parameters), every parameter is named.
    expect(gameKey(createGame('kuhn-poker'))).toBe('kuhn-poker:hands=1,scoring=chips');
    expect(writtenGameKey({ game: './gone.ts:size=4', params: { seed: 2 } })).toBe('./gone.ts:seed=2,size=4');
  });
});

describe('ratings per game', () => {
  let t: TestServer;
  let clients: RemoteClient[];

  beforeAll(async () => {
    t = await testServer(['ann', 'bob', 'cat'], {
      tournaments: [
        { name: 'ttt', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 2, timePerMoveMs: 5000 },
        { name: 'kp', game: 'kuhn-poker', format: 'round-robin', gamesPerPairing: 2, timePerMoveMs: 5000 },
        { name: 'kp2', game: 'kuhn-poker:hands=1', format: 'round-robin', gamesPerPairing: 4, timePerMoveMs: 5000, agents: ['ann', 'bob'] },
      ],
    });
    // ann plays tic-tac-toe and forfeits at Kuhn poker; bob the other way round; cat plays both.
    clients = [
      connect(t.server.url, t.tokens.ann, goodAt('tic-tac-toe')),
      connect(t.server.url, t.tokens.bob, goodAt('kuhn-poker')),
      connect(t.server.url, t.tokens.cat, policyAgent((turn) => turn.legal[0])),
    ];
    await Promise.all(clients.map((c) => c.ready));
    await Promise.all(['ttt', 'kp', 'kp2'].map((name) => t.server.runner(name)!.done));
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await t.stop();
  });

  const names = (rows: { agent: string }[]) => rows.map((r) => r.agent);

  it('keep each game apart, live and official: who forfeits every game of one is last at that one alone', async () => {
    const ttt = await getJson(`${t.server.url}/api/leaderboard?game=tic-tac-toe`);
    const kuhn = await getJson(`${t.server.url}/api/leaderboard?game=kuhn-poker`);
    expect(ttt).toMatchObject({ game: 'tic-tac-toe', tournament: null, games: ['kuhn-poker', 'tic-tac-toe'] });
    expect(kuhn).toMatchObject({ game: 'kuhn-poker', tournament: null });
    // tic-tac-toe: 3 pairings of 2 games; Kuhn poker: those of kp and kp2's 4 (`kuhn-poker:hands=1` is the same game).
    expect(ttt.official.games).toBe(6);
    expect(kuhn.official.games).toBe(10);
    // Whoever forfeits every game is last; ann and cat draw their tic-tac-toe pairing, bob and cat their Kuhn one.
    for (const table of [ttt.live, ttt.official]) expect(names(table.rows)[2]).toBe('bob');
    for (const table of [kuhn.live, kuhn.official]) expect(names(table.rows)[2]).toBe('ann');
    for (const row of ttt.live.rows) expect(row.games).toBe(4);
    expect(Object.fromEntries(kuhn.live.rows.map((r: { agent: string; games: number }) => [r.agent, r.games]))).toEqual({ ann: 8, bob: 8, cat: 4 });
    expect(Object.keys(ttt.live.rows[0]).sort()).toEqual(['agent', 'games', 'mu', 'ordinal', 'sigma', 'version']);
  });

  it('are those of OpenSkill run over the game\'s results alone, in the order they were committed', async () => {
    const kuhn = await getJson(`${t.server.url}/api/leaderboard?game=kuhn-poker`);
    const table = new Map<string, { mu: number; sigma: number }>();
    for (const r of t.server.store.results({ game: 'kuhn-poker' })) {
      const after = rate(r.players.map((p) => [table.get(p.agent) ?? openskillRating()]), { score: seatScores(r.returns) });
      r.players.forEach((p, i) => table.set(p.agent, after[i][0]));
    }
    for (const row of kuhn.live.rows) {
      expect(row.mu).toBeCloseTo(table.get(row.agent)!.mu, 9);
      expect(row.sigma).toBeCloseTo(table.get(row.agent)!.sigma, 9);
    }
  });

  it('scope a tournament alone with ?tournament=, live and official alike', async () => {
    const kp2 = await getJson(`${t.server.url}/api/leaderboard?tournament=kp2`);
    expect(kp2).toMatchObject({ game: 'kuhn-poker', tournament: 'kp2' });
    expect(kp2.official.games).toBe(4);
    expect(names(kp2.official.rows)).toEqual(['bob', 'ann']);
    expect(kp2.live.rows.map((r: { agent: string; games: number }) => [r.agent, r.games])).toEqual([['bob', 4], ['ann', 4]]);
    expect((await getJson(`${t.server.url}/api/leaderboard?tournament=kp2&game=kuhn-poker`)).official.games).toBe(4);
  });

  it('ask which game when there are several, and refuse a scope that names nothing or contradicts itself', async () => {
    const refused = async (query: string) => {
      const response = await fetch(`${t.server.url}/api/leaderboard${query}`);
      return { status: response.status, error: ((await response.json()) as { error: string }).error };
    };
    expect(await refused('')).toEqual({ status: 400, error: 'ratings are per game and this server has 2: ask for one with ?game= ("kuhn-poker", "tic-tac-toe") or ?tournament=' });
    expect(await refused('?game=chess')).toEqual({ status: 404, error: 'no game named "chess"; games: "kuhn-poker", "tic-tac-toe"' });
    expect(await refused('?tournament=nope')).toEqual({ status: 404, error: 'no tournament named "nope"' });
    expect(await refused('?tournament=ttt&game=kuhn-poker')).toEqual({ status: 400, error: 'tournament ttt plays "tic-tac-toe", not "kuhn-poker"' });
  });

  it('/api/tournaments names each tournament\'s game as rated, and its format as an object', async () => {
    const { tournaments } = await getJson(`${t.server.url}/api/tournaments`);
    expect(tournaments.map((x: { name: string; game: string; format: unknown; status: string }) => [x.name, x.game, x.format, x.status])).toEqual([
      ['ttt', 'tic-tac-toe', { type: 'round-robin' }, 'finished'],
      ['kp', 'kuhn-poker', { type: 'round-robin' }, 'finished'],
      ['kp2', 'kuhn-poker', { type: 'round-robin' }, 'finished'],
    ]);
  });

  it('spectators get each game\'s live ratings in a message of its own', async () => {
    const ws = new WebSocket(`${t.server.url.replace(/^http/, 'ws')}/live`);
    const messages: any[] = [];
    ws.on('message', (data) => messages.push(JSON.parse(data.toString())));
    try {
      const ratings = await waitFor(() => {
        const got = messages.filter((m) => m.type === 'ratings');
        return got.length >= 2 && got;
      }, 20_000, 'two ratings messages');
      expect(ratings.map((m) => m.game)).toEqual(['kuhn-poker', 'tic-tac-toe']);
      const live = await getJson(`${t.server.url}/api/leaderboard?game=tic-tac-toe`);
      expect(ratings[1].rows).toEqual(live.live.rows);
    } finally {
      ws.terminate();
    }
  });
});

/** The tables of a database made by the server before ratings were per game. */
const EARLIER_SCHEMA = `
CREATE TABLE agents (name TEXT PRIMARY KEY, token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE tournaments (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, config TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('running', 'finished')), created_at TEXT NOT NULL, finished_at TEXT);
CREATE TABLE matches (id TEXT PRIMARY KEY, tournament_id INTEGER NOT NULL REFERENCES tournaments(id), key TEXT NOT NULL, round INTEGER NOT NULL, seats TEXT NOT NULL, seed INTEGER NOT NULL, status TEXT NOT NULL CHECK (status IN ('pending', 'done')), UNIQUE (tournament_id, key));
CREATE INDEX matches_by_status ON matches (tournament_id, status);
CREATE TABLE results (match_id TEXT PRIMARY KEY REFERENCES matches(id), tournament_id INTEGER NOT NULL REFERENCES tournaments(id), players TEXT NOT NULL, returns TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT, finished_at TEXT NOT NULL);
CREATE INDEX results_by_tournament ON results (tournament_id);
CREATE TABLE episodes (match_id TEXT PRIMARY KEY REFERENCES results(match_id), data BLOB NOT NULL);
CREATE TABLE owed_ends (agent TEXT NOT NULL, match_id TEXT NOT NULL REFERENCES results(match_id), PRIMARY KEY (agent, match_id)) WITHOUT ROWID;
CREATE TABLE ratings (agent TEXT NOT NULL, version TEXT NOT NULL, mu REAL NOT NULL, sigma REAL NOT NULL, games INTEGER NOT NULL, PRIMARY KEY (agent, version));
`;

describe('a database of an earlier server, whose live ratings pooled every game', () => {
  it('is migrated when a server opens it: each tournament names its game, and the ratings are rated again per game and per tournament', async () => {
    const db = tempDb();
    const old = new Database(db.path);
    old.exec(EARLIER_SCHEMA);
    const config = (name: string, game: string) => JSON.stringify({ name, game, params: {}, format: { type: 'round-robin' }, agents: ['ann', 'bob'], gamesPerPairing: 2, swapSeats: true, pairedSeeds: false, concurrency: 8, matchesPerAgent: 1, timePerMoveMs: 10000, graceMs: 500, reconnectGraceMs: 15000, invalidMoves: 'eval', seed: 0 });
    const addTournament = old.prepare("INSERT INTO tournaments (id, name, config, status, created_at, finished_at) VALUES (?, ?, ?, 'finished', '2024-01-01T00:00:00Z', '2024-01-01T00:00:00Z')");
    addTournament.run(1, 'ttt', config('ttt', 'tic-tac-toe'));
    addTournament.run(2, 'kp', config('kp', 'kuhn-poker:hands=1'));
    addTournament.run(3, 'mine', config('mine', './gone/goofspiel.ts'));
    const players = JSON.stringify([{ agent: 'ann', version: '1' }, { agent: 'bob', version: '1' }]);
    const addMatch = old.prepare("INSERT INTO matches (id, tournament_id, key, round, seats, seed, status) VALUES (?, ?, ?, 0, '[\"ann\",\"bob\"]', 1, 'done')");
    const addResult = old.prepare("INSERT INTO results (match_id, tournament_id, players, returns, outcome, finished_at) VALUES (?, ?, ?, ?, ?, '2024-01-01T00:00:00Z')");
    // Interleaved, as two tournaments running at once commit them: ann wins at tic-tac-toe and loses at Kuhn poker.
    const results: [number, string, string][] = [];
    for (let k = 0; k < 6; k++) {
      results.push([1, '[1,-1]', 'normal'], [2, '[-1,1]', 'normal'], [3, '[0,0]', k === 0 ? 'error' : 'normal']);
    }
    results.forEach(([tournament, returns, outcome], k) => {
      addMatch.run(`m${k}`, tournament, `k${k}`);
      addResult.run(`m${k}`, tournament, players, returns, outcome);
    });
    // The pooled table: one rating each, from both games.
    old.prepare('INSERT INTO ratings VALUES (?, ?, ?, ?, ?)').run('ann', '1', 25.1, 6, 18);
    old.prepare('INSERT INTO ratings VALUES (?, ?, ?, ?, ?)').run('bob', '1', 24.9, 6, 18);
    old.close();

    const log: string[] = [];
    const server = await startServer({ db: db.path, port: 0, host: '127.0.0.1', games: createGame, log: (line) => log.push(line) });
    try {
      expect(log.join('\n')).toMatch(/tournament mine: its game cannot be built \(unknown game "\.\/gone\/goofspiel\.ts".*\); its results are rated under the game "\.\/gone\/goofspiel\.ts"/);
      expect(log.join('\n')).toMatch(/the database was an earlier server's: its live ratings are now per game and per tournament \(17 results rated again in \d+ ms\)/);
      expect(server.store.tournaments().map((x) => [x.name, x.game])).toEqual([['ttt', 'tic-tac-toe'], ['kp', 'kuhn-poker'], ['mine', './gone/goofspiel.ts']]);
      const ttt = await getJson(`${server.url}/api/leaderboard?game=tic-tac-toe`);
      const kuhn = await getJson(`${server.url}/api/leaderboard?tournament=kp`);
      expect(ttt.live.rows.map((r: { agent: string; games: number }) => [r.agent, r.games])).toEqual([['ann', 6], ['bob', 6]]);
      expect(kuhn.live.rows.map((r: { agent: string; games: number }) => [r.agent, r.games])).toEqual([['bob', 6], ['ann', 6]]);
      expect(ttt.official.games).toBe(6);
      // The same ratings as six straight wins give.
      let [ann, bob] = [openskillRating(), openskillRating()];
      for (let k = 0; k < 6; k++) [[ann], [bob]] = rate([[ann], [bob]], { score: [1, 0] });
      expect(ttt.live.rows[0].mu).toBeCloseTo(ann.mu, 9);
      expect(ttt.live.rows[1].sigma).toBeCloseTo(bob.sigma, 9);
      // The error result rates nobody.
      expect((await getJson(`${server.url}/api/leaderboard?tournament=mine`)).live.rows.map((r: { games: number }) => r.games)).toEqual([5, 5]);
    } finally {
      await server.close();
    }
    // Migrated once: the old table is gone and the layout version says so.
    const store = new Store(db.path);
    try {
      expect(store.needsMigration()).toBe(false);
      expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'ratings'").get()).toBeUndefined();
      const migrated = store.ratings();
      expect(migrated).toHaveLength(12);
      // Rated again, the same ratings.
      expect(store.migrate()).toBe(17);
      expect(store.ratings()).toEqual(migrated);
      // An earlier server adds a tournament (without a game) and a result: the next start names it and rates it.
      store.db.prepare("INSERT INTO tournaments (id, name, config, status, created_at) VALUES (4, 'later', ?, 'finished', '2024-01-02T00:00:00Z')").run(config('later', 'tic-tac-toe'));
      store.db.prepare("INSERT INTO matches (id, tournament_id, key, round, seats, seed, status) VALUES ('n0', 4, 'k', 0, '[\"ann\",\"bob\"]', 1, 'done')").run();
      store.db.prepare("INSERT INTO results (match_id, tournament_id, players, returns, outcome, finished_at) VALUES ('n0', 4, ?, '[1,-1]', 'normal', '2024-01-02T00:00:00Z')").run(players);
    } finally {
      store.close();
    }
    const again = await startServer({ db: db.path, port: 0, host: '127.0.0.1', games: createGame, log: (line) => log.push(line) });
    try {
      expect(log.at(-1)).toMatch(/^an earlier server added tournaments to the database: its live ratings are now per game and per tournament \(18 results/);
      expect((await getJson(`${again.url}/api/leaderboard?game=tic-tac-toe`)).live.rows.map((r: { games: number }) => r.games)).toEqual([7, 7]);
    } finally {
      await again.close();
      db.remove();
    }
  });

  it('a fresh database needs none; an earlier one opened by another command (agents add) waits for the server', async () => {
    const fresh = tempDb();
    const earlier = tempDb();
    try {
      addAgents(fresh.path, ['ann']);
      const store = new Store(fresh.path);
      expect(store.needsMigration()).toBe(false);
      store.close();
      const old = new Database(earlier.path);
      old.exec(EARLIER_SCHEMA);
      old.close();
      addAgents(earlier.path, ['ann']);
      const opened = new Store(earlier.path);
      expect(opened.needsMigration()).toBe(true);
      expect(opened.db.prepare("SELECT name FROM sqlite_master WHERE name = 'ratings'").get()).toBeDefined();
      expect(opened.tournaments()).toEqual([]);
      expect(opened.migrate()).toBe(0);
      expect(opened.needsMigration()).toBe(false);
      expect(opened.db.prepare("SELECT name FROM sqlite_master WHERE name = 'ratings'").get()).toBeUndefined();
      opened.close();
    } finally {
      fresh.remove();
      earlier.remove();
    }
  });
});
