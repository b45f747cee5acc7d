import { Command } from 'commander';
import { readdirSync, readFileSync } from 'node:fs';
import { rate, rating as openskillRating } from 'openskill';
import { afterEach, describe, expect, it } from 'vitest';
import { createGame } from '../../games/index.ts';
import { registerAgents } from '../../src/cli/commands/agents.ts';
import { resolveConfig, parseTournamentConfig, tournamentConfigSchema } from '../../src/tournament/config.ts';
import { hashToken } from '../../src/tournament/tokens.ts';
import type { Episode } from '../../src/episodes/index.ts';
import { plan, seatScores } from '../../src/tournament/formats.ts';
import { matchId } from '../../src/tournament/store.ts';
import { Store } from '../../src/tournament/index.ts';
import { tempDb } from './helpers.ts';

let dbs: ReturnType<typeof tempDb>[] = [];
afterEach(() => {
  for (const db of dbs) db.remove();
  dbs = [];
});
const fresh = () => {
  const db = tempDb();
  dbs.push(db);
  return db.path;
};

async function cli(...args: string[]) {
  const out: string[] = [];
  const program = new Command().exitOverride();
  registerAgents(program, { out: (t) => out.push(t), err: (t) => out.push(t) });
  await program.parseAsync(args, { from: 'user' });
  return out.join('\n');
}

describe('agents and tokens', () => {
  it('stores only the hash of a token, finds the agent by its token, refuses a second agent of the same name', () => {
    const path = fresh();
    const store = new Store(path);
    try {
      const token = store.addAgent('ann');
      expect(token).toMatch(/^sp_[A-Za-z0-9_-]{43}$/);
      const row = store.db.prepare('SELECT * FROM agents').get() as Record<string, string>;
      expect(row.token_hash).toBe(hashToken(token));
      expect(JSON.stringify(row)).not.toContain(token.slice(3));
      expect(store.agentOfToken(token)).toBe('ann');
      expect(store.agentOfToken(`${token}x`)).toBeUndefined();
      expect(() => store.addAgent('ann')).toThrow(/already exists/);
    } finally {
      store.close();
    }
  });

  it('`selfplay agents add --json` prints the name and token; `agents list` lists them', async () => {
    const path = fresh();
    const added = JSON.parse(await cli('agents', 'add', 'bot-1', '--db', path, '--json'));
    expect(added).toEqual({ name: 'bot-1', token: expect.stringMatching(/^sp_/) });
    expect(await cli('agents', 'add', 'bot-2', '--db', path)).toMatch(/agent bot-2 added.*\ntoken: sp_/s);
    expect(JSON.parse(await cli('agents', 'list', '--db', path, '--json')).map((a: { name: string }) => a.name)).toEqual(['bot-1', 'bot-2']);
    await expect(cli('agents', 'add', 'no spaces', '--db', path)).rejects.toThrow(/bad agent name/);
  });
});

describe('tournaments', () => {
  it('creates a tournament once, and refuses another config under the same name', async () => {
    const path = fresh();
    const store = new Store(path);
    try {
      for (const name of ['a', 'b', 'c']) store.addAgent(name);
      const registered = store.agents().map((a) => a.name);
      const config = resolveConfig(await parseTournamentConfig({ name: 't', game: 'kuhn-poker', format: 'round-robin' }, createGame), registered);
      expect(config.agents).toEqual(['a', 'b', 'c']);
      const first = store.ensureTournament(config, 'kuhn-poker');
      expect(first.game).toBe('kuhn-poker');
      expect(store.ensureTournament(config, 'kuhn-poker').id).toBe(first.id);
      expect(() => store.ensureTournament({ ...config, gamesPerPairing: 4 }, 'kuhn-poker')).toThrow(/different config/);
      const other = await parseTournamentConfig({ name: 'u', game: 'kuhn-poker', format: 'round-robin', agents: ['a', 'zed'] }, createGame);
      expect(() => resolveConfig(other, registered)).toThrow(/unknown agent zed/);
      await expect(parseTournamentConfig({ name: 'u', game: 'no-such-game', format: 'round-robin' }, createGame)).rejects.toThrow(/unknown game/);
    } finally {
      store.close();
    }
  });
});

