import { spawn, type ChildProcess } from 'node:child_process';
import { connect as tcpConnect, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll } from 'vitest';
import type { RemoteClient } from '../../src/tournament/index.ts';
import { tempDb } from './helpers.ts';

/** Servers as processes of their own, for tests that kill them. */

const ROOT = join(import.meta.dirname, '../..');
/** The CLI (see cli.ts: bin/selfplay.js once src/cli/main.ts registers the tournament commands). */
const CLI = ['bin/run-ts.js', 'test/tournament/cli.ts'];

export function selfplay(args: string[]): ChildProcess {
  return spawn(process.execPath, [...CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function output(child: ChildProcess): Promise<string> {
  let text = '';
  child.stdout!.on('data', (chunk) => (text += chunk));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`exit ${code}: ${text}`);
  return text;
}

/** Starts `selfplay serve --json` and resolves with its URL once it listens. */
export async function serve(args: string[]): Promise<{ child: ChildProcess; url: string }> {
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
export async function relay(): Promise<{ url: string; target: (port: number | undefined) => void; close: () => Promise<void> }> {
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

export const killed = (child: ChildProcess, signal: NodeJS.Signals) => {
  const exited = new Promise((resolve) => child.once('exit', (_code, s) => resolve(s)));
  child.kill(signal);
  return exited;
};

/**
 * What a test that kills servers holds, let go after its tests: a database,
 * its clients, the server processes it started (any still running is
 * killed) and the relay in front of them, once the test makes one.
 */
export function killedServerScene() {
  const scene = { db: tempDb(), clients: [] as RemoteClient[], children: [] as ChildProcess[], front: undefined as Awaited<ReturnType<typeof relay>> | undefined };
  afterAll(async () => {
    await Promise.all(scene.clients.map((c) => c.close()));
    await scene.front?.close();
    for (const child of scene.children) if (child.exitCode === null && child.signalCode === null) await killed(child, 'SIGKILL');
    scene.db.remove();
  });
  return scene;
}
