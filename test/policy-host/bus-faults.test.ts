import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readEpisodes } from '../../src/episodes/reader.ts';
import { natsPerTest } from '../trainer/nats-per-test.ts';
import { python, testHost } from './host-fixture.ts';

const ROOT = join(import.meta.dirname, '../..');
const fixture = testHost('selfplay-bus-faults-', ['--seed', '4']);

/** What each process started here wrote to stderr, for a test that fails. */
const stderrs = new Map<ChildProcess, string>();
const selfplay = (...args: string[]): ChildProcess => {
  const child = spawn(process.execPath, ['bin/selfplay.js', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  stderrs.set(child, '');
  child.stderr!.on('data', (chunk) => stderrs.set(child, stderrs.get(child) + String(chunk)));
  return child;
};
const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const { children, start: startNats } = natsPerTest();

describe('a run over NATS JetStream through kills', () => {
  it('trains every match once when an actor, the server and the learner are SIGKILLed (the server restarted, the learner resumed)', async () => {
    const server = await startNats();
    const { url } = server;
    const out = join(fixture.dir, 'killed-bus-run');
    const metrics = join(out, 'metrics.jsonl');
    const rows = () => (existsSync(metrics) ? readFileSync(metrics, 'utf8').split('\n').filter(Boolean).length : 0);
    // Generous on a loaded machine; what the processes wrote says why when it is not enough.
    const until = async (done: () => boolean, what: string) => {
      for (let i = 0; i < 1500 && !done(); i++) await sleep(100);
      if (!done()) throw new Error(`no ${what} after 150 s; stderr: ${JSON.stringify([...stderrs.values()])}`);
    };
    // Actors wait as long for a learner that starts slowly.
    const actor = () => selfplay('actor', '--bus', url, '--run', 'faults', '--concurrency', '4', '--wait', '150');
    const learnerArgs = ['train-llm', 'kuhn-poker', '--tinker', fixture.host.url, '--python', python, '--bus', url, '--run', 'faults', '--lease', '1', '--ack-wait', '2', '--games', '8', '--eval-games', '0', '--rate-games', '0', '--exact-every', '0', '--keep-episodes', '1000', '--out', out];
    children.push(actor(), actor());
    const learner = selfplay(...learnerArgs, '--iterations', '10');
    children.push(learner);
    // An actor killed mid-run: the matches it held go to the others after the ack wait (2 s here).
    await until(() => rows() >= 2, 'second update');
    children[0].kill('SIGKILL');
    children.push(actor());
    // The server killed and started again on its store: everyone reconnects, nothing stored is lost.
    await until(() => rows() >= 3, 'third update');
    await server.restart();
    // The learner killed mid-run.
    await until(() => rows() >= 5, 'fifth update');
    learner.kill('SIGKILL');
    await exited(learner);
    await sleep(1200); // its hold on the run lapses
    const state = JSON.parse(readFileSync(join(out, 'checkpoints/state.json'), 'utf8'));
    const resumed = selfplay('train-llm', '--resume', out, '--tinker', fixture.host.url, '--python', python, '--bus', url, '--run', 'faults', '--lease', '1', '--ack-wait', '2', '--iterations', String(state.state.iteration + 4));
    children.push(resumed);
    expect(await exited(resumed)).toBe(0);
    expect(stderrs.get(resumed)).not.toMatch(/Error/);
    const final = JSON.parse(readFileSync(join(out, 'checkpoints/state.json'), 'utf8')).state;
    expect(final.iteration).toBe(state.state.iteration + 4);
    // Every update's episodes are in the file (--keep-episodes 1000), cut back to each checkpoint on resume.
    const trained: string[] = [];
    for await (const episode of readEpisodes(join(out, 'episodes.msgpack'))) trained.push(episode.id);
    // Exactly once: no match trained twice...
    expect(new Set(trained).size).toBe(trained.length);
    // ...and none lost: every match of every batch planned was trained, or is still out at the last checkpoint.
    const out_ = new Set(final.outstanding.map((o: { job: { id: string } }) => o.job.id));
    const planned = Array.from({ length: final.batches }, (_, b) => Array.from({ length: 8 }, (_, i) => `u${b + 1}-self-${i}`)).flat();
    const lost = planned.filter((id) => !trained.includes(id) && !out_.has(id));
    expect(lost).toEqual([]);
  }, 480_000);
});
