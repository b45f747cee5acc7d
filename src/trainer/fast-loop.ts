import { evaluateStrategy } from '../analysis/best-response.ts';
import type { CompiledGame } from '../analysis/compile.ts';
import { ConfigError, Rng, type Game } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import { grpoAdvantages, RoleBaselines, rlooAdvantages } from './advantages.ts';
import { episodeFromPath, playCompiled, samplesFromTerminals } from './fast-play.ts';
import { SampleBatch } from './samples.ts';
import { TabularSoftmax, type MmdOptions, type TabularSnapshot, type UpdateMetrics } from './tabular-softmax.ts';

export const ALGORITHMS = ['rae', 'grpo', 'rloo'] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

/** Who the learner plays: itself (both seats, current policy), or earlier versions drawn from its pool. */
export type OpponentRule = 'self' | 'pool-uniform' | 'pool-recent';

/** An update's batch to play elsewhere: self-play episodes with the current strategy, whose numbering makes them replayable. */
export interface RemotePlayRequest {
  /** The compiled game whose terminal nodes come back. */
  readonly tree: CompiledGame;
  readonly update: number;
  readonly version: number;
  readonly strategy: Float64Array;
  readonly episodes: number;
  /** The run's seed: with the update, it fixes the episodes. */
  readonly seed: number;
}

/** Plays batches away from the learner (actors over a bus: see tabular-bus.ts); resolves with each episode's terminal node, in order, or nothing when stopped. */
export interface RemotePlay {
  play(request: RemotePlayRequest): Promise<Int32Array>;
}

export interface FastTrainOptions {
  readonly algo?: Algorithm;
  /** Episodes to play in all (counting any already played before a resume). */
  readonly episodes: number;
  readonly seed?: number;
  /**
   * Episodes of the first update; update k plays batch * (1 + k / batchGrowth), at most maxBatch.
   * Defaults scale with the game: 100 episodes per information state (at least 10,000, at most
   * 250,000, so that a larger game's update takes seconds, not minutes), growing faster for games
   * with more information states, whose rarer states need more samples as the policy settles
   * (Kuhn: 10,000 growing every 1,667 updates; Leduc: 93,600 every 21; a 4-card Goofspiel's
   * 34,952 states: 250,000 every 20).
   */
  readonly batch?: number;
  readonly batchGrowth?: number;
  readonly maxBatch?: number;
  readonly mmd?: MmdOptions;
  readonly opponents?: OpponentRule;
  /** Versions kept in the opponent pool (pool rules only). */
  readonly poolSize?: number;
  /**
   * Compute exploitability every this many updates (and at the end), and also after any update
   * that ends a second or more after the last evaluation (longer when an evaluation is costly:
   * at most a tenth of the time goes to it), so that a game whose updates are slow has a curve.
   */
  readonly evaluateEvery?: number;
  /** Episode records kept per update, for the run folder. */
  readonly keepEpisodes?: number;
  /** Stop after this many seconds of training, at an update boundary. */
  readonly seconds?: number;
  readonly signal?: AbortSignal;
  /** Where the batches are played, when not here (self-play only). */
  readonly remote?: RemotePlay;
}

export interface TrainMetrics extends UpdateMetrics {
  readonly update: number;
  readonly episodes: number;
  readonly seconds: number;
  readonly episodesPerSecond: number;
  /** Exploitability of the average policy (what the run outputs) and of the last iterate, when computed. */
  readonly exploitability?: number;
  readonly exploitabilityLast?: number;
}

/** Everything a run needs to go on exactly where it stopped. */
export interface FastTrainerState {
  readonly learner: TabularSnapshot;
  readonly rng: number[];
  readonly baselines: ReturnType<RoleBaselines['toJSON']>;
  readonly updates: number;
  readonly episodes: number;
  readonly seconds: number;
  readonly pool: { readonly version: number; readonly strategy: number[] }[];
}

export interface FastTrainHooks {
  /** After each update; the next waits for a promise it returns (a checkpoint being written). */
  onUpdate?(metrics: TrainMetrics, trainer: FastTrainer): void | Promise<void>;
  /** The update's kept episodes, before onUpdate; the next update waits for a promise it returns (backpressure from their file). */
  onEpisodes?(episodes: Episode[]): void | Promise<void>;
  /**
   * While an update's batch is being played, a few times a second (only for batches that take
   * that long): episodes played in all so far, counting the batch's part played.
   */
  onProgress?(progress: { readonly episodes: number; readonly update: number; readonly played: number; readonly batch: number; readonly seconds: number }): void;
}

