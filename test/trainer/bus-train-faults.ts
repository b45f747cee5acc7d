import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startNats } from './nats-server.ts';

const ROOT = join(import.meta.dirname, '../..');

export interface FaultPlan {
  /** Run folders go under it: `reference` (no faults) and `faulted`. */
  readonly dir: string;
  /** `selfplay train` arguments after the game and before the bus options (episodes, batch, chunk, seed...). */
  readonly train: readonly string[];
  readonly game: string;
  readonly actors: number;
  readonly actorKills: number;
  readonly learnerKills: number;
  readonly serverRestarts: number;
  /** Called with every child process started, so that a caller can kill what is left if it is stopped first. */
  readonly track?: (child: ChildProcess) => void;
  readonly log?: (line: string) => void;
}

export interface FaultRun {
  /** What happened, in order: `actor killed at update 12`, ... */
  readonly events: string[];
  /** Both runs' outputs, to compare: the policies, their final summaries and the metrics' update numbers. */
  readonly reference: RunOutputs;
  readonly faulted: RunOutputs;
  /** Wall time of the faulted run, from its learner's start to its end (the stalls its faults cause included). */
  readonly faultedSeconds: number;
}

export interface RunOutputs {
  readonly policy: string;
  readonly policyLast: string;
  readonly summary: { episodes: number; updates: number; exploitability: number };
  readonly updates: number[];
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function outputs(dir: string, stdout: string): RunOutputs {
  return {
    policy: readFileSync(join(dir, 'policy.json'), 'utf8'),
    policyLast: readFileSync(join(dir, 'policy-last.json'), 'utf8'),
    summary: JSON.parse(stdout),
    updates: readFileSync(join(dir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line).update),
  };
}

/**
 * Runs `selfplay train GAME --bus` twice with the same seed on a fresh
 * nats-server: once with nothing going wrong, and once while actors are
 * SIGKILLed (and replaced), the learner is SIGKILLed (and resumed once its
 * hold on the run lapses), and the server is SIGKILLed and started again on
 * its store, the faults spread over the run by the updates it has made.
 * Each episode is drawn from the run's seed by update and chunk, so a run
 * that lost or doubled any episode would end with another policy.
 */
export async function faultedTrainingRun(plan: FaultPlan): Promise<FaultRun> {
  const nats = await startNats();
  const log = plan.log ?? (() => undefined);
  const children = new Set<ChildProcess>();
  const start = (...args: string[]) => {
    const child = spawn(process.execPath, ['bin/selfplay.js', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (chunk) => (out += String(chunk)));
    child.stderr!.on('data', (chunk) => (err += String(chunk)));
    children.add(child);
    plan.track?.(child);
    child.once('exit', () => children.delete(child));
    return { child, out: () => out, err: () => err };
  };
  try {
    const learnerArgs = (run: string, dir: string) => ['--bus', nats.url, '--run', run, '--lease', '1', '--ack-wait', '1', '--eval-matches', '0', '--checkpoint-every', '3', '--json', '--out', dir];
    const actor = (run: string) => start('actor', '--bus', nats.url, '--run', run, '--concurrency', '2', '--wait', '150');

    const referenceDir = join(plan.dir, 'reference');
    const reference = start('train', plan.game, ...plan.train, ...learnerArgs('reference', referenceDir));
    const referenceActors = Array.from({ length: plan.actors }, () => actor('reference'));
    if ((await exited(reference.child)) !== 0) throw new Error(`the reference run failed: ${reference.err()}`);
    for (const a of referenceActors) a.child.kill('SIGINT');
    await Promise.all(referenceActors.map((a) => exited(a.child)));
    const expected = outputs(referenceDir, reference.out());
    log(`reference: ${expected.summary.updates} updates, ${expected.summary.episodes} episodes`);

    const dir = join(plan.dir, 'faulted');
    const metrics = join(dir, 'metrics.jsonl');
    const updatesWritten = () => (existsSync(metrics) ? readFileSync(metrics, 'utf8').split('\n').filter(Boolean).length : 0);
    const faults: ('actor' | 'learner' | 'server')[] = [
      ...Array<'actor'>(plan.actorKills).fill('actor'),
      ...Array<'learner'>(plan.learnerKills).fill('learner'),
      ...Array<'server'>(plan.serverRestarts).fill('server'),
    ];
    // Each kind spread evenly over the run, the kinds interleaved; the n-th fault at n/(all + 1) of the reference run's updates.
    const order = faults.map((kind, i) => ({ kind, rank: faults.slice(0, i).filter((k) => k === kind).length / faults.filter((k) => k === kind).length })).sort((a, b) => a.rank - b.rank);
    const events: string[] = [];
    const faultedStart = performance.now();
    let learner = start('train', plan.game, ...plan.train, ...learnerArgs('faulted', dir));
    const actors = Array.from({ length: plan.actors }, () => actor('faulted'));
    for (const [i, fault] of order.entries()) {
      const at = Math.max(1, Math.floor(((i + 1) * expected.summary.updates) / (order.length + 1)));
      while (updatesWritten() < at) {
        if (learner.child.exitCode !== null) throw new Error(`the learner stopped before update ${at}: ${learner.err()}`);
        await sleep(5);
      }
      const update = updatesWritten();
      if (fault.kind === 'actor') {
        const victim = actors.shift()!;
        victim.child.kill('SIGKILL');
        await exited(victim.child);
        actors.push(actor('faulted'));
      } else if (fault.kind === 'server') {
        await nats.restart();
      } else {
        learner.child.kill('SIGKILL');
        await exited(learner.child);
        // Its hold on the run lapses (--lease 1) before the resumed learner asks for it.
        await sleep(1200);
        // Without --run and --out: the run's name on the bus is saved with the run.
        const dropped = new Set(['--out', '--run']);
        learner = start('train', '--resume', dir, ...learnerArgs('faulted', dir).filter((arg, k, all) => !dropped.has(arg) && !dropped.has(all[k - 1])));
      }
      events.push(`${fault.kind === 'actor' ? 'actor SIGKILLed' : fault.kind === 'server' ? 'server SIGKILLed and restarted' : 'learner SIGKILLed and resumed'} at update ${update}`);
      log(events.at(-1)!);
    }
    if ((await exited(learner.child)) !== 0) throw new Error(`the faulted run failed: ${learner.err()}`);
    const faultedSeconds = (performance.now() - faultedStart) / 1000;
    for (const a of actors) a.child.kill('SIGINT');
    await Promise.all(actors.map((a) => exited(a.child)));
    return { events, reference: expected, faulted: outputs(dir, learner.out()), faultedSeconds };
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await nats.stop();
  }
}
