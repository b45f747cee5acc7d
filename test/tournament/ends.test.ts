import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyAgent, type EndMessage } from '../../src/runtime/index.ts';
import { connect, Store, type ResultRow } from '../../src/tournament/index.ts';
import { addAgents, RawSocket, testServer, waitFor } from './helpers.ts';
import { killed, killedServerScene, relay, serve } from './processes.ts';

/** The stored results, by match id. */
function stored(path: string): Map<string, ResultRow> {
  const store = new Store(path);
  try {
    return new Map(store.results().map((r) => [r.matchId, r]));
  } finally {
    store.close();
  }
}

const told = (end: EndMessage) => ({ returns: end.returns, outcome: end.outcome });

describe('the end of a match', () => {
  it('reaches a seat that was away when its match ended, when it reconnects', async () => {
    const t = await testServer(['ann', 'bob'], {
      tournaments: [{ name: 'away', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 1, swapSeats: false, timePerMoveMs: 200, graceMs: 20, reconnectGraceMs: 60_000 }],
    });
    const headers = (name: string) => ({ headers: { authorization: `Bearer ${t.tokens[name]}` } });
    try {
      const ann = new RawSocket(t.server.url, headers('ann'));
      const bob = new RawSocket(t.server.url, headers('bob'));
      // Ann leaves at her first turn; she times out while away, and the result is committed.
      await ann.next((f) => f.type === 'turn');
      ann.close();
      const end = await bob.next((f) => f.type === 'end');
      expect(end.outcome).toBe('timeout');
      const back = new RawSocket(t.server.url, headers('ann'));
      expect(await back.next((f) => f.type === 'welcome')).toMatchObject({ resumed: [] });
      expect(await back.next((f) => f.type === 'end')).toEqual(end);
      back.close();
      bob.close();
    } finally {
      await t.stop();
    }
  });
});

describe('a server killed with SIGKILL the moment an agent is told a result', () => {
  const scene = killedServerScene();
  const { db, clients, children } = scene;

  it('had committed every result it told, and tells every seat the end of every committed match after restarts', async () => {
    const names = ['a1', 'a2', 'a3', 'a4'];
    const tokens = addAgents(db.path, names);
    const config = join(dirname(db.path), 'tournament.json');
    // 6 pairings x 8 games = 48 matches.
    writeFileSync(config, JSON.stringify({ name: 'ends', game: 'kuhn-poker', format: 'round-robin', gamesPerPairing: 8, pairedSeeds: true, concurrency: 2 }));
    const front = (scene.front = await relay());
    // Every end each agent is told, in order (a resent one appears twice).
    const ends = new Map<string, EndMessage[]>(names.map((n) => [n, []]));
    let onEnd: (() => void) | undefined;
    // Moves at random, as in the trial: a replayed match may well end otherwise.
    const random = policyAgent((turn) => new Promise<string>((resolve) => setTimeout(() => resolve(turn.legal[Math.floor(Math.random() * turn.legal.length)]), 2)));
    const heard = (name: string) => (end: EndMessage) => {
      ends.get(name)!.push(end);
      onEnd?.();
    };
    for (const name of names) clients.push(connect(front.url, tokens[name], random, { minBackoffMs: 20, maxBackoffMs: 100, onEnd: heard(name) }));

    for (let kill = 0; kill < 3; kill++) {
      const { child, url } = await serve(['--port', '0', '--host', '127.0.0.1', '--db', db.path, '--tournament', config]);
      children.push(child);
      // Killed at once, from the handler of the first end told after this start.
      const seen = [...ends.values()].reduce((n, list) => n + list.length, 0);
      const dead = new Promise<unknown>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      onEnd = () => {
        if ([...ends.values()].reduce((n, list) => n + list.length, 0) <= seen) return;
        onEnd = undefined;
        front.target(undefined);
        child.kill('SIGKILL');
      };
      front.target(Number(new URL(url).port));
      expect(await dead).toBe('SIGKILL');
      // Everything an agent was told is stored, as told.
      const results = stored(db.path);
      for (const list of ends.values()) for (const end of list) expect({ matchId: end.matchId, ...told(end) }).toEqual({ matchId: end.matchId, ...told(results.get(end.matchId) as never) });
    }

    const { child, url } = await serve(['--port', '0', '--host', '127.0.0.1', '--db', db.path, '--tournament', config]);
    children.push(child);
    front.target(Number(new URL(url).port));
    // Every seat of every committed match is told its end (perhaps more than once), and each as stored.
    const complete = () => {
      const results = stored(db.path);
      if (results.size < 48) return false;
      return names.every((name) => {
        const mine = [...results.values()].filter((r) => r.players.some((p) => p.agent === name)).map((r) => r.matchId);
        const heard = new Set(ends.get(name)!.map((e) => e.matchId));
        return mine.length > 0 && mine.every((id) => heard.has(id));
      });
    };
    await waitFor(complete, 30_000, 'every seat to be told the end of each of its matches').catch(() => undefined);
    const results = stored(db.path);
    expect(results.size).toBe(48);
    for (const name of names) {
      const mine = [...results.values()].filter((r) => r.players.some((p) => p.agent === name)).map((r) => r.matchId).sort();
      expect([...new Set(ends.get(name)!.map((e) => e.matchId))].sort()).toEqual(mine);
      for (const end of ends.get(name)!) expect(told(end)).toEqual(told(results.get(end.matchId) as never));
    }
    front.target(undefined);
    await killed(child, 'SIGTERM');
  }, 90_000);
});
