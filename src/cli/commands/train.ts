import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { lastValueFrom, toArray } from 'rxjs';
import { randomAgent } from '../../../agents/random.ts';
import { tabularAgent } from '../../../agents/tabular.ts';
import { cfr, policyFile } from '../../analysis/index.ts';
import { ConfigError, type Game } from '../../core/index.ts';
import { openEpisodeWriter, type EpisodeWriter } from '../../episodes/index.ts';
import { runArena, summarize, type Player } from '../../runtime/index.ts';
import { ALGORITHMS, checkFastTraining, FastTrainer, type Algorithm, type FastTrainerState, type OpponentRule, type TrainMetrics } from '../../trainer/fast-loop.ts';
import { renderReport } from '../../trainer/report.ts';
import { metricsRow, prepareRun, type CheckpointMarks, type OutputMarks, type RunFolder } from '../../trainer/run-folder.ts';
import { connectNatsLink, type NatsLink } from '../../trainer/nats-link.ts';
import { BusPlay, terminalsCodec, DEFAULT_CHUNK, MAX_CHUNK, runTabularActors, tabularJobSchema, type TabularJob } from '../../trainer/tabular-bus.ts';
import { defaultBusRun, learnerBusOptions, type TabularRunDescription } from '../bus-run.ts';
import { loadGame } from '../load-game.ts';
import { choice, intOption, numberOption, printJson, type CliIO } from '../output.ts';
import { progressBar } from '../progress.ts';

interface TrainOptions {
  algo: Algorithm;
  episodes: number;
  seconds?: number;
  seed: number;
  out?: string;
  resume?: string;
  batch?: number;
  batchGrowth?: number;
  stepSize: number;
  magnetStrength: number;
  magnetRate: number;
  opponents: OpponentRule;
  evaluateEvery: number;
  checkpointEvery: number;
  keepEpisodes: number;
  evalMatches: number;
  chunk: number;
  bus?: string;
  run?: string;
  localActors?: number;
  ackWait: number;
  lease: number;
  json?: boolean;
}

/** The part of the options that defines the run (saved in run.json, reused on --resume). */
type RunConfig = Omit<TrainOptions, 'out' | 'resume' | 'json' | 'seconds' | BusOption> & { game: string };

/** Where the actors are and how the learner waits for them: this session's, not the run's (the run's name on the bus is the run's: saved). */
const BUS_OPTIONS = ['bus', 'localActors', 'ackWait', 'lease'] as const;
type BusOption = (typeof BUS_OPTIONS)[number];

