import { availableParallelism } from 'node:os';
import { PolicyHostClient, startPolicyHost, TinkerClient } from '../agents/hosted/index.ts';
import { createSelfPlayCritic } from '../environments/self-play-critic/index.ts';
import { kuhnPoker } from '../games/index.ts';
import { trainEnvironment, type EnvIteration } from '../src/trainer/env-loop.ts';
import { TinkerBackend } from '../src/trainer/tinker-backend.ts';
import { trainHosted, type HostedIteration } from '../src/trainer/hosted-loop.ts';
import { cpuSeconds, median, table } from './measure.ts';

/** A run's result, and the CPU cores it kept busy: the host's and this process's CPU seconds over its wall time. */
interface Measured<T> {
  readonly result: T;
  readonly cores: number;
}

/** A fresh reference host and a model on it, for one run; both end with the run. */
async function onFreshHost<T>(train: (backend: TinkerBackend) => Promise<T>, epochs = 1): Promise<Measured<T>> {
  const host = await startPolicyHost({ python: process.env.SELFPLAY_PYTHON ?? '/usr/bin/python3', args: ['--guided-choice-scoring', 'mean', ...(process.env.POLICY_HOST_ARGS ?? '').split(/\s+/).filter(Boolean)] });
  const tinker = await TinkerClient.connect(host.url);
  try {
    const backend = await TinkerBackend.start(tinker, new PolicyHostClient(host.url), { baseModel: 'tiny' }, { learningRate: 3e-3, loss: 'ppo', ratioCap: 2, epochs });
    const cpu = () => cpuSeconds(host.pid) + cpuSeconds(process.pid);
    const [started, cpuBefore] = [performance.now(), cpu()];
    const result = await train(backend);
    return { result, cores: (cpu() - cpuBefore) / ((performance.now() - started) / 1000) };
  } finally {
    tinker.close();
    await host.close();
  }
}

/** One Kuhn self-play run of `seconds`, as `selfplay train-llm kuhn-poker --max-staleness K` runs it (mmd, 8 epochs, every version evaluated exactly). */
function run(maxStaleness: number, seconds: number): Promise<Measured<HostedIteration[]>> {
  return onFreshHost((backend) => trainHosted({ game: kuhnPoker(), backend, objective: 'mmd', maxStaleness, seconds, gamesPerIteration: 256, concurrency: 32, seed: 0, exactEvery: 1 }), 8);
}

/** The Kuhn target: the exact exploitability of the sampling policy at most 0.10. */
const KUHN_TARGET = 0.1;

/** One self-play-critic run of `seconds` (both roles learning), as `selfplay train-llm --env self-play-critic --max-staleness K` runs it. */
function runEnvironment(maxStaleness: number, seconds: number): Promise<Measured<EnvIteration[]>> {
  return onFreshHost((backend) => trainEnvironment({ environment: createSelfPlayCritic({ steps: 2, level: 1 }), backend, maxStaleness, seconds, matchesPerIteration: 128, seed: 0 }));
}

/**
 * Synchronous (K = 0) against asynchronous (K = 2) training of the reference
 * host's tiny model by Kuhn self-play, the same wall time each, one after the
 * other on fresh hosts (and the same pair for an environment, self-play-critic): the samples trained on (and their ratio), the share of
 * the time the host sampled or trained, the age of the versions that played
 * the trained matches, and the last version's exact exploitability. Seconds
 * per run: SELFPLAY_BENCH_SECONDS (default 60).
 */
export async function benchTrainLlm(): Promise<string> {
  const seconds = Number(process.env.SELFPLAY_BENCH_SECONDS ?? 60);
  const runs = [
    { mode: 'synchronous (K = 0)', ...(await run(0, seconds)) },
    { mode: 'asynchronous (K = 2)', ...(await run(2, seconds)) },
  ];
  const samples = (its: HostedIteration[]) => its.reduce((n, it) => n + it.samples, 0);
  const base = samples(runs[0].result);
  const rows = runs.map(({ mode, result: iterations, cores }) => {
    const reached = iterations.findIndex((it) => it.exploitability! <= KUHN_TARGET);
    return {
      run: mode,
      steps: iterations.length,
      'samples trained': samples(iterations),
      'x synchronous': samples(iterations) / base,
      'host busy (median of steps)': median(iterations.flatMap((it) => (it.hostBusy === undefined ? [] : [it.hostBusy]))),
      'CPU cores used': cores,
      'median age of played versions': median(iterations.map((it) => it.ageMedian)),
      seconds: iterations.at(-1)!.seconds,
      [`first exploitability <= ${KUHN_TARGET} (s)`]: reached < 0 ? NaN : iterations[reached].seconds,
      'highest after it': reached < 0 ? NaN : Math.max(...iterations.slice(reached).map((it) => it.exploitability!)),
      'exploitability at the end': iterations.at(-1)!.exploitability!,
    };
  });
  const environmentRuns = [
    { mode: 'synchronous (K = 0)', ...(await runEnvironment(0, seconds)) },
    { mode: 'asynchronous (K = 2)', ...(await runEnvironment(2, seconds)) },
  ];
  const envSamples = (its: EnvIteration[]) => its.reduce((n, it) => n + it.samples, 0);
  const envRows = environmentRuns.map(({ mode, result: iterations, cores }) => ({
    run: mode,
    steps: iterations.length,
    'samples trained': envSamples(iterations),
    'x synchronous': envSamples(iterations) / envSamples(environmentRuns[0].result),
    'CPU cores used': cores,
    'median age of played versions': median(iterations.map((it) => it.ageMedian)),
    seconds: iterations.at(-1)!.seconds,
  }));
  return (
    `${table(rows)}\n\nKuhn poker self-play, 256 games a step, 32 in flight, magnetic mirror descent (8 epochs fitting each step's targets; train-llm's defaults), every version's exact exploitability, ${seconds} s a run (steps start until then), one run each on a fresh host, synchronous first (x synchronous: samples trained over the synchronous run's; host busy: the share of each step's time the host spent sampling or training; age: updates between the version that played a match and the weights it trained; CPU cores used: the host's and the trainer's CPU seconds over the run's wall time, of the machine's ${availableParallelism()})` +
    `\n\n${table(envRows)}\n\nself-play-critic (2 operations, level 1; sneaky generator and critic both the model), 128 matches a step, 8 in play, the same settings and wall time`
  );
}
