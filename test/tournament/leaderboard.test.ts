import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Rng } from '../../src/core/index.ts';
import { resolveConfig, tournamentConfigSchema } from '../../src/tournament/config.ts';
import { handleHttp } from '../../src/tournament/http.ts';
import { Leaderboard } from '../../src/tournament/ratings/leaderboard.ts';
import { LiveRatings } from '../../src/tournament/ratings/live.ts';
import { SpectatorHub } from '../../src/tournament/spectators.ts';
import { officialTable, Store } from '../../src/tournament/index.ts';
import { getJson, tempDb, testServer } from './helpers.ts';

/** Stores `games` results between agents a0..a{agents-1} of tournament `tournamentId`, the stronger index winning more often. */
function addResults(store: Store, tournamentId: number, games: number, agents = 6, seed = 1): void {
  const rng = new Rng(seed);
  const insert = store.db.prepare('INSERT INTO results (match_id, tournament_id, players, returns, outcome, finished_at) VALUES (?, ?, ?, ?, ?, ?)');
  const first = (store.db.prepare('SELECT COUNT(*) AS n FROM results').get() as { n: number }).n;
  store.db.pragma('foreign_keys = OFF');
  store.db.transaction(() => {
    for (let k = 0; k < games; k++) {
      const i = rng.int(agents);
      const j = (i + 1 + rng.int(agents - 1)) % agents;
      const u = rng.next();
      const returns = u < 0.1 ? [0, 0] : u < 0.1 + 0.9 * (i > j ? 0.7 : 0.3) ? [1, -1] : [-1, 1];
      insert.run(`m${first + k}`, tournamentId, JSON.stringify([{ agent: `a${i}`, version: '1' }, { agent: `a${j}`, version: '1' }]), JSON.stringify(returns), 'normal', new Date().toISOString());
    }
  })();
}

/** Event-loop turns taken until `promise` settles. */
async function turnsUntil(promise: Promise<unknown>): Promise<number> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  let turns = 0;
  while (!settled) {
    await new Promise((resolve) => setImmediate(resolve));
    turns++;
  }
  return turns;
}