export function registerTrain(program: Command, io: CliIO): void {
  const command = program
    .command('train')
    .description('learn a policy by self-play: episodes in, magnetic-mirror-descent updates out, exploitability measured as it falls')
    .argument('[game]', 'a two-player zero-sum game small enough to compile (kuhn-poker, leduc-poker, ...); omit with --resume')
    .option('--algo <name>', `advantage estimator: ${ALGORITHMS.join(', ')} (role-conditioned EMA baseline, group-normalised, leave-one-out)`, choice('--algo', ALGORITHMS), 'rae')
    .option('--episodes <n>', 'episodes to play in all', intOption('--episodes', 1), 100_000_000)
    .option('--seconds <s>', 'stop after this many seconds of training (checkpointed like the end of a run)', numberOption('--seconds', 0))
    .option('--seed <n>', 'seed of the run', intOption('--seed'), 0)
    .option('--out <dir>', 'run folder (default runs/<game>-<algo>-seed<seed>)')
    .option('--resume <dir>', 'continue the run in this folder from its last checkpoint, with its settings')
    .option('--batch <n>', 'episodes per update at the start (default: 100 per information state, at least 10,000, at most 250,000)', intOption('--batch', 1))
    .option('--batch-growth <k>', 'the batch grows by its starting size every k updates (default: 20,000 / information states, at least 20)', intOption('--batch-growth', 1))
    .option('--step-size <x>', 'mirror-descent step size, in units of the largest return', numberOption('--step-size', 0), 2.5)
    .option('--magnet-strength <x>', 'KL pull toward the magnet policy', numberOption('--magnet-strength', 0), 0.5)
    .option('--magnet-rate <x>', 'how fast the magnet follows the policy', numberOption('--magnet-rate', 0), 0.02)
    .option('--opponents <rule>', 'self (current policy on both seats), pool-uniform or pool-recent (earlier versions)', choice('--opponents', ['self', 'pool-uniform', 'pool-recent'] as const), 'self')
    .option('--evaluate-every <k>', 'compute exploitability every k updates, and after any update a second or more after the last one', intOption('--evaluate-every', 1), 10)
    .option('--checkpoint-every <k>', 'write a checkpoint every k updates', intOption('--checkpoint-every', 1), 50)
    .option('--keep-episodes <n>', 'episode records saved per update into episodes.msgpack', intOption('--keep-episodes'), 2)
    .option('--eval-matches <n>', 'matches of the learned policy against random and against CFR at the end (0: none)', intOption('--eval-matches'), 2000);
  learnerBusOptions(command, { bus: 'the episodes are played by `selfplay actor` processes on this NATS JetStream server (nats://HOST:PORT); self-play only', jobs: 'chunks' })
    .option('--chunk <n>', 'with --bus, episodes per job: an update is its batch in chunks of this size, played by whichever actors take them', intOption('--chunk', 1, MAX_CHUNK), DEFAULT_CHUNK)
    .option('--json', 'print one JSON object at the end instead of progress lines')
    .addHelpText(
      'after',
      '\nCtrl-C stops at the next update, writes a checkpoint and the report; --resume DIR continues exactly where it stopped.\nWith --bus, each update\'s episodes are drawn from the run\'s seed by update and chunk, so the run is the same however many actors play it, and whichever die.',
    )
    .action(async (ref: string | undefined, options: TrainOptions, command: Command) => {
      const given = (key: string) => command.getOptionValueSource(key) === 'cli';
      // The game is loaded first: a module's default run folder is named after its game id (runs/goofspiel-...),
      // not its path; a registered game's after the reference as given (with any parameters).
      const named = ref !== undefined && !options.resume ? await loadGame(ref) : undefined;
      const modulePath = ref !== undefined && /[\\/]|\.[cm]?[jt]s$/.test(ref.split(':')[0]);
      const { open, config, state } = prepareRun<RunConfig, CheckpointState>(ref, options as TrainOptions & Record<string, unknown>, given, {
        command: 'train',
        runtime: ['json', 'seconds', ...BUS_OPTIONS],
        defaultDir: (game) => `runs/${(named && modulePath ? named.id : game).replace(/[^\w.-]+/g, '_')}-${options.algo}-seed${options.seed}`,
        updates: (s) => s.updates,
      });
      const game = named ?? (await loadGame(config.game));
      checkFastTraining(game, { algo: config.algo, opponents: config.opponents, remote: options.bus !== undefined });
      await train(game, open(), config, state, options, io);
    });
}

/** checkpoints/state.json: the trainer's state and what of the run's outputs it covers. */
type CheckpointState = FastTrainerState & CheckpointMarks;