describe('group commits on the writer thread', () => {
  /** A store with a round-robin tournament of a, b and c planned; `done` ends one of its matches. */
  function planned() {
    const path = fresh();
    const store = new Store(path);
    for (const name of ['a', 'b', 'c']) store.addAgent(name);
    const config = resolveConfig(tournamentConfigSchema.parse({ name: 't', game: 'kuhn-poker', format: 'round-robin', gamesPerPairing: 2 }), ['a', 'b', 'c']);
    const tournament = store.ensureTournament(config, 'kuhn-poker');
    const matches = plan(config, [], new Map()).matches;
    store.planMatches(tournament, matches);
    const done = (key: string, returns: [number, number], episode: Episode = episodeOf(key, returns)) => {
      const m = matches.find((x) => x.key === key)!;
      const players = m.seats.map((agent) => ({ agent, version: '1' }));
      return store.complete({ result: { matchId: matchId('t', key), tournamentId: tournament.id, players, returns, outcome: 'normal', finishedAt: new Date().toISOString() }, episode, scores: seatScores(returns) });
    };
    const episodeOf = (key: string, returns: [number, number]): Episode => ({ schema: 1, id: matchId('t', key), game: { id: 'kuhn-poker', params: {} }, seed: 1, players: [], steps: [], history: [], returns, outcome: 'normal' });
    return { path, store, matches, done, episodeOf };
  }

  /** OpenSkill run over results in order, independently of the store. */
  function replay(results: readonly { players: readonly { agent: string }[]; returns: readonly number[] }[]) {
    const table = new Map<string, { mu: number; sigma: number }>();
    for (const r of results) {
      const before = r.players.map((p) => table.get(p.agent) ?? openskillRating());
      const after = rate(before.map((x) => [x]), { score: seatScores(r.returns) });
      r.players.forEach((p, i) => table.set(p.agent, after[i][0]));
    }
    return table;
  }

  it('commits writes made together in one go, refuses a bad one with its reason, and rates only what was committed', async () => {
    const { store, done, episodeOf } = planned();
    try {
      const outcomes = await Promise.allSettled([
        done('a:b:0', [1, -1]),
        done('a:b:1', [-2, 2]),
        done('a:b:0', [1, -1]),
        // Not JSON data: the writer cannot store this episode.
        done('a:c:0', [1, -1], { ...episodeOf('a:c:0', [1, -1]), returns: [Number.NaN, 0] }),
        done('b:c:0', [0, 0]),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled']);
      expect(String((outcomes[2] as PromiseRejectedResult).reason)).toMatch(/is not a pending match; a result is never recorded twice/);
      expect(String((outcomes[3] as PromiseRejectedResult).reason)).toMatch(/cannot encode episode/);
      const results = store.results();
      expect(results.map((r) => r.matchId)).toEqual(['t:a:b:0', 't:a:b:1', 't:b:c:0']);
      // Each episode reads back (schema checked) as it was handed over.
      expect(store.match('t:a:b:1')!.episode).toStrictEqual(episodeOf('a:b:1', [-2, 2]));
      expect(store.matchesOf(1, 'pending').map((m) => m.key).sort()).toEqual(['a:c:0', 'a:c:1', 'b:c:1']);
      expect(store.matchCounts(1)).toEqual({ planned: 6, done: 3, nextRound: 1 });

      const expected = replay(results);
      const stored = store.ratings();
      // Rated in the game's scope and the tournament's: the same here, with one tournament.
      expect(stored.map((r) => `${r.game}/${r.tournamentId}/${r.agent}`).sort()).toEqual(['kuhn-poker/0/a', 'kuhn-poker/0/b', 'kuhn-poker/0/c', 'kuhn-poker/1/a', 'kuhn-poker/1/b', 'kuhn-poker/1/c']);
      for (const row of stored) {
        expect(row.mu).toBeCloseTo(expected.get(row.agent)!.mu, 10);
        expect(row.sigma).toBeCloseTo(expected.get(row.agent)!.sigma, 10);
      }
      // The promise gives the ratings its match changed, as the live table takes them.
      const rows = await done('a:c:1', [-1, 1]);
      expect(rows.map((r) => `${r.tournamentId}/${r.agent}`).sort()).toEqual(['0/a', '0/c', '1/a', '1/c']);
      expect(rows.find((r) => r.agent === 'c')!.games).toBe(2);
    } finally {
      store.close();
    }
  });

  it('a completion stores its match plan when that was not stored (a ladder plans lazily)', async () => {
    const { store, episodeOf } = planned();
    try {
      const players = [{ agent: 'c', version: '1' }, { agent: 'a', version: '1' }];
      const match = { key: 'L7:c:a:0', round: 7, seats: ['c', 'a'], seed: 99 };
      await store.complete({ result: { matchId: matchId('t', match.key), tournamentId: 1, players, returns: [2, -2], outcome: 'normal', finishedAt: new Date().toISOString() }, episode: episodeOf(match.key, [2, -2]), scores: [1, 0], planned: { tournament: { id: 1, name: 't' }, match } });
      expect(store.match(matchId('t', match.key))).toMatchObject({ match: { ...match, status: 'done' }, result: { returns: [2, -2] } });
      expect(store.matchCounts(1)).toEqual({ planned: 7, done: 1, nextRound: 8 });
    } finally {
      store.close();
    }
  });

  it('a writer that died is replaced by the next write; a database without a file is refused clearly', async () => {
    const { store, done } = planned();
    try {
      expect(await done('a:b:0', [1, -1])).toHaveLength(4);
      await (store as unknown as { committer: { running: { worker: { terminate(): Promise<number> } } } }).committer.running.worker.terminate();
      expect(await done('a:b:1', [1, -1])).toHaveLength(4);
      expect(store.results().map((r) => r.matchId)).toEqual(['t:a:b:0', 't:a:b:1']);
    } finally {
      store.close();
    }
    const memory = new Store(':memory:');
    const started = performance.now();
    try {
      await expect(memory.openWriter()).rejects.toThrow(/needs a database file/);
    } finally {
      memory.close();
    }
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it.runIf(process.platform === 'linux')('the writer thread runs below the priority of the thread that serves agents', async () => {
    /** Each thread of this process and its nice value (field 19 of /proc/self/task/<tid>/stat); a thread that ends between the listing and the read is left out. */
    const niceness = () =>
      new Map(
        readdirSync('/proc/self/task').flatMap((tid) => {
          try {
            return [[tid, Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16])] as const];
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
            throw error;
          }
        }),
      );
    const before = niceness();
    const { store } = planned();
    try {
      await store.openWriter();
      // The threads it started: the writer, and (in this TypeScript set-up) the thread of its module hooks.
      const started = [...niceness()].filter(([tid]) => !before.has(tid)).map(([, nice]) => nice);
      // Nice 5: below the serving thread, but not so far that a busy machine starves it (every end waits for its commits).
      expect(started.filter((nice) => nice === 5)).toHaveLength(1);
      expect(niceness().get(String(process.pid))).toBe(before.get(String(process.pid)));
    } finally {
      store.close();
    }
  });

  it('commits a result ahead of a large schedule queued before it, and owes its end to each seat', async () => {
    const { store, done, matches } = planned();
    try {
      const tournament = store.tournaments()[0];
      const schedule = Array.from({ length: 20_000 }, (_, i) => ({ key: `x:y:${i}`, round: 0, seats: ['a', 'b'], seed: i }));
      let scheduled = false;
      const storing = store.planMatchesSoon(tournament, schedule).then(() => (scheduled = true));
      await done(matches[0].key, [1, -1]);
      // The result did not wait for the schedule's 20,000 rows (they ride behind results, a chunk a commit).
      expect(scheduled).toBe(false);
      expect(store.owedEnds()).toEqual(matches[0].seats.map((agent) => ({ agent, end: { type: 'end', v: 1, matchId: matchId('t', matches[0].key), returns: [1, -1], outcome: 'normal' } })));
      await store.deliveredSoon(matches[0].seats[0], [matchId('t', matches[0].key)]);
      expect(store.owedEnds().map((o) => o.agent)).toEqual([matches[0].seats[1]]);
      await storing;
      expect(store.matchStatusCounts(tournament.id).planned).toBe(matches.length + 20_000);
    } finally {
      store.close();
    }
  });

  it('close() commits what is still queued', async () => {
    const { path, store, done } = planned();
    const pending = [done('a:b:0', [1, -1]), done('b:c:1', [-1, 1])];
    store.close();
    await Promise.all(pending);
    const reopened = new Store(path);
    try {
      expect(reopened.results().map((r) => r.matchId)).toEqual(['t:a:b:0', 't:b:c:1']);
      expect((reopened.db.prepare('SELECT COUNT(*) AS n FROM episodes').get() as { n: number }).n).toBe(2);
    } finally {
      reopened.close();
    }
  });
});
