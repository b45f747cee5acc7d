import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testServer } from './helpers.ts';

const ROOT = join(import.meta.dirname, '../..');

/** `selfplay <command> ...` as a child process (see cli.ts). */
function selfplay(command: string, args: string[]): { child: ChildProcess; exit: Promise<{ code: number | null; stderr: string }> } {
  const child = spawn(process.execPath, ['bin/run-ts.js', 'test/tournament/cli.ts', command, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return { child, exit: new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr }))) };
}

describe('selfplay connect', () => {
  it('plays an agent spec on a server until stopped, and refuses a bad token with exit status 2', async () => {
    const t = await testServer(['ann', 'bob'], { tournaments: [{ name: 'c', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 4 }] });
    const players = [
      selfplay('connect', [t.server.url, '--token', t.tokens.ann, '--agent', 'mcts:iterations=20']),
      selfplay('connect', [t.server.url, '--token', t.tokens.bob, '--agent', 'random', '--msgpack', '--version', '7']),
    ];
    try {
      await t.server.runner('c')!.done;
      expect(t.server.store.results()).toHaveLength(4);
      expect(t.server.store.results()[0].players.map((p) => `${p.agent}@${p.version}`).sort()).toEqual(['ann@1', 'bob@7']);
      for (const { child } of players) child.kill('SIGTERM');
      for (const { exit } of players) {
        const { code, stderr } = await exit;
        expect(code).toBe(0);
        expect(stderr).toMatch(/connected as (ann@1|bob@7)/);
      }
      const refused = await selfplay('connect', [t.server.url, '--token', 'sp_wrong', '--agent', 'random']).exit;
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/refused the connection \(HTTP 401\)/);
    } finally {
      for (const { child } of players) child.kill('SIGKILL');
      await t.stop();
    }
  });

  it('serve on a port already in use says so and exits with status 2', async () => {
    const t = await testServer(['ann']);
    try {
      const busy = await selfplay('serve', ['--port', String(t.server.port), '--db', t.db]).exit;
      expect(busy.code).toBe(2);
      expect(busy.stderr).toContain(`error: cannot listen on 127.0.0.1:${t.server.port}: the address is in use`);
      expect(busy.stderr).not.toMatch(/\n\s+at /);
    } finally {
      await t.stop();
    }
  });
});
