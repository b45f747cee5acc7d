import { spawnSync } from 'node:child_process';
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
