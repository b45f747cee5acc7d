import { afterEach, describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/index.ts';
import { Leaderboard } from '../../src/tournament/ratings/leaderboard.ts';
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
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const step of cleanup.splice(0)) step();
  });

  /** A database with results, its store, a generation counter the test moves, and a leaderboard over them (by default one that may fit back to back). */
  function setUp(options: { games?: number; samples?: number; minIntervalMs?: number; maxBusyShare?: number } = {}) {
    const db = tempDb();
    const store = new Store(db.path);
    addResults(store, 1, options.games ?? 300);
    const state = { generation: 0 };
    const board = new Leaderboard(db.path, () => state.generation, { samples: options.samples ?? 20, minIntervalMs: options.minIntervalMs ?? 0, maxBusyShare: 'maxBusyShare' in options ? options.maxBusyShare : 1 });
    cleanup.push(() => {
      board.close();
      store.close();
      db.remove();
    });
    return { store, state, board };
  }

  it('gives the table officialTable computes from the stored results, for all results and for one tournament', async () => {
    const { store, board } = setUp();
    addResults(store, 2, 120, 4, 2);
    expect(await board.official()).toEqual(officialTable(store.results(), { samples: 20 }));
    const second = await board.official(2);
    expect(second).toEqual(officialTable(store.results(2), { samples: 20 }));
    expect(second.rows.map((r) => r.agent).sort()).toEqual(['a0', 'a1', 'a2', 'a3']);
  });

  it('fits again only once the results have changed, and requests made together share one fit', async () => {
    const { store, state, board } = setUp();
    const [first, same] = await Promise.all([board.official(), board.official()]);
    expect(same).toBe(first);
    addResults(store, 1, 100, 6, 3);
    // The generation has not moved: the last fit still stands, though the database has more results.
    expect(await board.official()).toBe(first);
    state.generation++;
    const refitted = await board.official();
    expect(refitted).not.toBe(first);
    expect(refitted.games).toBe(first.games + 100);
  });

  it('answers from the last fit within the minimum interval, even after results changed', async () => {
    const { store, state, board } = setUp({ minIntervalMs: 60_000 });
    const first = await board.official();
    addResults(store, 1, 50, 6, 4);
    state.generation++;
    expect(await board.official()).toBe(first);
  });

  it('waits nine times as long as a fit took before the next, by default', async () => {
    const { state, board } = setUp({ maxBusyShare: undefined });
    const first = await board.official();
    state.generation++;
    expect(await board.official()).toBe(first);
  });

  it('leaves the calling thread free while it fits', async () => {
    // Thousands of games and 200 bootstrap fits: done on this thread, the call would return only when finished.
    const { board } = setUp({ games: 20_000, samples: 200 });
    expect(await turnsUntil(board.official())).toBeGreaterThan(3);
  });

  it('fails clearly when the database cannot be read, and tries again on the next request', async () => {
    const board = new Leaderboard('/nonexistent/folder/selfplay.db', () => 0);
    cleanup.push(() => board.close());
    await expect(board.official()).rejects.toThrow(/the official ratings thread stopped \(.*(unable to open|directory does not exist)/i);
    await expect(board.official()).rejects.toThrow(/the official ratings thread stopped/);
  });

  it('rejects the fits in flight when it is closed', async () => {
    const { board } = setUp({ games: 20_000, samples: 200 });
    const fit = board.official();
    board.close();
    await expect(fit).rejects.toThrow('the leaderboard was closed');
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
});
