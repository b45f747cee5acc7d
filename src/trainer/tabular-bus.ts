import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { compile, type CompiledGame } from '../analysis/compile.ts';
import { Rng, type Game } from '../core/index.ts';
import { runActors, type ActorLearnerLink, type MatchJob, type MatchReport, type PolicyVersion } from './actor-learner.ts';
import type { RemotePlay, RemotePlayRequest } from './fast-loop.ts';
import { isTerminalNode, playCompiled } from './fast-play.ts';
import type { ResultCodec } from './nats-link.ts';
import { SampleBatch } from './samples.ts';

/** Episodes in one job at most: a job's report is one message, and a server takes 1 MB by default. */
export const MAX_CHUNK = 100_000;
/** Times a chunk is handed out again after failing before the update gives up (the actors cannot play it: say why). */
export const MAX_CHUNK_FAILURES = 10;

/** Episodes in one job unless told: for Kuhn poker, a few milliseconds of an actor's time and 4 KB on the wire. */
export const DEFAULT_CHUNK = 1000;

/** A part of an update's batch: `episodes` self-play episodes with the strategy of `version`, from the job's seed. */
export const tabularJobSchema = z.object({
  update: z.number().int().min(1),
  chunk: z.number().int().min(0),
  version: z.number().int().min(0),
  episodes: z.number().int().min(1).max(MAX_CHUNK),
});
export type TabularJob = z.infer<typeof tabularJobSchema>;

export type TabularLink = ActorLearnerLink<TabularJob, Int32Array>;

/** Typed-array bytes as text for a JSON message (the byte order is the machine's; every platform Node runs on is little-endian). */
function encode(values: Int32Array | Float64Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

function decode<T>(text: unknown, width: number, make: (buffer: ArrayBuffer, length: number) => T, what: string): T {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new Error(`${what} is not base64 text`);
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % width !== 0) throw new Error(`${what} is ${bytes.length} bytes, not a whole number of ${width}-byte values`);
  const copy = new ArrayBuffer(bytes.length);
  new Uint8Array(copy).set(bytes);
  return make(copy, bytes.length / width);
}

/** A chunk's episodes as they travel: the terminal node each ended at (see samplesFromTerminals). */
export const terminalsCodec: ResultCodec<Int32Array> = {
  encode: (terminals) => encode(terminals),
  decode: (text) => decode(text, 4, (buffer, n) => new Int32Array(buffer, 0, n), 'a chunk of episodes'),
};

/** A tabular strategy as it travels in a version's data. */
export const encodeStrategy = (strategy: Float64Array): string => encode(strategy);

/** The strategy of a version's data, checked against the tree: one probability per action slot, each information state's summing to 1. */
export function decodeStrategy(tree: CompiledGame, data: string | undefined): Float64Array {
  const strategy = decode(data ?? '', 8, (buffer, n) => new Float64Array(buffer, 0, n), 'the version data');
  const slots = tree.actionStart[tree.infosetCount];
  if (strategy.length !== slots) throw new Error(`the version data holds ${strategy.length} probabilities; ${tree.game.id} has ${slots} actions over its information states`);
  for (let i = 0; i < tree.infosetCount; i++) {
    let sum = 0;
    for (let slot = tree.actionStart[i]; slot < tree.actionStart[i + 1]; slot++) {
      if (!(strategy[slot] >= 0)) throw new Error(`the version data has probability ${strategy[slot]} at action slot ${slot}`);
      sum += strategy[slot];
    }
    if (Math.abs(sum - 1) > 1e-9) throw new Error(`the version data's probabilities at information state ${tree.infoKeys[i]} sum to ${sum}`);
  }
  return strategy;
}

/** The seed of chunk `chunk` of update `update` in a run seeded `seed`: a replayed update plays the same episodes, whoever plays them. */
export const chunkSeed = (seed: number, update: number, chunk: number): number => new Rng(`train/${seed}/${update}/${chunk}`).nextUint32();

/**
 * The learner's side of tabular self-play over a link: each update's batch
 * goes out as jobs of `chunk` episodes at the version just published (its
 * strategy in the version's data), and comes back as terminal nodes, put
 * together in chunk order. A job is matched by what it asks for (update,
 * chunk, version, seed, size), not by who played it or when: a chunk played
 * twice (a redelivery, a killed learner's jobs) counts once, and one played
 * for an earlier life of this run, whose jobs are the same, counts as well.
 * A chunk whose actor failed, or sent something that is not that chunk's
 * episodes, is handed out again, up to MAX_CHUNK_FAILURES times.
 */
export class BusPlay implements RemotePlay {
  /** Names this learner's jobs apart from those of its earlier lives (a job's id is also its message id on a bus, which drops repeats). */
  private readonly life = randomBytes(4).toString('hex');
  private attempts = 0;
  /** Chunks handed out again after a failure, and the last failure, for the learner to report. */
  retried = 0;
  lastFailure: string | undefined;

