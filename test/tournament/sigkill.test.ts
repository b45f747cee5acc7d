import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyAgent } from '../../src/runtime/index.ts';
import { connect, Store } from '../../src/tournament/index.ts';
import { addAgents, waitFor } from './helpers.ts';
import { killed, killedServerScene, output, relay, selfplay, serve } from './processes.ts';

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
  const scene = killedServerScene();
  const { db, clients, children } = scene;

  it('loses no completed result, resumes after a restart and finishes with every result exactly once', async () => {
    const added = JSON.parse(await output(selfplay(['agents', 'add', 'a1', '--db', db.path, '--json'])));
    expect(added).toEqual({ name: 'a1', token: expect.stringMatching(/^sp_/) });
    const tokens = { a1: added.token, ...addAgents(db.path, ['a2', 'a3', 'a4']) };
    const config = join(dirname(db.path), 'tournament.json');
    writeFileSync(config, JSON.stringify({ name: 'rr', game: 'kuhn-poker', format: 'round-robin', gamesPerPairing: 20, pairedSeeds: true, concurrency: 2 }));

    const first = await serve(['--port', '0', '--host', '127.0.0.1', '--db', db.path, '--tournament', config]);
    children.push(first.child);
    const front = (scene.front = await relay());
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
