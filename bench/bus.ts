import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { createPlayer } from '../agents/index.ts';
import { kuhnPoker } from '../games/index.ts';
import { playMatch } from '../src/runtime/index.ts';
import { InProcessLink, runActors, type ActorLearnerLink, type MatchJob, type PolicyVersion } from '../src/trainer/actor-learner.ts';
import { FastTrainer } from '../src/trainer/fast-loop.ts';
import { connectNatsLink } from '../src/trainer/nats-link.ts';
import { BusPlay, runTabularActors, tabularJobSchema, terminalsCodec } from '../src/trainer/tabular-bus.ts';
import { startNats } from '../test/trainer/nats-server.ts';
import { median, table } from './measure.ts';

const game = kuhnPoker();
const players = [createPlayer('random', game), { ...createPlayer('random', game), name: 'random #2' }];
const spec = z.object({});
const jobs = (from: number, n: number): MatchJob<Record<string, never>>[] => Array.from({ length: n }, (_, i) => ({ id: `m${from + i}`, seed: from + i, index: from + i, spec: {} }));

/**
 * Kuhn matches of random agents through a link for `seconds`: the learner
 * keeps `outstanding` jobs handed out and counts the reports it receives;
 * every `publishEveryMs` it publishes a version and each actor notes when it
 * first starts a match with it. Returns reports per second and the
 * publish-to-first-match delays (ms).
 */
async function measure(learner: ActorLearnerLink<Record<string, never>>, actorLinks: readonly ActorLearnerLink<Record<string, never>>[], seconds: number) {
  const stop = new AbortController();
  const publishedAt = new Map<number, number>();
  const delays: number[] = [];
  const seen = actorLinks.map(() => new Set<number>());
  const actors = actorLinks.map((link, a) =>
    runActors(link, {
      concurrency: 8,
      signal: stop.signal,
      play: (job, version: PolicyVersion) => {
        if (!seen[a].has(version.version)) {
          seen[a].add(version.version);
          const at = publishedAt.get(version.version);
          if (at !== undefined) delays.push(performance.now() - at);
        }
        return playMatch({ game, players, seed: job.seed, matchId: job.id });
      },
    }),
  );
  let version = 0;
  publishedAt.set(0, performance.now());
  await learner.publish({ model: 'p@0', version: 0 });
  let next = 0;
  const outstanding = 2000;
  await learner.handOut(jobs(next, outstanding));
  next += outstanding;
  const started = performance.now();
  let received = 0;
  let lastPublish = started;
  while (performance.now() - started < seconds * 1000) {
    const report = await learner.nextReport();
    if (!report) break;
    received++;
    if (received % 500 === 0) {
      await learner.handOut(jobs(next, 500));
      next += 500;
    }
    if (performance.now() - lastPublish >= 200) {
      lastPublish = performance.now();
      publishedAt.set(++version, lastPublish);
      await learner.publish({ model: `p@${version}`, version });
    }
  }
  const elapsed = (performance.now() - started) / 1000;
  stop.abort();
  await Promise.all(actors);
  const sorted = delays.sort((a, b) => a - b);
  return { perSecond: received / elapsed, p50: median(sorted), p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))], versions: version };
}

const self = fileURLToPath(import.meta.url);
const runTs = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url));
/** Wall-clock milliseconds with sub-millisecond precision, comparable between processes on one machine. */
const now = () => performance.timeOrigin + performance.now();

/** An actor process on the bus: plays random Kuhn matches and prints, for each version, when it first started a match with it. */
async function actorProcess(url: string): Promise<void> {
  const link = await connectNatsLink({ url, run: 'bench-processes', side: 'actor', spec });
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  const seen = new Set<number>();
  await runActors(link, {
    concurrency: 8,
    signal: stop.signal,
    play: (job, version) => {
      if (!seen.has(version.version)) {
        seen.add(version.version);
        console.log(JSON.stringify({ version: version.version, at: now() }));
      }
      return playMatch({ game, players, seed: job.seed, matchId: job.id });
    },
  });
  await link.close();
}