async function train(game: Game, folder: RunFolder, config: RunConfig, state: FastTrainerState | undefined, options: TrainOptions, io: CliIO): Promise<void> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const bus = options.bus ? await openBus(game, config, folder, options, controller.signal, io) : undefined;
  if (bus && !options.json) io.out(`learner of run ${bus.run} on ${options.bus}: start actors with  selfplay actor --bus ${options.bus} --run ${bus.run}`);
  const trainer = new FastTrainer(
    game,
    {
      algo: config.algo,
      episodes: config.episodes,
      seed: config.seed,
      batch: config.batch,
      batchGrowth: config.batchGrowth,
      mmd: { stepSize: config.stepSize, magnetStrength: config.magnetStrength, magnetRate: config.magnetRate },
      opponents: config.opponents,
      evaluateEvery: config.evaluateEvery,
      keepEpisodes: config.keepEpisodes,
      seconds: options.seconds,
      signal: controller.signal,
      ...(bus ? { remote: bus.play } : {}),
    },
    state,
  );
  const episodes: EpisodeWriter = await openEpisodeWriter(folder.path('episodes.msgpack'));
  const bar = options.json ? undefined : progressBar('training', config.episodes, (line) => io.out(line));
  let nextLine = trainer.episodes === 0 ? 0 : trainer.episodes * 1.5;
  // While an update takes long (a large game, a large batch), a line every second or two says how far it is.
  let lineAt = performance.now();
  let progressUpdate = 0;
  let updateStart = 0;
  const log = (line: string) => {
    lineAt = performance.now();
    bar?.log(line);
  };
  // The checkpoint records how far metrics.jsonl and episodes.msgpack go (once the episodes so far are in the
  // file), so that a resumption cuts off what a killed run wrote after it.
  const checkpoint = async (m: TrainMetrics | undefined) => {
    await episodes.flush();
    const outputs: OutputMarks = { updates: trainer.updates, episodeBytes: statSync(episodes.path).size };
    folder.writeJson('checkpoints/state.json', { ...trainer.state(m?.seconds ?? 0), outputs } satisfies CheckpointState);
    folder.writeJson('policy.json', policyFile(game, trainer.learner.averagePolicy(), { algorithm: `tabular-softmax/${config.algo}`, version: trainer.learner.version, kind: 'average' }));
    folder.writeJson('policy-last.json', policyFile(game, trainer.learner.currentPolicy(), { algorithm: `tabular-softmax/${config.algo}`, version: trainer.learner.version, kind: 'last iterate' }));
  };
  if (!state && !options.json) {
    io.out(`training ${game.id} by self-play (${config.algo}, magnetic mirror descent), run folder ${folder.dir}`);
    io.out(progressLine(0, trainer.exploitability().exploitability, 'the uniform policy'));
    lineAt = performance.now();
  }
  let last: TrainMetrics | undefined;
  try {
    last = await trainer.run({
      onUpdate: async (m) => {
        folder.appendMetrics(metricsRow(m));
        if (m.update % config.checkpointEvery === 0) await checkpoint(m);
        bar?.update(m.episodes, m.exploitability === undefined ? undefined : `exploitability ${m.exploitability.toPrecision(3)}`);
        if (!options.json && m.exploitability !== undefined && m.episodes >= nextLine) {
          nextLine = Math.max(m.episodes * 1.6, 1);
          log(progressLine(m.episodes, m.exploitability, `last iterate ${m.exploitabilityLast!.toFixed(5)}, ${Math.round(m.episodesPerSecond).toLocaleString('en-US')} episodes/s`));
        }
      },
      onProgress: (p) => {
        bar?.update(p.episodes);
        const now = performance.now();
        if (p.update !== progressUpdate) [progressUpdate, updateStart] = [p.update, now];
        // Within the first update from the first second; later, in updates that take more than two seconds.
        const due = p.update === 1 ? now - lineAt >= 1000 : now - lineAt >= 2000 && now - updateStart >= 2000;
        if (!options.json && due) {
          log(`${p.episodes.toLocaleString('en-US').padStart(13)} episodes  (update ${p.update}: ${p.played.toLocaleString('en-US')} of ${p.batch.toLocaleString('en-US')} played, ${Math.round(p.episodes / Math.max(p.seconds, 1e-9)).toLocaleString('en-US')} episodes/s)`);
        }
      },
      onEpisodes: async (records) => {
        for (const record of records) episodes.append(record);
        // Training waits while the file is behind.
        await episodes.ready();
      },
    });
  } finally {
    bar?.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    try {
      await checkpoint(last);
    } finally {
      await episodes.close();
      await bus?.close();
    }
  }
  const interrupted = controller.signal.aborted;
  const evaluation = config.evalMatches > 0 && !interrupted ? await evaluate(game, trainer, config) : undefined;
  const summary = {
    game: game.id,
    algorithm: config.algo,
    seed: config.seed,
    episodes: trainer.episodes,
    updates: trainer.updates,
    seconds: last ? Math.round(last.seconds * 10) / 10 : 0,
    exploitability: last?.exploitability,
    exploitabilityLast: last?.exploitabilityLast,
    interrupted,
    runFolder: folder.dir,
    ...(bus ? { bus: { run: bus.run, chunksRetried: bus.play.retried, ...(bus.play.lastFailure ? { lastFailure: bus.play.lastFailure } : {}) } } : {}),
    evaluation,
  };
  folder.writeText('report.html', renderReport({ title: `selfplay: ${game.id} trained by self-play`, summary: flatten(summary), metrics: folder.metrics() }));
  if (options.json) return printJson(io, summary);
  if (interrupted) io.out(`stopped: checkpoint written; continue with  selfplay train --resume ${folder.dir}`);
  io.out(`\n${trainer.episodes.toLocaleString('en-US')} episodes in ${summary.seconds} s: exploitability of the average policy ${last?.exploitability?.toFixed(5)}`);
  if (evaluation) {
    for (const row of evaluation) io.out(`learned policy vs ${row.opponent.padEnd(6)}: mean return ${row.meanReturn >= 0 ? '+' : ''}${row.meanReturn.toFixed(3)} per game, score ${row.score.toFixed(3)} [${row.interval[0].toFixed(3)}, ${row.interval[1].toFixed(3)}] over ${row.matches} matches`);
  }
  io.out(`run folder ${folder.dir}: metrics.jsonl, policy.json, checkpoints/, episodes.msgpack, report.html`);
}

