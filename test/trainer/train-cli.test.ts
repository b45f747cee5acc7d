import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kuhnPoker } from '../../games/index.ts';
import { evaluatePolicy, loadPolicy } from '../../src/analysis/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { readEpisodes } from '../../src/episodes/index.ts';
import { FastTrainer } from '../../src/trainer/fast-loop.ts';

const run = runCli;

const fresh = () => join(mkdtempSync(join(tmpdir(), 'selfplay-train-')), 'run');

/** Starts `selfplay train` as its own process; resolves when `ready(dir)` holds. */
function startTraining(dir: string, ready: () => boolean, ...extra: string[]) {
  return startSelfplay(ready, 'train', 'kuhn-poker', '--out', dir, '--episodes', '10000000000', '--eval-matches', '0', ...extra);
}

/** Starts `selfplay ARGS` as its own process; `started` resolves when `ready()` holds. */
function startSelfplay(ready: () => boolean, ...args: string[]) {
  const child = spawn(process.execPath, ['bin/selfplay.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
  const started = new Promise<void>((resolve, reject) => {
    const poll = setInterval(() => {
      if (ready()) {
        clearInterval(poll);
        resolve();
      }
    }, 50);
    exited.then(() => {
      clearInterval(poll);
      reject(new Error(`training exited early: ${output}`));
    });
  });
  return { child, exited, started, output: () => output };
}

describe('selfplay train', () => {
  it('trains, writes the run folder and evaluates the learned policy', async () => {
    const dir = fresh();
    const { code, out } = await run('train', 'kuhn-poker', '--out', dir, '--episodes', '400000', '--eval-matches', '200', '--json');
    expect(code).toBe(0);
    const summary = JSON.parse(out);
    expect(summary).toMatchObject({ game: 'kuhn-poker', algorithm: 'rae', episodes: 400_000, interrupted: false });
    expect(summary.exploitability).toBeLessThan(11 / 24 / 3);
    expect(summary.evaluation.map((r: { opponent: string }) => r.opponent)).toEqual(['random', 'cfr']);

    const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(rows[0]).toMatchObject({ update: 1, version: 1 });
    expect(rows.every((r) => typeof r.episodes === 'number' && typeof r.seconds === 'number' && typeof r.version === 'number')).toBe(true);
    expect(rows.some((r) => typeof r.exploitability === 'number' && typeof r.exploitabilityLast === 'number')).toBe(true);

    const policy = await loadPolicy(join(dir, 'policy.json'), kuhnPoker());
    expect(evaluatePolicy(kuhnPoker(), policy.policy).exploitability).toBeCloseTo(summary.exploitability, 9);
    let episodes = 0;
    for await (const episode of readEpisodes(join(dir, 'episodes.msgpack'))) {
      expect(episode.players[0].policy?.id).toBe('kuhn-poker/tabular-softmax');
      episodes++;
    }
    expect(episodes).toBeGreaterThan(10);
    const report = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(report).toContain('uPlot');
    expect(report).toContain('Exploitability');
    expect(report).not.toMatch(/<script src=/);
  });

  it('prints exploitability as it falls from the uniform policy', async () => {
    const { out } = await run('train', 'kuhn-poker', '--out', fresh(), '--episodes', '300000', '--eval-matches', '0');
    expect(out).toMatch(/ 0 episodes {2}exploitability 0\.45833 {2}\(the uniform policy\)/);
    expect(out).toMatch(/300,000 episodes in [\d.]+ s: exploitability of the average policy 0\.\d+/);
  });

  it('refuses to overwrite a run, and resumes one', async () => {
    const dir = fresh();
    await run('train', 'kuhn-poker', '--out', dir, '--episodes', '100000', '--eval-matches', '0');
    const again = await run('train', 'kuhn-poker', '--out', dir);
    expect(again.code).toBe(2);
    expect(again.err).toMatch(/already holds a run; pass --resume .* to continue it .*, or choose another --out/);
    const resumed = JSON.parse((await run('train', '--resume', dir, '--episodes', '200000', '--json')).out);
    expect(resumed.episodes).toBe(200_000);
    expect((await run('train', 'leduc-poker', '--resume', dir)).err).toMatch(/is a run of kuhn-poker, not leduc-poker/);
    expect((await run('train', '--resume', fresh())).err).toMatch(/cannot resume from .*: run\.json is missing/);
    expect((await run('train', 'kuhn-poker', '--algo', 'ppo')).err).toMatch(/--algo must be one of rae, grpo, rloo/);
  });

  it('makes no run folder for a run it refuses, so the corrected run can take the same --out', async () => {
    const dir = fresh();
    // Refused after the game is loaded and the settings are known, before anything is connected to or written.
    const refused = await run('train', 'kuhn-poker', '--out', dir, '--bus', 'nats://127.0.0.1:1', '--opponents', 'pool-uniform');
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/actors elsewhere play self-play only, not --opponents pool-uniform/);
    expect(existsSync(dir)).toBe(false);
    const corrected = await run('train', 'kuhn-poker', '--out', dir, '--opponents', 'pool-uniform', '--episodes', '20000', '--eval-matches', '0', '--json');
    expect(corrected.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'))).toMatchObject({ game: 'kuhn-poker', opponents: 'pool-uniform' });
  });

  it('Ctrl-C stops at the next update with a checkpoint and a report', async () => {
    const dir = fresh();
    const training = startTraining(dir, () => existsSync(join(dir, 'metrics.jsonl')));
    await training.started;
    training.child.kill('SIGINT');
    expect(await training.exited).toBe(0);
    expect(training.output()).toMatch(/stopped: checkpoint written; continue with {2}selfplay train --resume/);
    const state = JSON.parse(readFileSync(join(dir, 'checkpoints/state.json'), 'utf8'));
    expect(new FastTrainer(kuhnPoker(), { episodes: 1 }, state).updates).toBeGreaterThan(0);
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
  });

  it('killed outright, leaves its last checkpoint loadable and resumable', async () => {
    const dir = fresh();
    const training = startTraining(dir, () => existsSync(join(dir, 'checkpoints/state.json')), '--checkpoint-every', '1');
    await training.started;
    await new Promise((r) => setTimeout(r, 300));
    training.child.kill('SIGKILL');
    await training.exited;
    const state = JSON.parse(readFileSync(join(dir, 'checkpoints/state.json'), 'utf8'));
    const trainer = new FastTrainer(kuhnPoker(), { episodes: state.episodes + 50_000 }, state);
    await trainer.run();
    expect(trainer.episodes).toBe(state.episodes + 50_000);
    const resumed = await run('train', '--resume', dir, '--episodes', String(state.episodes + 50_000), '--json');
    expect(resumed.code).toBe(0);
  });

  it('killed before its first checkpoint and after later ones, resumes to the outputs of a run never killed', async () => {
    const episodes = '3000000';
    const reference = fresh();
    expect((await run('train', 'kuhn-poker', '--out', reference, '--episodes', episodes, '--eval-matches', '0', '--json')).code).toBe(0);

    const dir = fresh();
    const rows = () => (existsSync(join(dir, 'metrics.jsonl')) ? readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').length - 1 : 0);
    const kill = async (training: ReturnType<typeof startSelfplay>) => {
      await training.started;
      training.child.kill('SIGKILL');
      await training.exited;
    };
    // Killed before any checkpoint: the folder holds its settings and some metrics, and resumes from the start.
    await kill(startSelfplay(() => rows() >= 3, 'train', 'kuhn-poker', '--out', dir, '--episodes', episodes, '--eval-matches', '0', '--checkpoint-every', '1000000'));
    expect(existsSync(join(dir, 'checkpoints/state.json'))).toBe(false);
    // Then killed after checkpoints, with updates and episodes written past the last one.
    for (const extra of [5, 40, 90]) {
      const before = rows();
      await kill(startSelfplay(() => existsSync(join(dir, 'checkpoints/state.json')) && rows() >= before + extra, 'train', '--resume', dir, '--checkpoint-every', '7'));
    }
    const resumed = await run('train', '--resume', dir, '--json');
    expect(resumed.code).toBe(0);
    const summary = JSON.parse(resumed.out);

    const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).update);
    expect(metrics).toEqual(Array.from({ length: summary.updates }, (_, i) => i + 1));
    const ids: string[] = [];
    for await (const episode of readEpisodes(join(dir, 'episodes.msgpack'))) ids.push(episode.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(2 * summary.updates);
    expect(readFileSync(join(dir, 'episodes.msgpack')).equals(readFileSync(join(reference, 'episodes.msgpack')))).toBe(true);
    expect(readFileSync(join(dir, 'policy.json'), 'utf8')).toBe(readFileSync(join(reference, 'policy.json'), 'utf8'));
    expect(readFileSync(join(dir, 'policy-last.json'), 'utf8')).toBe(readFileSync(join(reference, 'policy-last.json'), 'utf8'));
  }, 120_000);
});

describe('selfplay train-llm', () => {
  it('makes no run folder for a game or environment run it refuses, before it reaches the host', async () => {
    // Nothing listens on port 9: each run is refused on its settings before any connection.
    const refusals: [string[], RegExp][] = [
      [['kuhn-poker', '--eval-opponent', 'oracle'], /unknown agent "oracle"/],
      [['kuhn-poker', '--opponents', 'self:0.5,oracle:0.5'], /unknown agent "oracle"/],
      [['kuhn-poker', '--objective', 'exact-mmd', '--model-tokenizer', 'no-such-folder'], /no-such-folder: no such folder; expected a model folder with tokenizer\.json/],
      [['--env', 'self-play-critic', '--role', 'sneaky-generator=scripted', '--objective', 'all-choices', '--model-tokenizer', 'no-such-folder'], /no-such-folder: no such folder/],
      [['--env', 'self-play-critic', '--param', 'level=9'], /level must be a whole number from 1 to 4, not "9"/],
      [['--env', 'self-play-critic', '--curriculum', 'sec'], /self-play-critic has no task categories to choose among/],
      [['--env', 'spin', '--spin-beta', '0'], /--spin-beta must be above 0, not 0/],
      [['--env', 'teacher-student', '--soar-student', 'host', '--student-lr', '0'], /--student-lr must be above 0, not 0/],
    ];
    for (const [args, message] of refusals) {
      const dir = fresh();
      const refused = await run('train-llm', ...args, '--tinker', 'http://127.0.0.1:9', '--out', dir);
      expect(refused.err, args.join(' ')).toMatch(message);
      expect(refused.code).toBe(2);
      expect(existsSync(dir), args.join(' ')).toBe(false);
    }
  });
});
