import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = resolve('bin/selfplay.js');
const GAME = resolve('test/trainer/fixtures/goofspiel.ts');

/** `selfplay train` of the 4-card Goofspiel fixture (34,952 information states, 100 times Kuhn's 12) in a fresh folder as working directory. */
function trainGoofspiel(...args: string[]): Promise<{ code: number | null; out: string; cwd: string; lines: string[] }> {
  const cwd = mkdtempSync(join(tmpdir(), 'selfplay-goofspiel-'));
  const child = spawn(process.execPath, [BIN, 'train', GAME, '--eval-matches', '0', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    for (const text of d.toString().split('\n')) if (text) lines.push(text);
    out += d;
  });
  child.stderr.on('data', (d: Buffer) => (out += d));
  return new Promise((done) => child.on('exit', (code) => done({ code, out, cwd, lines })));
}

describe('selfplay train of a user game larger than Kuhn poker', () => {
  it('names the default run folder after the game id and gives a bounded run several exploitability points', async () => {
    const { code, out, cwd } = await trainGoofspiel('--seconds', '8');
    expect(code, out).toBe(0);
    expect(readdirSync(join(cwd, 'runs'))).toEqual(['goofspiel-rae-seed0']);
    expect(out).toContain('run folder runs/goofspiel-rae-seed0');
    const rows = readFileSync(join(cwd, 'runs/goofspiel-rae-seed0/metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // 250,000 episodes an update (not 100 per information state: 3.5 million), each update a second or more after the last evaluation evaluated.
    expect(rows[0].episodes).toBe(250_000);
    const points = rows.filter((r) => typeof r.exploitability === 'number');
    expect(points.length, JSON.stringify(rows.map((r) => [r.update, r.seconds, r.exploitability]))).toBeGreaterThanOrEqual(3);
    expect(points[points.length - 1].exploitability).toBeLessThan(2.5);
    // Stopped on time, mid-update if need be.
    expect(rows[rows.length - 1].seconds).toBeLessThan(8 + 3);
  }, 60_000);

  it('shows progress while the first update is still being played', async () => {
    const { code, out, lines } = await trainGoofspiel('--batch', '10000000', '--seconds', '2');
    expect(code, out).toBe(0);
    const uniform = lines.findIndex((l) => /0 episodes {2}exploitability 2\.50000 {2}\(the uniform policy\)/.test(l));
    const progress = lines.findIndex((l) => /^ +[\d,]+ episodes {2}\(update 1: [\d,]+ of 10,000,000 played, [\d,]+ episodes\/s\)$/.test(l));
    expect(uniform, out).toBeGreaterThanOrEqual(0);
    expect(progress, out).toBeGreaterThan(uniform);
    // The line comes while the first update is under way: part of its 10 million episodes played (no wall-clock bound: CI machines are slow and shared).
    const played = Number(/update 1: ([\d,]+) of/.exec(lines[progress])![1].replace(/,/g, ''));
    expect(played).toBeGreaterThan(0);
    expect(played).toBeLessThan(10_000_000);
    // --seconds cut the update short: it learned from the episodes played.
    expect(out).toMatch(/\n[\d,]+ episodes in [\d.]+ s: exploitability of the average policy \d\.\d+/);
    expect(out).not.toContain('10,000,000 episodes in');
  }, 60_000);
});