/** Refuses what FastTrainer cannot train, before anything is made for the run. */
export function checkFastTraining(game: Game, options: { readonly algo?: Algorithm; readonly opponents?: string; readonly remote: boolean }): void {
  const algo = options.algo ?? 'rae';
  if (!ALGORITHMS.includes(algo)) throw new ConfigError(`unknown algorithm "${algo}"; use ${ALGORITHMS.join(', ')}`);
  if (game.seats !== 2 || game.utility !== 'zero-sum') throw new ConfigError(`${game.id}: the in-process trainer learns two-player zero-sum games`);
  if (options.remote && (options.opponents ?? 'self') !== 'self') throw new ConfigError(`actors elsewhere play self-play only, not --opponents ${options.opponents}`);
}

/** Batches larger than this are played in parts, with progress and a stop check in between. */
const PART = 50_000;

/**
 * Self-play training of a tabular softmax policy on the kernel's fast path:
 * episodes are played on the compiled tree (no agent messages), turned into
 * samples with the chosen advantage estimator, and fed to magnetic mirror
 * descent. The same seed gives the same run, and a run resumed from its state
 * continues exactly as if it had not stopped.
 */
export class FastTrainer {
  readonly learner: TabularSoftmax;
  readonly algo: Algorithm;
  private rng: Rng;
  private baselines: RoleBaselines;
  updates = 0;
  episodes = 0;
  private secondsBefore = 0;
  private pool: { version: number; strategy: Float64Array }[] = [];
  private readonly batch: SampleBatch;

  constructor(
    readonly game: Game,
    readonly options: FastTrainOptions,
    state?: FastTrainerState,
  ) {
    checkFastTraining(game, { ...options, remote: options.remote !== undefined });
    this.algo = options.algo ?? 'rae';
    this.learner = new TabularSoftmax(game, options.mmd);
    this.rng = new Rng(options.seed ?? 0);
    this.baselines = new RoleBaselines();
    this.batch = new SampleBatch(game.seats, 1 << 16);
    if (state) {
      this.learner.load(state.learner);
      this.rng = Rng.restore(state.rng);
      this.baselines = RoleBaselines.fromJSON(state.baselines);
      this.updates = state.updates;
      this.episodes = state.episodes;
      this.secondsBefore = state.seconds;
      this.pool = state.pool.map((p) => ({ version: p.version, strategy: Float64Array.from(p.strategy) }));
    }
  }

  state(seconds: number): FastTrainerState {
    return {
      learner: this.learner.snapshot(),
      rng: this.rng.save(),
      baselines: this.baselines.toJSON(),
      updates: this.updates,
      episodes: this.episodes,
      seconds,
      pool: this.pool.map((p) => ({ version: p.version, strategy: Array.from(p.strategy) })),
    };
  }