describe('the official leaderboard, fitted on its own thread', () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0)) await step();
  });

  /** A database with results, its store, and a leaderboard over them (by default one that may fit back to back). */
  function setUp(options: { games?: number; samples?: number; minIntervalMs?: number; maxBusyShare?: number } = {}) {
    const db = tempDb();
    const store = new Store(db.path);
    addResults(store, 1, options.games ?? 300);
    const board = new Leaderboard(db.path, { samples: options.samples ?? 20, minIntervalMs: options.minIntervalMs ?? 0, maxBusyShare: 'maxBusyShare' in options ? options.maxBusyShare : 1 });
    cleanup.push(async () => {
      await board.close();
      store.close();
      db.remove();
    });
    return { store, board };
  }

  it('gives the table officialTable computes from the stored results, for all results and for one tournament', async () => {
    const { store, board } = setUp();
    addResults(store, 2, 120, 4, 2);
    expect(await board.official()).toEqual(officialTable(store.results(), { samples: 20 }));
    const second = await board.official({ tournamentId: 2 });
    expect(second).toEqual(officialTable(store.results(2), { samples: 20 }));
    expect(second.rows.map((r) => r.agent).sort()).toEqual(['a0', 'a1', 'a2', 'a3']);
  });

  it('fits again only once the results of the scope have changed, and requests made together share one answer', async () => {
    const { store, board } = setUp();
    addResults(store, 2, 50, 4, 2);
    const [first, same] = await Promise.all([board.official({ tournamentId: 1 }), board.official({ tournamentId: 1 })]);
    expect(same).toBe(first);
    expect(await board.official({ tournamentId: 1 })).toBe(first);
    // Another tournament's results leave this one's table as it was.
    addResults(store, 2, 50, 4, 5);
    expect(await board.official({ tournamentId: 1 })).toBe(first);
    addResults(store, 1, 100, 6, 3);
    const refitted = await board.official({ tournamentId: 1 });
    expect(refitted.games).toBe(first.games + 100);
  });

  it('answers from the last fit within the minimum interval, even after results changed', async () => {
    const { store, board } = setUp({ minIntervalMs: 60_000 });
    const first = await board.official();
    addResults(store, 1, 50, 6, 4);
    expect(await board.official()).toBe(first);
  });

  it('by default waits after a fit before the next, so that fitting takes a tenth of the time at most', async () => {
    const { store, board } = setUp({ minIntervalMs: 0, maxBusyShare: undefined });
    // The leaderboard reads this thread's clock; it stands still unless moved here, so how long each
    // step takes on a loaded machine does not matter. The fit's own duration is measured on the
    // fitting thread, whose clock runs.
    const real = performance.now.bind(performance);
    let now = real();
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => now);
    try {
      const started = real();
      const first = await board.official();
      // The fit took less than the whole call, so the pause after it is less than nine times the call.
      const callMs = real() - started;
      addResults(store, 1, 50, 6, 4);
      expect(await board.official()).toBe(first);
      now += 9 * callMs + 1;
      const refitted = await board.official();
      expect(refitted).not.toBe(first);
      expect(refitted.games).toBe(first.games + 50);
    } finally {
      clock.mockRestore();
    }
  });

  it('leaves the calling thread free while it fits', async () => {
    // Thousands of games and 200 bootstrap fits: done on this thread, the call would return only when finished.
    const { board } = setUp({ games: 20_000, samples: 200 });
    expect(await turnsUntil(board.official())).toBeGreaterThan(3);
  });

  it('fails clearly when the database cannot be read, waits before trying again, and then succeeds', async () => {
    const db = tempDb();
    const patient = new Leaderboard(db.path, { samples: 10, minIntervalMs: 60_000 });
    const eager = new Leaderboard(db.path, { samples: 10, minIntervalMs: 0 });
    cleanup.push(async () => {
      await patient.close();
      await eager.close();
      db.remove();
    });
    for (const board of [patient, eager]) await expect(board.official()).rejects.toThrow('cannot fit the official table: unable to open database file');
    const store = new Store(db.path);
    addResults(store, 1, 30);
    store.close();
    // Within its interval, the failure is the answer; past it, the next request tries again.
    await expect(patient.official()).rejects.toThrow('cannot fit the official table: unable to open database file');
    expect((await eager.official()).games).toBe(30);
  });

  it('refuses requests in flight and after it is closed', async () => {
    const { board } = setUp({ games: 20_000, samples: 200 });
    const refused = expect(board.official()).rejects.toThrow('the leaderboard was closed');
    await board.close();
    await refused;
    await expect(board.official()).rejects.toThrow('the leaderboard is closed');
  });
});

describe('GET /api/leaderboard', () => {
  it('scopes the table to a tournament by name and refuses an unknown one', async () => {
    const t = await testServer(['ann', 'bob'], { tournaments: [{ name: 'rr', game: 'kuhn-poker', format: 'round-robin' }] });
    try {
      const store = new Store(t.db);
      addResults(store, t.server.store.tournaments()[0].id, 40, 3);
      store.close();
      const scoped = await getJson(`${t.server.url}/api/leaderboard?tournament=rr`);
      expect(scoped.official.games).toBe(40);
      const response = await fetch(`${t.server.url}/api/leaderboard?tournament=nope`);
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: string }).error).toBe('no tournament named "nope"');
    } finally {
      await t.stop();
    }
  });

  it('answers 503 with the reason when the table cannot be fitted, and the server goes on serving', async () => {
    const db = tempDb();
    const store = new Store(db.path);
    store.ensureTournament(resolveConfig(tournamentConfigSchema.parse({ name: 't', game: 'kuhn-poker', format: 'round-robin' }), ['a', 'b']), 'kuhn-poker');
    const leaderboard = new Leaderboard(`${db.path}.missing`, { samples: 10 });
    const spectators = new SpectatorHub({ games: () => [], rows: () => [] });
    const api = { store, leaderboard, progress: () => ({ done: 0, running: 0, pending: 0 }), ratings: new LiveRatings([]), spectators, log: () => undefined };
    const http = createServer((req, res) => handleHttp(api, req, res));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      const response = await fetch(`${url}/api/leaderboard`);
      expect(response.status).toBe(503);
      expect(((await response.json()) as { error: string }).error).toBe('cannot fit the official table: unable to open database file');
      expect((await fetch(`${url}/api/tournaments`)).status).toBe(200);
    } finally {
      await new Promise((resolve) => http.close(resolve));
      await leaderboard.close();
      spectators.close();
      store.close();
      db.remove();
    }
  });
});
