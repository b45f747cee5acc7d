import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environments as environmentRegistry } from '../../environments/index.ts';
import { packAndInstall } from './install.ts';

// The package as a user gets it: `npm pack` (which builds dist/), installed into a project of
// its own outside this checkout, used from plain JavaScript, TypeScript and its command line.
let work: string;
let project: string;

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8' });
  return { code: result.status, out: result.stdout, err: result.stderr };
}

const USER_GAME = readFileSync('test/cli/fixtures/countdown.ts', 'utf8').replace(/from '[^']*src\/core\/index\.ts'/, "from 'selfplay'");

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'selfplay-pack-'));
  const installed = packAndInstall(work, { scripts: false });
  console.log(`npm pack: ${(installed.size / 1024).toFixed(0)} kB packed, ${(installed.unpackedSize / 1024).toFixed(0)} kB unpacked`);
  project = installed.project;
  writeFileSync(join(project, 'game.ts'), USER_GAME);
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package, installed in a project of its own', () => {
  it('ships the build and no TypeScript sources', () => {
    const pkg = join(project, 'node_modules', 'selfplay');
    const listed = run('find', ['.', '-name', '*.ts', '-not', '-name', '*.d.ts'], pkg);
    expect(listed.out.trim()).toBe('');
    expect(run('test', ['-f', 'dist/src/index.js'], pkg).code).toBe(0);
  });

  it('imports from plain JavaScript under Node with no loader, every public subpath', () => {
    writeFileSync(
      join(project, 'use.mjs'),
      `import { defineGame, runArena, cfr } from 'selfplay';
import { kuhnPoker } from 'selfplay/games';
import { checkGame } from 'selfplay/check';
import { environments } from 'selfplay/environments';
import * as llm from 'selfplay/llm';
import * as roles from 'selfplay/roles';
import * as hosted from 'selfplay/hosted';
import * as tournament from 'selfplay/tournament';
const game = kuhnPoker();
const result = cfr(game, { iterations: 200 });
console.log(JSON.stringify({ defineGame: typeof defineGame, runArena: typeof runArena, checkGame: typeof checkGame, environments: Object.keys(environments).length, llm: Object.keys(llm).length > 0, roles: Object.keys(roles).length > 0, hosted: Object.keys(hosted).length > 0, tournament: Object.keys(tournament).length > 0, cfr: typeof result }));
`,
    );
    const { code, out, err } = run(process.execPath, ['use.mjs'], project);
    expect(code, err).toBe(0);
    expect(JSON.parse(out)).toEqual({ defineGame: 'function', runArena: 'function', checkGame: 'function', environments: Object.keys(environmentRegistry).length, llm: true, roles: true, hosted: true, tournament: true, cfr: 'object' });
  });

  it('type-checks a TypeScript game that imports selfplay', () => {
    writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, allowImportingTsExtensions: true, types: ['node'] }, files: ['game.ts'] }));
    const { code, out, err } = run(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], project);
    expect(code, out + err).toBe(0);
    writeFileSync(join(project, 'wrong.ts'), `import { defineGame } from 'selfplay';\nexport default defineGame({ id: 42 });\n`);
    const wrong = run(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--types', 'node', 'wrong.ts'], project);
    expect(wrong.code).not.toBe(0);
    expect(wrong.out).toMatch(/wrong\.ts/);
  });

  it('runs check, play and cfr on the user game through npx selfplay', () => {
    const checked = run('npx', ['selfplay', 'check', './game.ts', '--runs', '20'], project);
    expect(checked.code, checked.err).toBe(0);
    expect(checked.out).toMatch(/invariants hold/);
    const played = run('npx', ['selfplay', 'play', './game.ts', '--matches', '20'], project);
    expect(played.code, played.err).toBe(0);
    const solved = run('npx', ['selfplay', 'cfr', './game.ts', '--iterations', '50', '--json'], project);
    expect(solved.code, solved.err).toBe(0);
    expect(solved.out).toMatch(/exploitability/);
  });

  it("gives a game in a folder with no selfplay installed the selfplay that runs it", () => {
    const elsewhere = join(work, 'elsewhere');
    mkdirSync(elsewhere);
    cpSync(join(project, 'game.ts'), join(elsewhere, 'game.ts'));
    const bin = join(project, 'node_modules', 'selfplay', 'bin', 'selfplay.js');
    const checked = run(process.execPath, [bin, 'check', './game.ts', '--runs', '5'], elsewhere);
    expect(checked.code, checked.err).toBe(0);
    writeFileSync(join(elsewhere, 'broken.ts'), `import { defineGame } from 'selfplay';\nexport default defineGame({\n  id: 'x',\n  oops: ,\n});\n`);
    const broken = run(process.execPath, [bin, 'check', './broken.ts'], elsewhere);
    expect(broken.code).toBe(2);
    expect(broken.err.trim().split('\n')).toHaveLength(1);
    expect(broken.err).toMatch(/broken\.ts:4/);
  });
});
