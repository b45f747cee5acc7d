import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomAgent } from '../../agents/random.ts';
import { loadGame } from '../../src/cli/load-game.ts';
import { connect, type GameResolver } from '../../src/tournament/index.ts';
import { addAgents, getJson, tempDb, testServer, waitFor } from './helpers.ts';

const ROOT = join(import.meta.dirname, '../..');

// A user's game in a folder of its own: the CLI fixture, importing the kernel by its absolute path.
const dir = mkdtempSync(join(tmpdir(), 'selfplay-game-module-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const GAME = join(dir, 'countdown.ts');
const core = JSON.stringify(join(ROOT, 'src/core/index.ts'));
writeFileSync(GAME, readFileSync(join(ROOT, 'test/cli/fixtures/countdown.ts'), 'utf8').replace(/'[^']*src\/core\/index\.ts'/, core));

describe('a tournament of a game from a module file', () => {
  it("gets the game from its caller's resolver, and plays it", async () => {
    const asked: string[] = [];
    const games: GameResolver = (ref) => {
      asked.push(ref);
      return loadGame(ref);
    };
    const t = await testServer(['ann', 'bob'], { tournaments: [{ name: 'm', game: GAME, format: 'round-robin', gamesPerPairing: 2 }], games });
    const clients = [connect(t.server.url, t.tokens.ann, randomAgent()), connect(t.server.url, t.tokens.bob, randomAgent())];
    try {
      await t.server.runner('m')!.done;
      expect(new Set(asked)).toEqual(new Set([GAME]));
      const results = t.server.store.results();
      expect(results).toHaveLength(2);
      expect(t.server.store.match(results[0].matchId)?.episode?.game).toEqual({ id: 'countdown', params: {} });
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await t.stop();
    }
  });

  it('selfplay serve loads a config that names one, and says which config names one it cannot load', async () => {
    const db = tempDb();
    const serve = (game: string) => {
      const config = join(dir, `${game.replace(/\W/g, '-')}.json`);
      writeFileSync(config, JSON.stringify({ name: 'm', game, format: 'round-robin' }));
      const child = spawn(process.execPath, ['bin/run-ts.js', 'test/tournament/cli.ts', 'serve', '--db', db.path, '--port', '0', '--json', '--tournament', config], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout!.on('data', (chunk) => (out += chunk));
      child.stderr!.on('data', (chunk) => (err += chunk));
      const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
      return { child, config, exit, out: () => out, err: () => err };
    };
    try {
      addAgents(db.path, ['ann', 'bob']);
      const missing = serve(join(dir, 'nowhere.ts'));
      expect(await missing.exit).toBe(2);
      expect(missing.err()).toContain(`error: ${missing.config}: no such file: ${join(dir, 'nowhere.ts')}`);

      const served = serve(GAME);
      try {
        const { url } = JSON.parse(await waitFor(() => served.out().includes('\n') && served.out(), 20_000, 'the server URL'));
        const { tournaments } = await getJson(`${url}/api/tournaments`);
        // Named as rated: the module's game id, wherever its file is.
        expect(tournaments).toMatchObject([{ name: 'm', game: 'countdown', status: 'running' }]);
      } finally {
        served.child.kill('SIGTERM');
        await served.exit;
      }
    } finally {
      db.remove();
    }
  });
});
