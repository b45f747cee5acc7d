import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A nats-server on a free loopback port, its store in a temporary folder; stopped and removed by `stop`. */
export async function startNats(jetStream = true): Promise<{ url: string; stop(): Promise<void> }> {
  const store = mkdtempSync(join(tmpdir(), 'selfplay-nats-'));
  const child: ChildProcess = spawn('nats-server', [...(jetStream ? ['-js', '-sd', store] : []), '-a', '127.0.0.1', '-p', '-1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (line) => {
      const port = /Listening for client connections on 127\.0\.0\.1:(\d+)/.exec(line)?.[1];
      if (port) resolve(`nats://127.0.0.1:${port}`);
    });
    child.once('exit', (code) => reject(new Error(`nats-server exited (${code})`)));
  });
  return {
    url,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
      rmSync(store, { recursive: true, force: true });
    },
  };
}

