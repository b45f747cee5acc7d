import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect as tcpConnect, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { policyAgent } from '../../src/runtime/index.ts';
import { connect, Store, type RemoteClient } from '../../src/tournament/index.ts';
import { addAgents, tempDb, waitFor } from './helpers.ts';

const ROOT = join(import.meta.dirname, '../..');
/** The CLI (see cli.ts: bin/selfplay.js once src/cli/main.ts registers the tournament commands). */
const CLI = ['bin/run-ts.js', 'test/tournament/cli.ts'];

function selfplay(args: string[]): ChildProcess {
  return spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function output(child: ChildProcess): Promise<string> {
  let text = '';
  child.stdout!.on('data', (chunk) => (text += chunk));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`exit ${code}: ${text}`);
  return text;
}

/** Starts `selfplay serve --json` and resolves with its URL once it listens. */
async function serve(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = selfplay(['serve', '--json', ...args]);
  let errors = '';
  child.stderr!.on('data', (chunk) => (errors += chunk));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${errors}`)));
  });
  return { child, url: JSON.parse(line).url };
}

/**
 * A TCP relay on 127.0.0.1 that stays put while servers come and go: each
 * connection is passed to the server listening now, and refused (closed) while
 * none is. The clients know only the relay's address, so a restarted server
 * may listen on any free port; no port has to be taken again after a kill
 * (by then another process, or a client's own retry, may hold it).
 */
async function relay(): Promise<{ url: string; target: (port: number | undefined) => void; close: () => Promise<void> }> {
  let upstream: number | undefined;
  const sockets = new Set<Socket>();
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };
  const server: Server = createTcpServer((downstream) => {
    track(downstream);
    if (upstream === undefined) return void downstream.destroy();
    const up = tcpConnect(upstream, '127.0.0.1');
    track(up);
    downstream.once('close', () => up.destroy());
    up.once('close', () => downstream.destroy());
    downstream.pipe(up);
    up.pipe(downstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    target: (port) => (upstream = port),
    close: () =>
      new Promise<void>((resolve) => {
        upstream = undefined;
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

const killed = (child: ChildProcess, signal: NodeJS.Signals) => {
  const exited = new Promise((resolve) => child.once('exit', (_code, s) => resolve(s)));
  child.kill(signal);
  return exited;
};

/** Reads the database the way the server left it. */
function snapshot(path: string) {
  const store = new Store(path);
  try {
    return { results: store.results(), matches: store.matchesOf(1), tournament: store.tournaments()[0], episodes: (store.db.prepare('SELECT COUNT(*) AS n FROM episodes').get() as { n: number }).n };
  } finally {
    store.close();
  }
}

describe('a server killed with SIGKILL mid-tournament', () => {
  const db = tempDb();
  const clients: RemoteClient[] = [];
  const children: ChildProcess[] = [];
  let front: Awaited<ReturnType<typeof relay>> | undefined;
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await front?.close();
    for (const child of children) if (child.exitCode === null && child.signalCode === null) await killed(child, 'SIGKILL');
    db.remove();
  });

  it('loses no completed result, resumes after a restart and finishes with every result exactly once', async () => {
    const added = JSON.parse(await output(selfplay(['agents', 'add', 'a1', '--db', db.path, '--json'])));
    expect(added).toEqual({ name: 'a1', token: expect.stringMatching(/^sp_/) });
    const tokens = { a1: added.token, ...addAgents(db.path, ['a2', 'a3', 'a4']) };
    const config = join(dirname(db.path), 'tournament.json');
    writeFileSync(config, JSON.stringify({ name: 'rr', game: 'kuhn-poker', format: 'round-robin', gamesPerPairing: 20, pairedSeeds: true, concurrency: 2 }));

    const first = await serve(['--port', '0', '--host', '127.0.0.1', '--db', db.path, '--tournament', config]);
    children.push(first.child);
    front = await relay();
    front.target(Number(new URL(first.url).port));
    // Agents that take a few milliseconds a move. Once 30 results are in they hold their moves until
    // the kill, so that it lands mid-tournament however slowly this process gets to look.
    let holding = false;
    const held: (() => void)[] = [];
    const steady = policyAgent(
      (turn) =>
        new Promise((resolve) => {
          const move = () => setTimeout(() => resolve(turn.legal[0]), 3);
          if (holding) held.push(move);
          else move();
        }),
    );
    for (const token of Object.values(tokens)) clients.push(connect(front.url, token, steady, { minBackoffMs: 50, maxBackoffMs: 200 }));

    await waitFor(() => snapshot(db.path).results.length >= 30 && (holding = true), 20_000, '30 results');
    // No new connection goes to the dead server's port from here on.
    front.target(undefined);
    expect(await killed(first.child, 'SIGKILL')).toBe('SIGKILL');
    const before = snapshot(db.path);
    expect(before.results.length).toBeGreaterThanOrEqual(30);
    expect(before.results.length).toBeLessThan(120);
    expect(before.episodes).toBe(before.results.length);
    expect(before.tournament.status).toBe('running');

    // Any free port: the clients, still retrying through the relay, find the new server there.
    holding = false;
    for (const move of held.splice(0)) move();
    const second = await serve(['--port', '0', '--host', '127.0.0.1', '--db', db.path, '--tournament', config]);
    children.push(second.child);
    front.target(Number(new URL(second.url).port));
    await waitFor(() => snapshot(db.path).tournament.status === 'finished', 30_000, 'the tournament to finish');
    const after = snapshot(db.path);
    expect(after.results).toHaveLength(120);
    expect(after.episodes).toBe(120);
    expect(new Set(after.results.map((r) => r.matchId)).size).toBe(120);
    expect(after.matches.every((m) => m.status === 'done')).toBe(true);
    const kept = new Map(after.results.map((r) => [r.matchId, r]));
    for (const r of before.results) expect(kept.get(r.matchId)).toEqual(r);
    front.target(undefined);
    await killed(second.child, 'SIGTERM');
  });
});