/** Two actor processes and this process's learner on the bus: episodes/s and the delay from each publish to each actor's first match with it. */
async function measureProcesses(url: string, seconds: number) {
  const learner = await connectNatsLink({ url, run: 'bench-processes', side: 'learner', spec });
  const firstSeen: { version: number; at: number }[] = [];
  const actors: ChildProcess[] = [0, 1].map(() => spawn(process.execPath, [runTs, self, '--actor', url], { stdio: ['ignore', 'pipe', 'inherit'] }));
  for (const child of actors) createInterface({ input: child.stdout! }).on('line', (line) => firstSeen.push(JSON.parse(line)));
  try {
    const publishedAt = new Map<number, number>([[0, now()]]);
    await learner.publish({ model: 'p@0', version: 0 });
    let next = 0;
    await learner.handOut(jobs(next, 2000));
    next += 2000;
    // The actors start (a process each): time from their first report on.
    await learner.nextReport();
    const started = performance.now();
    let received = 0;
    let version = 0;
    let lastPublish = started;
    while (performance.now() - started < seconds * 1000) {
      if (!(await learner.nextReport())) break;
      if (++received % 500 === 0) {
        await learner.handOut(jobs(next, 500));
        next += 500;
      }
      if (performance.now() - lastPublish >= 200) {
        lastPublish = performance.now();
        publishedAt.set(++version, now());
        await learner.publish({ model: `p@${version}`, version });
      }
    }
    const elapsed = (performance.now() - started) / 1000;
    const delays = firstSeen.filter((s) => s.version > 0 && publishedAt.has(s.version)).map((s) => s.at - publishedAt.get(s.version)!).sort((a, b) => a - b);
    return { perSecond: received / elapsed, p50: median(delays), p99: delays[Math.min(delays.length - 1, Math.floor(delays.length * 0.99))], versions: version };
  } finally {
    for (const child of actors) child.kill('SIGTERM');
    await Promise.all(actors.map((child) => new Promise((done) => (child.exitCode !== null ? done(null) : child.once('exit', done)))));
    await learner.close();
  }
}

/** A tabular actor process on the bus: plays chunks of Kuhn self-play and prints, for each version, when it first reported a chunk played with it. */
async function tabularActorProcess(url: string): Promise<void> {
  const link = await connectNatsLink({ url, run: 'bench-tabular', side: 'actor', spec: tabularJobSchema, result: terminalsCodec });
  const stop = new AbortController();
  process.once('SIGTERM', () => stop.abort());
  const seen = new Set<number>();
  console.log(JSON.stringify({ ready: true }));
  await runTabularActors(link, {
    game,
    concurrency: 4,
    signal: stop.signal,
    onReport: (report) => {
      if ('error' in report || seen.has(report.version)) return;
      seen.add(report.version);
      console.log(JSON.stringify({ version: report.version, at: now() }));
    },
  });
  await link.close();
}

/** Kuhn self-play trained for `seconds` here, and then by a learner here with two actor processes on the bus: episodes/s, and the delay from each version's publish to each actor's first chunk played with it. */
async function measureTabular(url: string, seconds: number) {
  const local = await new FastTrainer(game, { episodes: 1e12, seconds, evaluateEvery: 1e9 }).run();
  const learner = await connectNatsLink({ url, run: 'bench-tabular', side: 'learner', spec: tabularJobSchema, result: terminalsCodec });
  const firstSeen: { version: number; at: number }[] = [];
  const actors: ChildProcess[] = [0, 1].map(() => spawn(process.execPath, [runTs, self, '--tabular-actor', url], { stdio: ['ignore', 'pipe', 'inherit'] }));
  try {
    await Promise.all(
      actors.map(
        (child) =>
          new Promise<void>((ready) =>
            createInterface({ input: child.stdout! }).on('line', (line) => {
              const message = JSON.parse(line);
              if (message.ready) ready();
              else firstSeen.push(message);
            }),
          ),
      ),
    );
    const publishedAt = new Map<number, number>();
    const remote = new BusPlay(learner, { model: 'kuhn-poker/tabular-softmax', chunk: 1000, onPublished: (version) => publishedAt.set(version.version, now()) });
    const bus = await new FastTrainer(game, { episodes: 1e12, seconds, evaluateEvery: 1e9, remote }).run();
    const delays = firstSeen.filter((s) => publishedAt.has(s.version)).map((s) => s.at - publishedAt.get(s.version)!).sort((a, b) => a - b);
    return { local: local!.episodesPerSecond, bus: bus!.episodesPerSecond, p50: median(delays), p99: delays[Math.min(delays.length - 1, Math.floor(delays.length * 0.99))], versions: publishedAt.size };
  } finally {
    for (const child of actors) child.kill('SIGTERM');
    await Promise.all(actors.map((child) => new Promise((done) => (child.exitCode !== null ? done(null) : child.once('exit', done)))));
    await learner.close();
  }
}

