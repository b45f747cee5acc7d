import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
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
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    for (const child of children) if (child.exitCode === null && child.signalCode === null) await killed(child, 'SIGKILL');
    db.remove();
  });

  it('loses no completed result, resumes after a restart and finishes with every result exactly once', async () => {
    const added = JSON.parse(await output(selfplay(['agents', 'add', 'a1', '--db', db.path, '--json'])));
    expect(added).toEqual({ name: 'a1', token: expect.stringMatching(/^sp_/) });
    const tokens = { a1: added.token, ...addAgents(db.path, ['a2', 'a3', 'a4']) };
    const config = join(dirname(db.path), 'tournament.json');
    writeFileSync(config, JSON.stringify({ name: 'rr', game: 'kuhn-poker', format: 'round-robin', gamesPerPairing: 20, pairedSeeds: true, concurrency: 2 }));

    const first = await serve(['--port', '0', '--db', db.path, '--tournament', config]);
    children.push(first.child);
    // Agents that take a few milliseconds a move, so that the kill lands mid-tournament.
    const steady = policyAgent((turn) => new Promise((resolve) => setTimeout(() => resolve(turn.legal[0]), 3)));
    for (const token of Object.values(tokens)) clients.push(connect(first.url, token, steady, { minBackoffMs: 50, maxBackoffMs: 200 }));

    await waitFor(() => snapshot(db.path).results.length >= 30, 20_000, '30 results');
    expect(await killed(first.child, 'SIGKILL')).toBe('SIGKILL');
    const before = snapshot(db.path);
    expect(before.results.length).toBeGreaterThanOrEqual(30);
    expect(before.results.length).toBeLessThan(120);
    expect(before.episodes).toBe(before.results.length);
    expect(before.tournament.status).toBe('running');

    // The same port, so that the clients' reconnection finds the new server.
    const port = new URL(first.url).port;
    const second = await serve(['--port', port, '--db', db.path, '--tournament', config]);
    children.push(second.child);
    await waitFor(() => snapshot(db.path).tournament.status === 'finished', 30_000, 'the tournament to finish');
    const after = snapshot(db.path);
    expect(after.results).toHaveLength(120);
    expect(after.episodes).toBe(120);
    expect(new Set(after.results.map((r) => r.matchId)).size).toBe(120);
    expect(after.matches.every((m) => m.status === 'done')).toBe(true);
    const kept = new Map(after.results.map((r) => [r.matchId, r]));
    for (const r of before.results) expect(kept.get(r.matchId)).toEqual(r);
    await killed(second.child, 'SIGTERM');
  });
});
