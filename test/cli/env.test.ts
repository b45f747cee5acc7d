import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readEpisodes } from '../../src/episodes/index.ts';
import { runCli } from './run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'selfplay-env-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('selfplay env', () => {
  it('lists the environments and their options without a name', async () => {
    const { code, out } = await runCli('env');
    expect(code).toBe(0);
    for (const name of ['absolute-zero', 'self-play-critic', 'teacher-student', 'creator-solver', 'stp', 'sppo', 'spin']) expect(out).toContain(`${name}:`);
    expect(out).toContain('--param solvers=');
  });

  it('runs absolute-zero with scripted roles, prints rewards per role and writes the episodes', async () => {
    const file = join(dir, 'az.jsonl');
    const { code, out } = await runCli('env', 'absolute-zero', '--steps', '12', '--param', 'solvers=2', '--out', file, '--json');
    expect(code).toBe(0);
    const summary = JSON.parse(out);
    expect(summary).toMatchObject({ environment: 'absolute-zero', steps: 12, outcomes: { normal: 12 } });
    expect(summary.roles.map((r: { role: string }) => r.role).sort()).toEqual(['proposer', 'solver']);
    expect(summary.stats.matches).toBe(12);
    const episodes = [];
    for await (const episode of readEpisodes(file)) episodes.push(episode);
    expect(episodes).toHaveLength(12);
    expect(episodes[0].players.map((p) => p.role)).toEqual(['proposer', 'solver', 'solver']);
  });

  it('prints a readable table without --json', async () => {
    const { code, out } = await runCli('env', 'absolute-zero', '--steps', '3', '--param', 'types=deduction');
    expect(code).toBe(0);
    expect(out).toMatch(/role\s+seats played\s+mean reward/);
    expect(out).toContain('deduction buffer: ');
  });

  it('runs each of the other environments, and writes creator-solver\'s preference pairs', async () => {
    for (const name of ['self-play-critic', 'teacher-student', 'stp', 'sppo', 'spin', 'rest-mcts']) {
      const { code, out } = await runCli('env', name, '--steps', '5', '--json');
      expect(code).toBe(0);
      expect(JSON.parse(out)).toMatchObject({ environment: name, steps: 5, outcomes: { normal: 5 } });
    }
    const file = join(dir, 'pairs.jsonl');
    const { code, out } = await runCli('env', 'creator-solver', '--steps', '30', '--pairs', file, '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ environment: 'creator-solver', pairs: file });
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.length).toBeGreaterThan(0);
    for (const pair of lines) {
      expect(typeof pair.prompt).toBe('string');
      expect(pair.chosenReward).toBeGreaterThan(pair.rejectedReward);
    }
  });

  it('chooses task categories by SEC with --curriculum sec, learning from a role\'s returns every --sec-batch matches', async () => {
    const { code, out } = await runCli('env', 'absolute-zero', '--steps', '48', '--curriculum', 'sec', '--sec-batch', '8', '--json');
    expect(code).toBe(0);
    const { curriculum } = JSON.parse(out);
    expect(Object.keys(curriculum).sort()).toEqual(['abduction', 'deduction', 'induction']);
    const arms = Object.values(curriculum) as { value: number; probability: number; chosen: number }[];
    expect(arms.reduce((n, a) => n + a.chosen, 0)).toBe(48);
    expect(arms.reduce((n, a) => n + a.probability, 0)).toBeCloseTo(1, 9);
    // Six updates from returns that vary: some category has moved off its starting value of 0.
    expect(arms.some((a) => a.value > 0)).toBe(true);
    const text = await runCli('env', 'sppo', '--steps', '8', '--curriculum', 'sec');
    expect(text.out).toMatch(/SEC curriculum \(category: value, probability, matches\)\nsum: /);
  });

  it.each([
    [['env', 'absolute-zero', '--pairs', 'x.jsonl'], /--pairs: absolute-zero makes no preference pairs/],
    [['env', 'stp', '--curriculum', 'sec'], /--curriculum sec: stp has no task categories/],
    [['env', 'absolute-zero', '--curriculum', 'sec', '--sec-role', 'critic'], /--sec-role: absolute-zero has no role "critic"; its roles: proposer, solver/],
    [['env', 'absolute-zero', '--curriculum', 'sec', '--sec-alpha', '2'], /--curriculum sec: SEC's alpha must be in \(0, 1\], not 2/],
    [['env', 'absolute-zero', '--curriculum', 'bandit'], /--curriculum/],
    [['env', 'no-such-env'], /unknown environment "no-such-env"; environments: absolute-zero/],
    [['env', 'absolute-zero', '--param', 'solvers=0'], /solvers must be a whole number from 1 to 64, not "0"/],
    [['env', 'absolute-zero', '--param', 'nonsense=1'], /absolute-zero has no option "nonsense"/],
    [['env', 'absolute-zero', '--param', 'types=deduction+guessing'], /unknown task type "guessing"/],
    [['env', 'absolute-zero', '--param', 'solvers'], /--param takes key=value/],
    [['env', 'absolute-zero', '--critic', 'scripted'], /absolute-zero has no role "critic"; its roles: proposer, solver/],
    [['env', 'absolute-zero', '--solver', 'mcts'], /unknown agent "mcts" for the solver/],
    [['env', 'absolute-zero', '--solver', 'llm:model=m,n=4'], /llm for the solver: n has no effect in a role/],
    [['env', 'absolute-zero', '--steps', '0'], /--steps must be an integer >= 1/],
  ])('refuses %j with a clear error', async (args, message) => {
    const { code, err } = await runCli(...args);
    expect(code).not.toBe(0);
    expect(err).toMatch(message);
  });
});