  constructor(
    private readonly link: TabularLink,
    private readonly options: { readonly model: string; readonly chunk: number; readonly signal?: AbortSignal; readonly onPublished?: (version: PolicyVersion) => void },
  ) {}

  async play(request: RemotePlayRequest): Promise<Int32Array> {
    const { link, options } = this;
    const { update, version, episodes, seed } = request;
    const published = { model: options.model, version, data: encodeStrategy(request.strategy) };
    await link.publish(published);
    options.onPublished?.(published);
    const chunks = Math.ceil(episodes / options.chunk);
    const planned = Array.from({ length: chunks }, (_, chunk): MatchJob<TabularJob> => ({
      id: `${this.life}-u${update}-c${chunk}`,
      seed: chunkSeed(seed, update, chunk),
      index: chunk,
      spec: { update, chunk, version, episodes: Math.min(options.chunk, episodes - chunk * options.chunk) },
    }));
    await link.handOut(planned);
    const results: (Int32Array | undefined)[] = new Array(chunks);
    const failures = new Array<number>(chunks).fill(0);
    const { promise: aborted, dispose } = abortion(options.signal);
    try {
      for (let missing = chunks; missing > 0; ) {
        const report = await Promise.race([link.nextReport(), aborted]);
        if (!report) {
          if (options.signal?.aborted) return new Int32Array(0);
          throw new Error('the link to the actors closed before the update had its episodes');
        }
        const { spec } = report.job;
        const job = planned[spec.chunk];
        const ours = spec.update === update && spec.version === version && job !== undefined && report.job.seed === job.seed && spec.episodes === job.spec.episodes;
        if (!ours || results[spec.chunk]) continue;
        const failure = 'error' in report ? report.error : problem(request.tree, report.result, job.spec.episodes);
        if (failure === undefined && 'result' in report) {
          results[spec.chunk] = report.result;
          missing--;
          continue;
        }
        this.retried++;
        this.lastFailure = `chunk ${spec.chunk} of update ${update}: ${failure}`;
        if (++failures[spec.chunk] >= MAX_CHUNK_FAILURES) throw new Error(`${this.lastFailure} (${MAX_CHUNK_FAILURES} times: the actors cannot play it)`);
        await link.handOut([{ ...job, id: `${job.id}-r${++this.attempts}` }]);
      }
    } finally {
      dispose();
    }
    const all = new Int32Array(episodes);
    results.forEach((part, chunk) => all.set(part!, chunk * options.chunk));
    return all;
  }
}

/** Why `terminals` are not a chunk of `episodes` episodes of `tree`, if they are not. */
function problem(tree: CompiledGame, terminals: Int32Array, episodes: number): string | undefined {
  if (terminals.length !== episodes) return `${terminals.length} episodes instead of ${episodes}`;
  for (const node of terminals) if (!isTerminalNode(tree, node)) return `node ${node} is not a terminal node`;
  return undefined;
}

/** A promise of undefined once `signal` aborts, and what stops it listening. */
function abortion(signal: AbortSignal | undefined): { promise: Promise<undefined>; dispose: () => void } {
  let dispose = () => undefined as void;
  const promise = new Promise<undefined>((resolve) => {
    if (!signal) return;
    if (signal.aborted) return resolve(undefined);
    const listener = () => resolve(undefined);
    signal.addEventListener('abort', listener, { once: true });
    dispose = () => signal.removeEventListener('abort', listener);
  });
  return { promise, dispose };
}

/**
 * Actors for tabular self-play: each job is played on the compiled tree with
 * exactly the strategy of the version it names (read from the server when
 * the watch has not caught up); a job for a version the run is no longer at
 * (or not yet at: a killed learner's) is reported as failed, which its
 * learner ignores.
 */
export async function runTabularActors(
  link: TabularLink,
  options: { readonly game: Game; readonly concurrency: number; readonly signal: AbortSignal; readonly onReport?: (report: MatchReport<TabularJob, Int32Array>) => void },
): Promise<void> {
  const tree = compile(options.game);
  let cached: { version: number; model: string; strategy: Float64Array } | undefined;
  const strategyOf = (version: PolicyVersion): Float64Array => {
    if (cached?.version !== version.version || cached.model !== version.model) cached = { version: version.version, model: version.model, strategy: decodeStrategy(tree, version.data) };
    return cached.strategy;
  };
  const batch = new SampleBatch(tree.seats, 16);
  await runActors(link, {
    concurrency: options.concurrency,
    signal: options.signal,
    onReport: options.onReport,
    version: async (job) => {
      const heard = link.latest();
      return heard.version === job.spec.version ? heard : link.fetchLatest();
    },
    play: async (job, version) => {
      if (version.version !== job.spec.version) throw new Error(`the run is at version ${version.version}, not ${job.spec.version}`);
      const strategy = strategyOf(version);
      const paths: Int32Array[] = [];
      playCompiled(tree, [strategy, strategy], [false, false], job.spec.episodes, new Rng(job.seed), batch, paths);
      return Int32Array.from(paths, (path) => path[path.length - 1]);
    },
  });
}
