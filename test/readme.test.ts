import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './cli/run-cli.ts';

const readme = readFileSync('README.md', 'utf8');

/** Imports a module this test wrote (a path the compiler cannot know ahead). */
const importWritten = (file: string) => import(resolve(file));

/** The first ```ts block after `marker` in the README. */
function codeAfter(marker: string): string {
  const at = readme.indexOf(marker);
  expect(at, `README has "${marker}"`).toBeGreaterThanOrEqual(0);
  const match = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  expect(match, `a ts block follows "${marker}"`).not.toBeNull();
  return match![1];
}

const run = runCli;

describe('the README', () => {
  it('opens with the two quick-start commands', () => {
    const first = /```sh\n([\s\S]*?)```/.exec(readme)![1];
    expect(first).toMatch(/^npm ci && npm start/m);
    expect(first).toMatch(/^npm test/m);
  });

  it("tutorial's complete Nim file passes the checker and plays, as the README says", async () => {
    mkdirSync('test/.tmp', { recursive: true });
    writeFileSync('test/.tmp/my-nim.ts', codeAfter('The complete file, `my-nim.ts`'));
    const checked = await run('check', './test/.tmp/my-nim.ts');
    expect(checked.err).toBe('');
    expect(checked.code).toBe(0);
    expect(checked.out).toMatch(/my-nim: 13 of 13 invariants hold/);
    const played = await run('play', './test/.tmp/my-nim.ts', '--seed', '7');
    expect(played.code).toBe(0);
    expect(played.out).toMatch(/seat 0 plays \[take \d+ from heap \d\]/);
  });

  it('game-theory example runs and gives the values it claims', async () => {
    mkdirSync('test/.tmp', { recursive: true });
    const code = codeAfter('\nFrom code:\n');
    writeFileSync('test/.tmp/analysis-example.ts', `${code}\nexport const results = { uniform: evaluatePolicy(kuhn, uniformPolicy(kuhn)), evaluation, solved: minimax(ticTacToe()) };\n`);
    const { results } = await importWritten('test/.tmp/analysis-example.ts');
    expect(results.uniform.nashConv).toBeCloseTo(11 / 12, 12);
    expect(results.evaluation.exploitability).toBeLessThan(0.001);
    expect(results.solved).toEqual({ values: [0, 0], states: 2511 });
  });

  it('runtime example plays its matches and summarises them', async () => {
    mkdirSync('test/.tmp', { recursive: true });
    const code = codeAfter('Most agents are a policy function:').replace('console.log(', 'export const summary = (');
    writeFileSync('test/.tmp/runtime-example.ts', code);
    const { summary } = await importWritten('test/.tmp/runtime-example.ts');
    expect(summary.map((r: { agent: string; matches: number }) => [r.agent, r.matches])).toEqual([['centre', 1000], ['random', 1000]]);
    expect(summary[0].score).toBeGreaterThan(summary[1].score);
  });

  it('environment example runs Absolute Zero with scripted roles and reports rewards per role', async () => {
    mkdirSync('test/.tmp', { recursive: true });
    const code = codeAfter('How it fits the game kernel').replace(/console\.log\((.*)\);/, 'export const result = [$1];');
    writeFileSync('test/.tmp/environment-example.ts', code);
    const { result } = await importWritten('test/.tmp/environment-example.ts');
    expect(result[0].map((r: { role: string }) => r.role).sort()).toEqual(['proposer', 'solver']);
    expect(result[1].matches).toBe(40);
  });

  it('shows the failing report that the checker really prints', async () => {
    const { out } = await run('check', 'test/cli/fixtures/countdown-broken.ts', '--runs', '30');
    for (const line of out.split('\n').filter((l) => !l.startsWith('  ok'))) expect(readme).toContain(line);
  });
});