/**
 * The actor/learner link over NATS JetStream against the in-process one:
 * random Kuhn matches played by two actors (8 matches in flight each) and
 * received by the learner, with a new version published every 200 ms.
 * Seconds per measurement: SELFPLAY_BENCH_SECONDS (default 10).
 */
export async function benchBus(): Promise<string> {
  const seconds = Number(process.env.SELFPLAY_BENCH_SECONDS ?? 10);
  const rows: Record<string, string | number>[] = [];
  const inProcess = new InProcessLink<Record<string, never>>({ model: 'p@0', version: 0 });
  const local = await measure(inProcess, [inProcess, inProcess], seconds);
  await inProcess.close();
  rows.push({ link: 'in-process', 'episodes/s at the learner': local.perSecond, 'x in-process': 1, 'version to actors p50 (ms)': local.p50, p99: local.p99, versions: local.versions });
  const nats = await startNats();
  let tabular: Awaited<ReturnType<typeof measureTabular>>;
  try {
    const learner = await connectNatsLink({ url: nats.url, run: 'bench', side: 'learner', spec });
    const actors = await Promise.all([0, 1].map(() => connectNatsLink({ url: nats.url, run: 'bench', side: 'actor', spec })));
    const bus = await measure(learner, actors, seconds);
    await Promise.all([learner, ...actors].map((link) => link.close()));
    rows.push({ link: 'NATS JetStream', 'episodes/s at the learner': bus.perSecond, 'x in-process': bus.perSecond / local.perSecond, 'version to actors p50 (ms)': bus.p50, p99: bus.p99, versions: bus.versions });
    const processes = await measureProcesses(nats.url, seconds);
    rows.push({ link: 'NATS JetStream, actors in 2 processes', 'episodes/s at the learner': processes.perSecond, 'x in-process': processes.perSecond / local.perSecond, 'version to actors p50 (ms)': processes.p50, p99: processes.p99, versions: processes.versions });
    tabular = await measureTabular(nats.url, seconds);
  } finally {
    await nats.stop();
  }
  const trained = [
    { training: 'in-process (selfplay train)', 'episodes/s trained': tabular.local, 'x in-process': 1, 'version to actors p50 (ms)': '', p99: '', versions: '' },
    { training: 'learner + 2 actor processes over NATS (train --bus)', 'episodes/s trained': tabular.bus, 'x in-process': tabular.bus / tabular.local, 'version to actors p50 (ms)': tabular.p50, p99: tabular.p99, versions: tabular.versions },
  ];
  return `${table(rows)}

Random Kuhn matches, two actors with 8 in flight each, in this process (the NATS actors on connections of their own) or in two processes of their own, ${seconds} s each; a version published every 200 ms (version to actors: from its publish to the first match an actor starts with it)

${table(trained)}

Kuhn poker tabular self-play for ${seconds} s each: episodes trained on per second, from the first update's start to the last update's end (over NATS, each update's batch played as chunks of 1,000 episodes by two actor processes with 4 chunks in play each, and sent back as terminal nodes); version to actors: from a version's publish to each actor's first report of a chunk played with it`;
}

// `node bin/run-ts.js bench/bus.ts --actor URL` is one actor process of measureProcesses.
if (process.argv[1] && resolve(process.argv[1]) === self && process.argv[2] === '--actor') await actorProcess(process.argv[3]);
if (process.argv[1] && resolve(process.argv[1]) === self && process.argv[2] === '--tabular-actor') await tabularActorProcess(process.argv[3]);