/**
 * The learner's side of a run over NATS: the run described for its actors,
 * and local actors on a connection of their own when asked for. `close`
 * stops those and releases the run.
 */
async function openBus(game: Game, config: RunConfig, folder: RunFolder, options: TrainOptions, signal: AbortSignal, io: CliIO) {
  const run = config.run ?? defaultBusRun(folder.dir);
  const url = options.bus!;
  const link = await connectNatsLink({ url, run, side: 'learner', spec: tabularJobSchema, result: terminalsCodec, leaseSeconds: options.lease, ackWaitSeconds: options.ackWait, log: io.err });
  const stopActors = new AbortController();
  let actorLink: NatsLink<TabularJob, Int32Array> | undefined;
  let actors = Promise.resolve();
  try {
    await link.describe({ kind: 'train', game: config.game } satisfies TabularRunDescription);
    if (options.localActors) {
      actorLink = await connectNatsLink({ url, run, side: 'actor', spec: tabularJobSchema, result: terminalsCodec, log: io.err });
      actors = runTabularActors(actorLink, { game, concurrency: options.localActors, signal: stopActors.signal });
    }
  } catch (error) {
    await link.close();
    throw error;
  }
  const close = async () => {
    stopActors.abort();
    await actors;
    await actorLink?.close();
    await link.close();
  };
  return { run, play: new BusPlay(link, { model: `${game.id}/tabular-softmax`, chunk: config.chunk ?? DEFAULT_CHUNK, signal }), close };
}

const progressLine = (episodes: number, exploitability: number, note: string) =>
  `${episodes.toLocaleString('en-US').padStart(13)} episodes  exploitability ${exploitability.toFixed(5)}  (${note})`;

/** The learned average policy against a random player and against a CFR+ policy, seats rotating. */
async function evaluate(game: Game, trainer: FastTrainer, config: RunConfig) {
  const learned: Player = { name: 'learned', agent: tabularAgent(trainer.learner.averagePolicy()) };
  const opponents: Player[] = [
    { name: 'random', agent: randomAgent() },
    { name: 'cfr', agent: tabularAgent(cfr(game, { iterations: 200, plus: true }).averagePolicy) },
  ];
  const rows = [];
  for (const opponent of opponents) {
    const episodes = await lastValueFrom(runArena({ game, players: [learned, opponent], matches: config.evalMatches, seed: config.seed + 1 }).pipe(toArray()));
    const [record] = summarize(episodes, ['learned']);
    rows.push({ opponent: opponent.name, matches: record.matches, meanReturn: record.meanReturn, score: record.score, interval: record.interval });
  }
  return rows;
}

function flatten(summary: Record<string, unknown>): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(summary)) {
    if (v === undefined) continue;
    if (k === 'evaluation' && Array.isArray(v)) {
      for (const row of v) out[`vs ${row.opponent}`] = `mean return ${row.meanReturn.toFixed(3)}, score ${row.score.toFixed(3)} over ${row.matches} matches`;
    } else out[k] = typeof v === 'number' || typeof v === 'string' ? v : String(v);
  }
  return out;
}
