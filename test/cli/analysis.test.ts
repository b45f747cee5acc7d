import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

const run = runCli;

const dir = mkdtempSync(join(tmpdir(), 'selfplay-analysis-'));

describe('selfplay solve', () => {
  it('gives tic-tac-toe value 0 and its 5478 distinct states', async () => {
    const { code, out } = await run('solve', 'tic-tac-toe', '--json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ game: 'tic-tac-toe', value: [0, 0], states: 5478 });
  });

  it('refuses imperfect-information games and games too large, with exit status 2', async () => {
    const kuhn = await run('solve', 'kuhn-poker');
    expect(kuhn.code).toBe(2);
    expect(kuhn.err).toMatch(/minimax needs a two-player zero-sum perfect-information game/);
    const big = await run('solve', 'connect-four', '--max-states', '5000');
    expect(big.code).toBe(2);
    expect(big.err).toMatch(/more than 5000 distinct states/);
  });
});

describe('selfplay exploitability', () => {
  it('reproduces the uniform-policy values of REFERENCE.md', async () => {
    const kuhn = JSON.parse((await run('exploitability', 'kuhn-poker', '--json')).out);
    expect(kuhn.nashConv).toBeCloseTo(11 / 12, 12);
    expect(kuhn.exploitability).toBeCloseTo(11 / 24, 12);
    expect(kuhn.returns[0]).toBeCloseTo(1 / 8, 12);
    const leduc = JSON.parse((await run('exploitability', 'leduc-poker', '--policy', 'uniform', '--json')).out);
    expect(leduc.nashConv).toBeCloseTo(4.747222222222222, 12);
    expect(leduc.exploitability).toBeCloseTo(2.373611111111111, 12);
  });

  it('rejects a missing, broken or foreign policy file with a clear error', async () => {
    const missing = await run('exploitability', 'kuhn-poker', '--policy', join(dir, 'none.json'));
    expect(missing.code).toBe(2);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"format": ');
    const bad = await run('exploitability', 'kuhn-poker', '--policy', broken);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/broken\.json/);
  });
});

describe('selfplay cfr', () => {
  it('runs CFR+ on Kuhn to exploitability <= 0.001 in 200 iterations and writes a policy the other commands read', async () => {
    const file = join(dir, 'kuhn.json');
    const { code, out } = await run('cfr', 'kuhn-poker', '--iterations', '200', '--plus', '--every', '50', '--out', file, '--json');
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result.algorithm).toBe('cfr+');
    expect(result.curve.map((p: { iteration: number }) => p.iteration)).toEqual([50, 100, 150, 200]);
    expect(result.exploitability).toBeLessThanOrEqual(0.001);
    expect(result.value[0]).toBeCloseTo(-1 / 18, 2);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ format: 'selfplay.tabular-policy', game: 'kuhn-poker' });

    const again = JSON.parse((await run('exploitability', 'kuhn-poker', '--policy', file, '--json')).out);
    expect(again.exploitability).toBeCloseTo(result.exploitability, 12);
    const foreign = await run('exploitability', 'leduc-poker', '--policy', file);
    expect(foreign.code).toBe(2);
    expect(foreign.err).toMatch(/holds a policy for game "kuhn-poker", not "leduc-poker"/);
  });

  it('prints the exploitability curve and the final values', async () => {
    const { code, out } = await run('cfr', 'kuhn-poker', '--iterations', '300');
    expect(code).toBe(0);
    expect(out).toMatch(/iteration {2}exploitability\n {7}30 {2}/);
    expect(out).toMatch(/kuhn-poker, cfr, 300 iterations:/);
    expect(out).toMatch(/NashConv/);
  });

  it('samples with MCCFR, reproducibly for a seed', async () => {
    const a = JSON.parse((await run('cfr', 'kuhn-poker', '--iterations', '2000', '--sampling', '--seed', '3', '--json')).out);
    const b = JSON.parse((await run('cfr', 'kuhn-poker', '--iterations', '2000', '--sampling', '--seed', '3', '--json')).out);
    expect(a.algorithm).toBe('mccfr');
    expect(a.exploitability).toBe(b.exploitability);
    expect(a.exploitability).toBeLessThan(0.1);
  });

  it('explains bad options with exit status 2', async () => {
    expect((await run('cfr', 'kuhn-poker')).err).toMatch(/required option '--iterations <n>'/);
    const both = await run('cfr', 'kuhn-poker', '--iterations', '10', '--plus', '--sampling');
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--plus and --sampling cannot be combined/);
    expect((await run('cfr', 'kuhn-poker', '--iterations', '0')).code).toBe(2);
  });
});