  /**
   * Trains until the episode budget, the time budget or an abort; returns the
   * last metrics. It yields to the event loop after every update, so a signal
   * handler can abort it between updates.
   */
  async run(hooks: FastTrainHooks = {}): Promise<TrainMetrics | undefined> {
    const { options, learner } = this;
    const infosets = learner.tree.infosetCount;
    const batch0 = options.batch ?? Math.max(10_000, Math.min(250_000, 100 * infosets));
    const growth = options.batchGrowth ?? Math.max(20, Math.round(20_000 / infosets));
    const maxBatch = options.maxBatch ?? 10_000_000;
    const evaluateEvery = options.evaluateEvery ?? 10;
    const start = performance.now();
    const timeUp = () => options.seconds !== undefined && (performance.now() - start) / 1000 >= options.seconds;
    let last: TrainMetrics | undefined;
    let lastEvaluation = start;
    let evaluationMs = 0;
    while (this.episodes < options.episodes && !options.signal?.aborted) {
      if (timeUp()) break;
      const size = Math.min(maxBatch, Math.round(batch0 * (1 + this.updates / growth)), options.episodes - this.episodes);
      const paths: Int32Array[] | undefined = options.keepEpisodes ? [] : undefined;
      const played = await this.play(size, paths, (done) => {
        const seconds = this.secondsBefore + (performance.now() - start) / 1000;
        hooks.onProgress?.({ episodes: this.episodes + done, update: this.updates + 1, played: done, batch: size, seconds });
        return !timeUp() && !options.signal?.aborted;
      });
      if (played === 0) break;
      this.assignAdvantages();
      const update = learner.update(this.batch);
      this.updates++;
      this.episodes += played;
      this.refreshPool();
      const now = performance.now();
      const seconds = this.secondsBefore + (now - start) / 1000;
      const final = this.episodes >= options.episodes;
      const evaluate = this.updates % evaluateEvery === 0 || final || now - lastEvaluation >= Math.max(1000, 10 * evaluationMs);
      let measured = {};
      if (evaluate) {
        measured = this.exploitability();
        lastEvaluation = performance.now();
        evaluationMs = lastEvaluation - now;
      }
      last = {
        ...update,
        update: this.updates,
        episodes: this.episodes,
        seconds,
        episodesPerSecond: this.episodes / Math.max(seconds, 1e-9),
        ...measured,
      };
      if (paths && hooks.onEpisodes) await hooks.onEpisodes(paths.slice(0, options.keepEpisodes).map((path, k) => this.record(path, k, update.version)));
      await hooks.onUpdate?.(last, this);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (last && last.exploitability === undefined) last = { ...last, ...this.exploitability() };
    return last;
  }

  /** Exploitability of the average policy and of the last iterate. */
  exploitability(): { exploitability: number; exploitabilityLast: number } {
    return {
      exploitability: evaluateStrategy(this.learner.tree, this.learner.averageStrategy()).exploitability,
      exploitabilityLast: evaluateStrategy(this.learner.tree, this.learner.probabilities).exploitability,
    };
  }

  /**
   * Plays an update's batch; returns how many episodes it played. A large batch is played in parts:
   * after each part that ends 200 ms or more after the last report, `progress` hears how many are
   * played, the event loop runs (a signal can abort), and the batch ends early if it returns false.
   */
  private async play(size: number, paths: Int32Array[] | undefined, progress: (played: number) => boolean): Promise<number> {
    const { learner, batch } = this;
    if (this.options.remote) {
      const request = { tree: learner.tree, update: this.updates + 1, version: learner.version, strategy: learner.probabilities, episodes: size, seed: this.options.seed ?? 0 };
      const terminals = await this.options.remote.play(request);
      const keep = Math.min(paths ? (this.options.keepEpisodes ?? 0) : 0, terminals.length);
      batch.clear();
      samplesFromTerminals(learner.tree, terminals.subarray(0, keep), [true, true], batch, paths);
      samplesFromTerminals(learner.tree, terminals.subarray(keep), [true, true], batch);
      return terminals.length;
    }
    const current = learner.probabilities;
    const rule = this.options.opponents ?? 'self';
    let strategies = [current, current];
    let learning = [true, true];
    if (rule !== 'self' && this.pool.length > 0) {
      const opponent = rule === 'pool-uniform' ? this.rng.pick(this.pool) : this.pool[this.pool.length - 1 - this.rng.int(Math.min(3, this.pool.length))];
      // The learner takes seat 0 or seat 1 with equal chance; only its own decisions are samples.
      const seat = this.rng.int(2);
      strategies = seat === 0 ? [current, opponent.strategy] : [opponent.strategy, current];
      learning = [seat === 0, seat === 1];
    }
    if (size <= PART) {
      playCompiled(learner.tree, strategies, learning, size, this.rng, batch, paths);
      return size;
    }
    // The same episodes as in one go: the parts draw from the same generator in the same order.
    batch.clear();
    let played = 0;
    let reported = performance.now();
    while (played < size) {
      const part = Math.min(PART, size - played);
      const keep = paths && paths.length < (this.options.keepEpisodes ?? 0) ? paths : undefined;
      playCompiled(learner.tree, strategies, learning, part, this.rng, batch, keep, true);
      played += part;
      if (played < size && performance.now() - reported >= 200) {
        if (!progress(played)) break;
        await new Promise<void>((resolve) => setImmediate(resolve));
        reported = performance.now();
      }
    }
    return played;
  }

  private refreshPool(): void {
    if ((this.options.opponents ?? 'self') === 'self') return;
    this.pool.push({ version: this.learner.version, strategy: this.learner.probabilities.slice() });
    const size = this.options.poolSize ?? 20;
    if (this.pool.length > size) this.pool.splice(0, this.pool.length - size);
  }

  /** Every sample of seat s in episode e gets the advantage of that seat's return in e. */
  private assignAdvantages(): void {
    const { batch, game } = this;
    const { seats, episodes } = batch;
    const perSeat = new Float64Array(episodes * seats);
    const column = new Float64Array(episodes);
    for (let s = 0; s < seats; s++) {
      for (let e = 0; e < episodes; e++) column[e] = batch.returns[e * seats + s];
      let advantages: ArrayLike<number>;
      if (this.algo === 'rae') {
        const out = new Float64Array(episodes);
        this.baselines.advantagesInOrder(game.id, s, column, out);
        advantages = out;
      } else advantages = this.algo === 'grpo' ? grpoAdvantages(column) : rlooAdvantages(column);
      for (let e = 0; e < episodes; e++) perSeat[e * seats + s] = advantages[e];
    }
    for (let i = 0; i < batch.length; i++) batch.advantage[i] = perSeat[batch.episode[i] * seats + batch.seat[i]];
  }

  private record(path: Int32Array, k: number, version: number): Episode {
    const policy = { id: `${this.game.id}/tabular-softmax`, version };
    return episodeFromPath(this.game, this.learner.tree, path, {
      id: `train-u${this.updates}-${k}`,
      seed: 0,
      players: [0, 1].map((seat) => ({ seat, name: 'learner', role: `seat ${seat}`, policy })),
    });
  }
}
