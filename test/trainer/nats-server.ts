import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Starts nats-server on `port` (-1: a free one) and resolves with it and the port it listens on. */
async function serve(args: readonly string[], port: number): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn('nats-server', [...args, '-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const listening = await new Promise<number>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const found = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(line)?.[1];
      if (found) resolve(Number(found));
    });
    child.once('exit', (code) => reject(new Error(`nats-server exited (${code})`)));
  });
  return { child, port: listening };
}

const stopped = (child: ChildProcess, signal: NodeJS.Signals) => {
  const exited = new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
  child.kill(signal);
  return exited;
};

/**
 * A nats-server on a free loopback port, its JetStream store in a temporary
 * folder; `restart` kills it (SIGKILL) and starts it again on the same port
 * and store; `stop` stops it and removes the store.
 */
export async function startNats(jetStream = true): Promise<{ url: string; restart(): Promise<void>; stop(): Promise<void> }> {
  const store = mkdtempSync(join(tmpdir(), 'selfplay-nats-'));
  const args = jetStream ? ['-js', '-sd', store] : [];
  let server = await serve(args, -1);
  const { port } = server;
  return {
    url: `nats://127.0.0.1:${port}`,
    restart: async () => {
      await stopped(server.child, 'SIGKILL');
      server = await serve(args, port);
    },
    stop: async () => {
      await stopped(server.child, 'SIGTERM');
      rmSync(store, { recursive: true, force: true });
    },
  };
}
