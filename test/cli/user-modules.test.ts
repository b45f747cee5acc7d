import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The checkout's command on game modules outside it: a real process, as a user runs it.
const BIN = resolve('bin/selfplay.js');
const dir = mkdtempSync(join(tmpdir(), 'selfplay-user-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const GAME = readFileSync('test/cli/fixtures/countdown.ts', 'utf8').replace(/from '[^']*src\/core\/index\.ts'/, "from 'selfplay'");

function selfplay(...args: string[]) {
  const result = spawnSync(process.execPath, [BIN, ...args], { cwd: dir, encoding: 'utf8' });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

function write(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return `./${name}`;
}

describe('a game module in a folder of its own', () => {
  it("imports 'selfplay' with none installed there, and checks and plays", () => {
    const game = write('countdown.ts', GAME);
    const checked = selfplay('check', game, '--runs', '10');
    expect(checked.err).toBe('');
    expect(checked.out).toMatch(/countdown: \d+ of \d+ invariants hold/);
    expect(selfplay('play', game, '--matches', '5').code).toBe(0);
  });

  it('that fails to load is one line naming the file, the line and what failed, exit 2', () => {
    const cases: [string, string, RegExp][] = [
      ['syntax.ts', "import { defineGame } from 'selfplay';\n\nconst x = ;\nexport default x;\n", /syntax\.ts:3: Unexpected ";"/],
      ['throws.ts', "import { defineGame } from 'selfplay';\nconst n = 1;\nthrow new RangeError('no room');\n", /throws\.ts:3: RangeError: no room/],
      ['imports.ts', "import { nothing } from './nowhere.ts';\nexport default nothing;\n", /imports\.ts: Cannot find module .*nowhere\.ts/],
      ['factory.ts', "export default function make() {\n  throw new Error('bad size');\n}\n", /factory\.ts:2: bad size/],
    ];
    for (const [name, text, message] of cases) {
      const { code, err, out } = selfplay('check', write(name, text));
      expect(out).toBe('');
      expect(code, err).toBe(2);
      expect(err.trim().split('\n'), err).toHaveLength(1);
      expect(err).toMatch(message);
    }
  });

  it('given as a .json path or with parameters it cannot take is a clear error', () => {
    const json = selfplay('play', write('policy.json', '{}'));
    expect(json.code).toBe(2);
    expect(json.err).toMatch(/policy\.json is a JSON file/);
    const params = selfplay('check', `${write('fixed.ts', GAME)}:size=4`);
    expect(params.code).toBe(2);
    expect(params.err).toMatch(/exports a game, not a function that makes one, so it takes no parameters \(got size\)/);
  });
});

describe('selfplay connect with a game module', () => {
  // The same games on the server's side: copies that import the kernel by its path, as the server (in this process) loads them.
  const serverDir = mkdtempSync(join(tmpdir(), 'selfplay-server-'));
  afterAll(() => rmSync(serverDir, { recursive: true, force: true }));
  const core = JSON.stringify(resolve('src/core/index.ts'));
  const FACTORY = `import { defineGame } from 'selfplay';
// Countdown from a number the tournament chooses.
export default function countdownFrom(params: Record<string, unknown>) {
  const start = Number(params.start ?? 7);
  const game = defineGame<{ left: number; history: number[] }, number>({
    id: 'countdown-from',
    description: 'take 1 or 2 from a counter; whoever takes the last one wins',
    params: { start },
    seats: 2,
    maxLength: start,
    utility: 'zero-sum',
    returnRange: [-1, 1],
    initial: () => ({ left: start, history: [] }),
    turn: (s) => (s.left === 0 ? 'terminal' : s.history.length % 2),
    legalActions: (s) => [1, 2].filter((n) => n <= s.left),
    apply: (s, n) => ({ left: s.left - n, history: [...s.history, n] }),
    returns: (s) => (s.history.length % 2 === 1 ? [1, -1] : [-1, 1]),
    history: (s) => s.history,
  });
  return game;
}
`;

  it('plays a tournament of a game exported by a module and of one a factory makes with the server\'s parameters; without the module it stops and says to give it', async () => {
    const { testServer, waitFor } = await import('../tournament/helpers.ts');
    const { loadGame } = await import('../../src/cli/load-game.ts');
    const game = write('countdown.ts', GAME);
    const factory = write('countdown-from.ts', FACTORY);
    for (const [name, text] of [['countdown.ts', GAME], ['countdown-from.ts', FACTORY]]) writeFileSync(join(serverDir, name), text.replace("from 'selfplay'", `from ${core}`));
    const t = await testServer(['ann', 'bob', 'cat'], {
      games: (ref, params) => loadGame(join(serverDir, ref), params),
      tournaments: [
        { name: 'plain', game: 'countdown.ts', format: 'round-robin', gamesPerPairing: 2, agents: ['ann', 'bob'] },
        { name: 'made', game: 'countdown-from.ts', params: { start: 5 }, format: 'round-robin', gamesPerPairing: 2, agents: ['ann', 'bob'] },
        { name: 'lonely', game: 'countdown.ts', format: 'round-robin', gamesPerPairing: 2, agents: ['bob', 'cat'] },
      ],
    });
    // MCTS searches the client's own copy of the game: made with other parameters, it would play moves the server's refuses.
    const connect = (agent: string, ...games: string[]) => {
      const child = spawn(process.execPath, [BIN, 'connect', t.server.url, '--token', t.tokens[agent], '--agent', games.length ? 'mcts:iterations=30' : 'random', ...games.flatMap((g) => ['--game', g])], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (chunk) => (err += chunk));
      return { child, exit: new Promise<{ code: number | null; err: string }>((done) => child.once('exit', (code) => done({ code, err }))) };
    };
    const players = [connect('ann', game, factory), connect('bob', factory, game), connect('cat')];
    try {
      await Promise.all(['plain', 'made'].map((name) => t.server.runner(name)!.done));
      const results = (name: string) => t.server.store.results(t.server.store.tournament(name)!.id);
      expect(results('plain').map((r) => r.outcome)).toEqual(['normal', 'normal']);
      expect(results('made').map((r) => r.outcome)).toEqual(['normal', 'normal']);
      // Played from 5 with the client's game made again with the server's parameters: at most 5 moves.
      for (const r of results('made')) {
        const { episode } = t.server.store.match(r.matchId)!;
        expect(episode!.game).toEqual({ id: 'countdown-from', params: { start: 5 } });
        expect(episode!.history.reduce((sum: number, n) => sum + (n as number), 0)).toBe(5);
      }
      // cat has no module for countdown: its first match ends in error and it stops, saying what to do.
      const { code, err } = await players[2].exit;
      expect(code).toBe(2);
      expect(err).toMatch(/stopped: random cannot play countdown: unknown game "countdown".*; for a game of your own, give its module with --game PATH/);
      await waitFor(() => results('lonely').length > 0, 10_000, "the lonely tournament's first result");
      // (Its second match may have started before it left: that one waits for it, and times out.)
      expect(results('lonely')[0].outcome).toBe('error');
      for (const { child } of players.slice(0, 2)) child.kill('SIGTERM');
      for (const { exit } of players.slice(0, 2)) expect((await exit).code).toBe(0);
    } finally {
      for (const { child } of players) child.kill('SIGKILL');
      await t.stop();
    }
  }, 60_000);

  it('refuses a module that fails to load before connecting, one line and exit status 2', () => {
    const broken = write('broken-game.ts', "import { defineGame } from 'selfplay';\n\nconst x = ;\nexport default x;\n");
    const { code, err, out } = selfplay('connect', 'http://127.0.0.1:9', '--token', 'sp_x', '--agent', 'random', '--game', broken);
    expect(out).toBe('');
    expect(code).toBe(2);
    expect(err.trim().split('\n')).toHaveLength(1);
    expect(err).toMatch(/broken-game\.ts:3: Unexpected ";"/);
  });
});
