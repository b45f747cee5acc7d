import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../cli/run-cli.ts';
import { faultedTrainingRun } from './bus-train-faults.ts';
import { natsPerTest } from './nats-per-test.ts';

const ROOT = join(import.meta.dirname, '../..');

const { children, start: startNats } = natsPerTest();

const fresh = () => mkdtempSync(join(tmpdir(), 'selfplay-train-bus-'));
const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));

describe('selfplay train --bus: tabular self-play with actors in other processes', () => {
  it('trains Kuhn poker with two actor processes, the same policy as with actors in the learner, and refuses what it cannot do', async () => {
    const server = await startNats();
    const dir = fresh();
    const train = ['--episodes', '300000', '--batch', '5000', '--chunk', '500', '--seed', '5', '--eval-matches', '0', '--json'];
    const actors = [0, 1].map(() => spawn(process.execPath, ['bin/selfplay.js', 'actor', '--bus', server.url, '--run', 'two', '--concurrency', '3', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
    children.push(...actors);
    const learner = await runCli('train', 'kuhn-poker', ...train, '--bus', server.url, '--run', 'two', '--out', join(dir, 'two'));
    // A setup request a busy server answers late is asked again, with a line saying so: not an error.
    expect(learner.err.replace(/^.*asking again \(try \d of \d\)\n/gm, '')).toBe('');
    expect(learner.code).toBe(0);
    const summary = JSON.parse(learner.out);
    expect(summary).toMatchObject({ episodes: 300_000, bus: { run: 'two', chunksRetried: 0 } });
    // Kuhn's uniform policy is 0.458 from equilibrium.
    expect(summary.exploitability).toBeLessThan(0.1);
    const played = await Promise.all(
      actors.map(async (child) => {
        let out = '';
        child.stdout!.on('data', (chunk) => (out += String(chunk)));
        child.kill('SIGINT');
        expect(await exited(child)).toBe(0);
        return JSON.parse(out) as { run: string; game: string; jobs: number };
      }),
    );
    expect(played.map((p) => [p.run, p.game])).toEqual([['two', 'kuhn-poker'], ['two', 'kuhn-poker']]);
    // 10 chunks of 500 a batch at first; the batch grows with the updates.
    expect(played.reduce((n, p) => n + p.jobs, 0)).toBeGreaterThanOrEqual(300_000 / 500);
    // The actors in the learner's process (on a connection of their own), on another run: the same episodes, the same policy.
    const local = await runCli('train', 'kuhn-poker', ...train, '--bus', server.url, '--run', 'local', '--local-actors', '2', '--out', join(dir, 'local'));
    expect(local.code).toBe(0);
    expect(readFileSync(join(dir, 'local', 'policy.json'), 'utf8')).toBe(readFileSync(join(dir, 'two', 'policy.json'), 'utf8'));

    const pool = await runCli('train', 'kuhn-poker', '--bus', server.url, '--opponents', 'pool-uniform', '--out', join(dir, 'pool'));
    expect(pool.code).toBe(2);
    expect(pool.err).toMatch(/actors elsewhere play self-play only, not --opponents pool-uniform/);
    const badChunk = await runCli('train', 'kuhn-poker', '--bus', server.url, '--chunk', '100001');
    expect(badChunk.err).toMatch(/--chunk must be at most 100,000/);
    const unreachable = await runCli('train', 'kuhn-poker', '--bus', 'nats://127.0.0.1:1', '--out', join(dir, 'unreachable'));
    expect(unreachable.code).toBe(2);
    expect(unreachable.err).toMatch(/cannot reach the NATS server at nats:\/\/127.0.0.1:1/);
  }, 120_000);

  it('ends with the same policy, bit for bit, when actors, the learner and the server are SIGKILLed along the way', async () => {
    const run = await faultedTrainingRun({
      dir: fresh(),
      game: 'leduc-poker',
      train: ['--episodes', '1200000', '--batch', '20000', '--batch-growth', '1000000', '--chunk', '1000', '--seed', '11'],
      actors: 2,
      actorKills: 2,
      learnerKills: 1,
      serverRestarts: 1,
      track: (child) => children.push(child),
    });
    expect(run.events).toHaveLength(4);
    // Every update once, in order, in the faulted run's metrics: the resumed learner cut off what its killed one wrote after its checkpoint.
    expect(run.faulted.updates).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(run.faulted.summary).toMatchObject({ episodes: 1_200_000, updates: 60 });
    expect(run.faulted.policy).toBe(run.reference.policy);
    expect(run.faulted.policyLast).toBe(run.reference.policyLast);
  }, 180_000);
});
