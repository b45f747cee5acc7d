import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { randomAgent } from '../../agents/random.ts';
import { createGame } from '../../games/index.ts';
import { ConfigError } from '../../src/core/index.ts';
import type { Agent } from '../../src/runtime/agent.ts';
import { parseTournamentConfig } from '../../src/tournament/config.ts';
import { connect, startServer, Store, type TournamentServer } from '../../src/tournament/index.ts';
import { addAgents, tempDb, testServer, waitFor, type TestServer } from './helpers.ts';

const ROOT = join(import.meta.dirname, '../..');

/** `selfplay <command> ...` as a child process (see cli.ts), to its end. */
function selfplay(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['bin/run-ts.js', 'test/tournament/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let current: TestServer | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

describe('mistakes on the command line', () => {
  it.each([['127.0.0.1:8080'], ['localhost:8080'], ['ftp://127.0.0.1:8080']])('connect %s: not a server URL, one line and exit status 2', async (url) => {
    const { code, stderr } = await selfplay(['connect', url, '--token', 'sp_x', '--agent', 'random']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/is not a server URL; give it as http:\/\/HOST:PORT/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it.each([['agents', 'list'], ['serve']])('%s with a database in a folder that does not exist: one line and exit status 2', async (...command) => {
    const { code, stderr } = await selfplay([...command, '--db', '/nonexistent-folder/x.db', ...(command[0] === 'serve' ? ['--port', '0'] : [])]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/error: cannot open the database \/nonexistent-folder\/x\.db/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['game', { game: 'no-such-game' }, /unknown game "no-such-game"/],
    ['game parameters', { game: 'kuhn-poker', params: { hands: -3 } }, /kuhn-poker: bad parameters \(hands/],
    ['invalid-move policy', { game: 'kuhn-poker', invalidMoves: 'nope' }, /unknown invalid-move policy "nope"/],
  ])('serve with a config whose %s is wrong names the file, and stores nothing', async (_, fields, why) => {
    const db = tempDb();
    const config = join(dirname(db.path), 'bad.json');
    try {
      writeFileSync(config, JSON.stringify({ name: 'x', format: 'round-robin', ...fields }));
      const { code, stderr } = await selfplay(['serve', '--db', db.path, '--port', '0', '--tournament', config]);
      expect(code).toBe(2);
      expect(stderr).toContain(`error: ${config}: `);
      expect(stderr).toMatch(why);
      expect(existsSync(db.path)).toBe(false);
    } finally {
      db.remove();
    }
  });

  it('agents list of a file that is not a database: one line and exit status 2', async () => {
    const db = tempDb();
    try {
      writeFileSync(db.path, 'not a database at all, but long enough to have a header. '.repeat(20));
      const { code, stderr } = await selfplay(['agents', 'list', '--db', db.path]);
      expect(code).toBe(2);
      expect(stderr).toMatch(/error: cannot open the database .*test\.db: file is not a database/);
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      db.remove();
    }
  });

  it('agents list of a database that is not there says so, and creates nothing', async () => {
    const db = tempDb();
    try {
      const { code, stderr } = await selfplay(['agents', 'list', '--db', db.path]);
      expect(code).toBe(2);
      expect(stderr).toMatch(/error: cannot open the database .*test\.db/);
      expect(existsSync(db.path)).toBe(false);
    } finally {
      db.remove();
    }
  });

  it('connect with an agent that cannot play the game stops after the first match, which ends in error', async () => {
    current = await testServer(['ann', 'bob'], { tournaments: [{ name: 'u', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 6 }] });
    const bob = connect(current.server.url, current.tokens.bob, randomAgent());
    try {
      const { code, stderr } = await selfplay(['connect', current.server.url, '--token', current.tokens.ann, '--agent', 'tabular:policy=/nonexistent/policy.json']);
      expect(code).toBe(2);
      expect(stderr).toMatch(/stopped: tabular:policy=\/nonexistent\/policy\.json cannot play tic-tac-toe/);
      // The server commits the match's result on its own time.
      const results = await waitFor(() => current!.server.store.results().length > 0 && current!.server.store.results(), 10_000, 'the result');
      expect(results.map((r) => r.outcome)).toEqual(['error']);
    } finally {
      await bob.close();
    }
  });
});

describe('a client that cannot get in', () => {
  it('gives up at once on a path with nothing (HTTP 404)', async () => {
    current = await testServer(['ann']);
    const client = connect(`${current.server.url}/nothing-here`, current.tokens.ann, randomAgent(), { minBackoffMs: 10 });
    await expect(client.ready).rejects.toThrow(/HTTP 404/);
    expect(await client.closed).toMatch(/refused the connection \(HTTP 404\)/);
  });

  it('says why it cannot reach the server, and gives up after maxAttempts', async () => {
    const port = await closedPort();
    const client = connect(`http://127.0.0.1:${port}`, 'sp_x', randomAgent(), { minBackoffMs: 10, maxBackoffMs: 20, maxAttempts: 3 });
    await expect(client.ready).rejects.toThrow(/ECONNREFUSED/);
    expect(await client.closed).toMatch(/cannot reach ws:\/\/127\.0\.0\.1:\d+\/agent: ECONNREFUSED; gave up after 3 attempts/);
  });

  it('refuses a URL that is not a server URL at once', () => {
    expect(() => connect('localhost:8080', 'sp_x', randomAgent())).toThrow(ConfigError);
  });
});

describe('an agent that throws when it is set up for a match', () => {
  it('ends the match with outcome error, not a timeout', async () => {
    current = await testServer(['ann', 'bob'], { tournaments: [{ name: 'x', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 1, timePerMoveMs: 60_000 }] });
    const broken: Agent = () => {
      throw new Error('the model would not load');
    };
    const clients = [connect(current.server.url, current.tokens.ann, broken), connect(current.server.url, current.tokens.bob, randomAgent())];
    try {
      await current.server.runner('x')!.done;
      const [result] = current.server.store.results();
      expect(result).toMatchObject({ outcome: 'error', reason: expect.stringContaining('the model would not load') });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });
});

describe('tournament configs', () => {
  const base = { name: 'g', game: 'kuhn-poker' };

  it('refuse a gauntlet challenger listed twice, and a paired-seed ladder with an odd maxMatches', async () => {
    await expect(parseTournamentConfig({ ...base, format: { type: 'gauntlet', challengers: ['a', 'a'] } }, createGame)).rejects.toThrow(/format\.challengers: a challenger is listed twice/);
    await expect(parseTournamentConfig({ ...base, format: { type: 'ladder', maxMatches: 5 }, pairedSeeds: true }, createGame)).rejects.toThrow(/maxMatches must be even/);
    expect((await parseTournamentConfig({ ...base, format: { type: 'ladder', maxMatches: 5 } }, createGame)).format).toEqual({ type: 'ladder', maxMatches: 5 });
  });

  it('may schedule more matches than fit in a call: 3 agents, 60,000 games a pairing', async () => {
    current = await testServer(['a', 'b', 'c'], { tournaments: [{ name: 'big', game: 'kuhn-poker', format: 'round-robin', gamesPerPairing: 60_000 }] });
    expect(current.server.runner('big')!.status()).toMatchObject({ planned: 180_000, finished: 0 });
  });
});

describe('serving a tournament again', () => {
  it('resumes one whose config leaves out its agents after more agents were registered', async () => {
    const db = tempDb();
    const servers: TournamentServer[] = [];
    try {
      addAgents(db.path, ['ann', 'bob']);
      const config = { name: 'again', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 2 };
      servers.push(await startServer({ db: db.path, port: 0, games: createGame, log: () => undefined, tournaments: [config] }));
      await servers.pop()!.close();
      addAgents(db.path, ['cat']);
      const lines: string[] = [];
      servers.push(await startServer({ db: db.path, port: 0, games: createGame, log: (line) => lines.push(line), tournaments: [config] }));
      expect(servers[0].runner('again')!.tournament.config.agents).toEqual(['ann', 'bob']);
    } finally {
      for (const server of servers) await server.close();
      db.remove();
    }
  });

  it('says so when the tournament has already finished', async () => {
    const db = tempDb();
    const servers: TournamentServer[] = [];
    try {
      const tokens = addAgents(db.path, ['ann', 'bob']);
      const config = { name: 'done', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 1 };
      servers.push(await startServer({ db: db.path, port: 0, games: createGame, log: () => undefined, tournaments: [config] }));
      const clients = ['ann', 'bob'].map((name) => connect(servers[0].url, tokens[name], randomAgent()));
      await servers[0].runner('done')!.done;
      await Promise.all(clients.map((c) => c.close()));
      await servers.pop()!.close();
      const lines: string[] = [];
      servers.push(await startServer({ db: db.path, port: 0, games: createGame, log: (line) => lines.push(line), tournaments: [config] }));
      expect(lines.join('\n')).toMatch(/tournament done finished on .+; nothing left to play/);
      const store = new Store(db.path);
      try {
        expect(store.tournaments()[0].status).toBe('finished');
      } finally {
        store.close();
      }
    } finally {
      for (const server of servers) await server.close();
      db.remove();
    }
  });
});
