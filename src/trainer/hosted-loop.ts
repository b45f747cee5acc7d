import { lastValueFrom, toArray } from 'rxjs';
import { z } from 'zod';
import { createPlayer } from '../../agents/index.ts';
import { COMPACT_GAME_PROMPTS, type GamePrompts } from '../../agents/llm/game-prompt.ts';
import { evaluatePolicy } from '../analysis/index.ts';
import { ConfigError, Rng, type Game, type TabularPolicy } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import { playMatch, runArena, seating, summarize, type AgentRecord, type Player } from '../runtime/index.ts';
import { InProcessLink, runActors, type ActorLearnerLink, type MatchJob, type MatchReport } from './actor-learner.ts';
import { StalenessPacer, type Finished } from './staleness-pacer.ts';
import { RoleBaselines } from './advantages.ts';
import { EpisodeTrainer, type EpisodeAlgorithm } from './episode-trainer.ts';
import type { TinkerBackend, TinkerMetrics } from './tinker-backend.ts';
import { League, parseOpponents, splitGames, type LeagueMember, type LeagueState, type OpponentShare } from './league.ts';
import { modelPlayer, type HostedSampling } from './model-player.ts';
import { modelPolicy } from './model-policy.ts';
import { MmdUpdate, type MagnetState, type MmdMetrics, type MmdSettings } from './mmd-update.ts';
import { rateVersions, type RateVersionsOptions, type VersionRating } from './version-ratings.ts';

export const LEARNER = 'learner';
/** Versions actors may run ahead of the learner by default (DESIGN.md: asynchronous by default). */
export const DEFAULT_MAX_STALENESS = 2;
/** The learner's second seat in self-play: the same version, and its turns train the model too. */
export const MIRROR = `${LEARNER}-mirror`;

export interface HostedPlayOptions extends HostedSampling {
  readonly game: Game;
  /** Which version plays: the exact model name (`tiny@3`). */
  readonly model: string;
  /** The policy id and version recorded in the episodes. */
  readonly policy: { readonly id: string; readonly version: number };
  /** Who the model plays; without one, itself (self-play: the same version in every seat). */
  readonly opponent?: Player;
  readonly games: number;
  readonly seed: number;
  /** Prefix of the episode ids (default `seed<seed>`). */
  readonly runId?: string;
  /** Matches in flight (default 32). */
  readonly concurrency?: number;
}

/**
 * Plays the hosted model, restricted to legal moves, against an opponent or
 * itself, seats rotating; returns the episodes and the record of the player
 * named `learner` (in self-play, the model in its first seat).
 */
export async function playHosted(options: HostedPlayOptions): Promise<{ episodes: Episode[]; record: AgentRecord }> {
  const learner = modelPlayer(LEARNER, options.model, options.policy, options);
  try {
    const opponent = options.opponent
      ? { ...options.opponent, name: options.opponent.name === LEARNER ? `${LEARNER}-opponent` : options.opponent.name }
      : { ...learner.player, name: MIRROR };
    const episodes = await lastValueFrom(
      runArena({ game: options.game, players: [learner.player, opponent], matches: options.games, seed: options.seed, runId: options.runId, concurrency: options.concurrency ?? 32, seats: 'rotate' }).pipe(toArray()),
    );
    return { episodes, record: summarize(episodes, [LEARNER])[0] };
  } finally {
    learner.close();
  }
}

/** How the learner fared against one share of its opponents in an update's games. */
export interface ShareResult {
  readonly games: number;
  readonly meanReturn: number;
  /** Wins plus half the draws, per decided game. */
  readonly score: number;
}

export interface HostedIteration {
  readonly iteration: number;
  /** Updates so far, this one included. */
  readonly update: number;
  /** Wall time of the run so far, across resumptions. */
  readonly seconds: number;
  /** The oldest version that played this update's games (with maxStaleness 0, the only one). */
  readonly played: string;
  /** The version the update published. */
  readonly model: string;
  readonly version: number;
  readonly games: number;
  readonly record: AgentRecord;
  /** The learner's results by opponent share (`self`, `pfsp`, `random`...). */
  readonly returns: Readonly<Record<string, ShareResult>>;
  readonly samples: number;
  /** Samples per seat: in self-play every seat's turns train the model. */
  readonly samplesBySeat: readonly number[];
  /** With the mmd objective, the information states the update fitted its model to... */
  readonly states?: number;
  /** ...and those it left out, having a legal move whose tokens no sample had shown yet (their turns are in `samples`). */
  readonly skipped?: number;
  readonly loss: number;
  /** Policy gradient: the mean token entropy of the sampled turns under the weights before the step (nats). */
  readonly entropy?: number;
  /** Policy gradient: the mean KL (k3) of the trained weights from the sampler's, and from the KL reference when a KL penalty is on. */
  readonly klSampler?: number;
  readonly kl?: number;
  /** mmd: the mean entropy of the model's move distribution at the batch's states before the update (nats). */
  readonly moveEntropy?: number;
  /** mmd: the mean KL(target || model) at those states before the update, how far it asked the model to move (nats). */
  readonly targetKl?: number;
  /** This update's games per second of the run since the previous update. */
  readonly gamesPerSecond: number;
  /** How many updates older than the weights it updated the versions that played this update's games were: the median and the most. */
  readonly ageMedian: number;
  readonly ageMax: number;
  /** The share of the time since the previous update the host spent sampling or training (when it reports it). */
  readonly hostBusy?: number;
  /** The published version's exact exploitability, when `exactEvery` asked for it this iteration. */
  readonly exploitability?: number;
  /** exact-mmd: the exact exploitability of the version the step trained from (the run's start, in its first step). */
  readonly exploitabilityBefore?: number;
  /** With it, the mean entropy of that version's move distribution over the information states (nats). */
  readonly policyEntropy?: number;
  /** The league after this update: its members and the learner's win rate against each. */
  readonly league: readonly { readonly model: string; readonly games: number; readonly winRate: number }[];
  /** A round robin of league versions and anchors, when `rateEvery` asked for one this iteration. */
  readonly ratings?: readonly VersionRating[];
  readonly ms: number;
}

/** What a run needs to continue where it stopped, besides the host's weights. */
export interface HostedRunState {
  /** Updates done. */
  readonly iteration: number;
  readonly seconds: number;
  readonly league: LeagueState;
  readonly baselines: ReturnType<RoleBaselines['toJSON']>;
  /**
   * Batches of matches planned so far (their ids are `u<batch>-...`): asynchronous actors run ahead of the
   * updates, so a resumed run plans from here, and no episode id comes twice. Absent in checkpoints of
   * synchronous runs from before it existed, where it equals `iteration`.
   */
  readonly batches?: number;
  /** The pacer's count of updates, and the host versions of the latest ones with their counts (reports name host versions). */
  readonly update?: number;
  readonly versions?: readonly (readonly [number, number])[];
  /**
   * The matches out and not trained on, with the oldest version that can play each (StalenessPacer.outstanding):
   * a resumed run takes them back, so that none is lost and none trained twice.
   */
  readonly outstanding?: readonly { readonly job: MatchJob<HostedJob>; readonly releasedAt: number }[];
  /** Where a durable link holds the first report not yet trained on: a resumed run reads the reports again from there. */
  readonly replayFrom?: number;
  /** With the `mmd` objective, each information state's magnet. */
  readonly magnet?: MagnetState;
}

export interface HostedTrainingOptions {
  readonly game: Game;
  readonly backend: TinkerBackend;
  /** Who the learner plays, as shares of each batch: `self:0.6,pfsp:0.3,random:0.1` (see parseOpponents; default: itself only). */
  readonly opponents?: string | readonly OpponentShare[];
  /** Players for the shares that are fixed agents, by share label (default: each made from its spec). */
  readonly anchors?: ReadonlyMap<string, Player>;
  /**
   * How many updates the learner's weights may be ahead of the version that played a match it trains on
   * (default 2: actors play on while the learner trains). 0 is synchronous on-policy training, each batch
   * played by the version it updates.
   */
  readonly maxStaleness?: number;
  /** The boundary to the actors (default: one in this process). */
  readonly link?: ActorLearnerLink<HostedJob>;
  /** Actors run in this process on the link (default `concurrency`; 0 when they all run elsewhere: runHostedActors). */
  readonly localActors?: number;
  /** The link's actor side, for local actors, when `link` is only the learner's (a bus: a connection of the actor side); default `link`. */
  readonly actorLink?: ActorLearnerLink<HostedJob>;
  /** Stop after this many updates in all (default: no bound, `seconds` bounds the run). */
  readonly iterations?: number;
  /** Start no update after this much wall time in all. */
  readonly seconds?: number;
  readonly gamesPerIteration: number;
  /** Advantage estimator (default `rae`, SPIRAL's role-conditioned baseline). */
  readonly algo?: EpisodeAlgorithm;
  /**
   * What each update minimises: `policy-gradient` (the backend's loss on the samples' advantages; the default), or
   * `mmd` (magnetic mirror descent: every information state of the batch fitted to its closed-form MMD target; MmdUpdate).
   */
  readonly objective?: 'policy-gradient' | 'mmd';
  /** The `mmd` objective's settings (its temperature is `temperature`; its scoring by default the host's). */
  readonly mmd?: Omit<MmdSettings, 'temperature'>;
  readonly seed?: number;
  readonly concurrency?: number;
  readonly prompts?: GamePrompts;
  readonly temperature?: number;
  /** Every this many iterations (and after the last), the published version's exact exploitability (a game small enough to walk; default never). */
  readonly exactEvery?: number;
  /** Every this many updates the new version joins the league, pinned on the host (default 5). */
  readonly leagueEvery?: number;
  /** After each update the KL reference moves this share of the way to the new weights: a slowly moving magnet (default 0: it stays put). */
  readonly magnetMix?: number;
  /** Every this many updates (and after the last), a round robin of the league, the current version and the anchors (default 0: only after the last, if `rateGames` > 0). */
  readonly rateEvery?: number;
  /** Games per pair in a rating round robin (default 0: no ratings). */
  readonly rateGames?: number;
  /** League versions in a round robin, spread evenly from the oldest to the newest (default 6), with the current version and the anchors. */
  readonly ratedVersions?: number;
  /** Saves the weights of a version that joins the league, so that a resumed run on a fresh host gets it back. */
  readonly saveMember?: (member: LeagueMember) => Promise<void>;
  /** Where a killed run stopped. */
  readonly resume?: HostedRunState;
  /** Stops the run before the next update. */
  readonly signal?: AbortSignal;
  /** Called after each update with the state to checkpoint and the update's episodes; the next update waits for it. */
  readonly onIteration?: (iteration: HostedIteration, state: HostedRunState, episodes: readonly Episode[]) => void | Promise<void>;
}

/** Who plays the learner in a match: its own version (self-play), a league version, or the fixed agent of its share. */
type Opponent = { readonly kind: 'self' } | { readonly kind: 'member'; readonly member: LeagueMember } | { readonly kind: 'agent' };

/** A match of a training run: the share it belongs to (`self`, `pfsp`, `random`...) and the learner's opponent. */
export interface HostedJob {
  readonly label: string;
  readonly opponent: Opponent;
}

/** A HostedJob as another process sends it (connectNatsLink's `spec`). */
export const hostedJobSchema: z.ZodType<HostedJob> = z.object({
  label: z.string(),
  opponent: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('self') }),
    z.object({ kind: z.literal('member'), member: z.object({ model: z.string(), version: z.number().int(), games: z.number(), points: z.number() }) }),
    z.object({ kind: z.literal('agent') }),
  ]),
});

/** The fixed agents of the shares that name one, by share label: the one given, else one made from its spec (an unknown spec is refused here). */
export function anchorPlayers(shares: readonly OpponentShare[], game: Game, given?: ReadonlyMap<string, Player>): Map<string, Player> {
  return new Map(shares.flatMap((share) => (share.source.kind === 'agent' ? [[share.label, given?.get(share.label) ?? createPlayer(share.source.spec, game)] as const] : [])));
}

/**
 * Training of a hosted model by self-play and against opponents. Actors play
 * matches with the newest published version, against itself and against the
 * opponents the shares ask for (past versions from the league, fixed
 * agents); the learner turns the learner's turns into samples with
 * advantages (each seat its own baseline under RAE), takes a training step
 * on the host and publishes the result. Only the learner's own seats train
 * it; a league version is an opponent even though it is the same policy.
 *
 * Asynchronous by default: actors keep playing while the learner trains, up
 * to `maxStaleness` K (default 2) versions ahead (StalenessPacer): a batch may
 * hold matches played by versions up to K older than the weights it updates,
 * which the loss's importance weights (the recorded sampling logprobs against
 * the learner's) correct for. With K = 0 it is synchronous on-policy
 * training: a batch is played, trained on, published, and the next batch
 * played.
 */
export async function trainHosted(options: HostedTrainingOptions): Promise<HostedIteration[]> {
  const { game, backend } = options;
  const shares = typeof options.opponents === 'string' ? parseOpponents(options.opponents) : (options.opponents ?? parseOpponents('self'));
  const anchors = anchorPlayers(shares, game, options.anchors);
  const league = new League(options.resume?.league);
  const trainer = new EpisodeTrainer(game, backend, {
    policyId: backend.policyId,
    algo: options.algo ?? 'rae',
    learns: (player) => player.name === LEARNER || player.name === MIRROR,
    baselines: options.resume ? RoleBaselines.fromJSON(options.resume.baselines) : undefined,
  });
  const mmd = options.objective === 'mmd' ? await mmdUpdate(options) : undefined;
  const sampling: HostedSampling = { apiBase: backend.samplingBase, temperature: options.temperature, prompts: options.prompts, ...(backend.tinkerSampling ? { tinker: backend.tinkerSampling } : {}) };
  const history: HostedIteration[] = [];
  const startedAt = performance.now() - (options.resume?.seconds ?? 0) * 1000;
  const elapsed = () => (performance.now() - startedAt) / 1000;
  // Whether the run starts no step `iteration` (counting from 0); a step after which none starts is the run's last.
  const over = (iteration: number) => iteration >= (options.iterations ?? Infinity) || (options.seconds !== undefined && elapsed() >= options.seconds) || options.signal?.aborted === true;
  const last = (iteration: number) => over(iteration + 1);

  // The pacer counts updates: a host version number counts optimizer steps, several per update with epochs.
  const maxStaleness = options.maxStaleness ?? DEFAULT_MAX_STALENESS;
  const resumed = options.resume;
  const pacer = new StalenessPacer<MatchJob<HostedJob>, Episode>(maxStaleness, options.gamesPerIteration, resumed?.update ?? 0);
  const updateOf = new Map<number, number>(resumed?.versions ?? []);
  updateOf.set(backend.version, pacer.version);
  const link = options.link ?? new InProcessLink<HostedJob>({ model: backend.policy(), version: backend.version });
  await link.publish({ model: backend.policy(), version: backend.version });
  const stop = new AbortController();
  const local = options.localActors ?? options.concurrency ?? 32;
  const actors = local > 0 ? runHostedActors(options.actorLink ?? link, { game, sampling, policyId: backend.policyId, anchors, concurrency: local, signal: stop.signal }) : Promise.resolve();
  try {
    // Reports name their job by id: over a bus they are copies, and one may come twice (a redelivered match).
    const handedOut = new Map<string, MatchJob<HostedJob>>();
    /** Where the link holds each finished match's report (a durable link), until an update trains on it. */
    const positions = new Map<string, number>();
    let lastPosition: number | undefined;
    // What the checkpoint had out comes back: over a bus its reports are read again (or its matches are still
    // queued); in this process its actors died with the run, so it is played again.
    for (const { job, releasedAt } of resumed?.outstanding ?? []) {
      pacer.adopt(job, releasedAt);
      handedOut.set(job.id, job);
    }
    if (resumed?.outstanding?.length) {
      if (!link.durable) await link.handOut(resumed.outstanding.map((o) => o.job));
      else if (resumed.replayFrom !== undefined) await link.replay?.(resumed.replayFrom);
    }
    // Batches are planned (their opponents drawn from the league as it is then) when the pacer has room for their matches.
    const planned: MatchJob<HostedJob>[] = [];
    let batches = options.resume?.batches ?? options.resume?.iteration ?? 0;
    const handOut = async () => {
      for (let room = pacer.room(); room > 0; ) {
        if (planned.length === 0) planned.push(...planBatch(shares, league, options.gamesPerIteration, batches++, options.seed ?? 0));
        const jobs = planned.splice(0, room);
        pacer.release(jobs);
        for (const job of jobs) handedOut.set(job.id, job);
        await link.handOut(jobs);
        room -= jobs.length;
      }
    };
    const meter = await StepMeter.start(backend);
    for (let iteration = options.resume?.iteration ?? 0; !over(iteration); iteration++) {
      await handOut();
      while (!pacer.ready()) {
        const report = await link.nextReport();
        if (!report) throw new Error('the actors stopped before the update had its matches');
        if ('error' in report) throw new Error(`match ${report.job.id} could not be played: ${report.error}`);
        const job = handedOut.get(report.job.id);
        if (!job) continue;
        // A version this learner never published (one that a learner killed after its checkpoint published) is
        // counted as the newest: its match is trained rather than lost, the importance weights correcting for it.
        const update = updateOf.get(report.version) ?? pacer.version;
        handedOut.delete(job.id);
        pacer.finish(job, update, report.result);
        if (report.position !== undefined) {
          positions.set(job.id, report.position);
          lastPosition = Math.max(lastPosition ?? 0, report.position);
        }
      }
      const batch = pacer.take();
      for (const f of batch) positions.delete(f.job.id);
      const weights = pacer.version;
      const episodes = batch.map((f) => f.result);
      for (const [member, played] of groupBy(batch.filter((f) => f.job.spec.opponent.kind === 'member'), (f) => (f.job.spec.opponent as { member: LeagueMember }).member)) {
        const record = summarize(played.map((f) => f.result), [LEARNER])[0];
        league.record(member.version, record.matches - record.errors, record.score * (record.matches - record.errors));
      }
      // A match cut short (the host failed or timed out) says nothing about the moves played before it.
      const samples = trainer.samples(episodes.filter((e) => e.outcome === 'normal'));
      const metrics: TinkerMetrics & Partial<MmdMetrics> = mmd ? await mmd.update(backend, episodes, samples) : await backend.update(samples);
      updateOf.set(metrics.version, pacer.version + 1);
      pacer.published(pacer.version + 1);
      await link.publish({ model: metrics.model, version: metrics.version });
      if (options.magnetMix) await backend.moveReference(options.magnetMix);
      if ((iteration + 1) % (options.leagueEvery ?? 5) === 0) {
        const pinned = await backend.publish(true);
        league.add(pinned.model, pinned.version);
        await options.saveMember?.(league.members.at(-1)!);
      }
      const every = options.exactEvery ?? 0;
      const exact = every > 0 && ((iteration + 1) % every === 0 || last(iteration));
      const scored = exact ? await modelPolicy(game, { host: backend.host, model: metrics.model, prompts: options.prompts ?? COMPACT_GAME_PROMPTS, temperature: options.temperature }) : undefined;
      const exploitability = scored ? evaluatePolicy(game, scored.policy).exploitability : undefined;
      const rateGames = options.rateGames ?? 0;
      const rate = rateGames > 0 && (((options.rateEvery ?? 0) > 0 && (iteration + 1) % options.rateEvery! === 0) || last(iteration));
      const ratings = rate ? await rateLeague(game, league, metrics, { sampling, policyId: backend.policyId, anchors: [...anchors.values()], gamesPerPair: rateGames, ratedVersions: options.ratedVersions, seed: options.seed, concurrency: options.concurrency, iteration }) : undefined;
      const lap = await meter.lap();
      const ages = batch.map((f) => weights - f.version).sort((a, b) => a - b);
      const done: HostedIteration = {
        iteration,
        update: iteration + 1,
        seconds: elapsed(),
        played: `${backend.policyId}@${Math.min(...batch.map((f) => Number(f.result.players.find((p) => p.name === LEARNER)!.policy!.version)))}`,
        model: metrics.model,
        version: metrics.version,
        games: episodes.length,
        record: summarize(episodes, [LEARNER])[0],
        returns: shareResults(batch),
        samples: metrics.samples,
        samplesBySeat: Array.from({ length: game.seats }, (_, seat) => samples.filter((sample) => sample.seat === seat).length),
        ...(metrics.states === undefined ? {} : { states: metrics.states, skipped: metrics.skipped }),
        loss: metrics.step.loss,
        ...(mmd ? { moveEntropy: metrics.moveEntropy, targetKl: metrics.targetKl } : { entropy: Number(metrics.step.entropy), klSampler: Number(metrics.step.kl_sampler) }),
        ...(metrics.step.kl === null ? {} : { kl: metrics.step.kl }),
        gamesPerSecond: episodes.length / (lap.ms / 1000),
        ageMedian: ages[Math.floor((ages.length - 1) / 2)],
        ageMax: ages.at(-1)!,
        ...(lap.hostBusy === undefined ? {} : { hostBusy: lap.hostBusy }),
        ...(exploitability === undefined ? {} : { exploitability, policyEntropy: meanEntropy(scored!.policy) }),
        league: standings(league),
        ...(ratings ? { ratings } : {}),
        ms: lap.ms,
      };
      history.push(done);
      const waiting = [...positions.values()];
      await options.onIteration?.(
        done,
        {
          iteration: iteration + 1,
          seconds: done.seconds,
          league: league.toJSON(),
          baselines: trainer.baselines.toJSON(),
          batches,
          update: pacer.version,
          versions: [...updateOf].filter(([, update]) => update >= pacer.version - maxStaleness - 1),
          outstanding: pacer.outstanding(),
          ...(waiting.length ? { replayFrom: Math.min(...waiting) } : lastPosition === undefined ? {} : { replayFrom: lastPosition + 1 }),
          ...(mmd ? { magnet: mmd.magnetState() } : {}),
        },
        episodes,
      );
    }
  } finally {
    stop.abort(new Error('the training run ended'));
    // A link of the caller's stays open: its other actors and its streams are the caller's business.
    if (!options.link) await link.close();
    await actors;
  }
  return history;
}

/**
 * The `mmd` objective of a run: it fits the distribution the reference host's guided pick samples moves from,
 * scored as the host scores them (its /health says how, unless the settings do).
 */
export async function mmdUpdate(options: Pick<HostedTrainingOptions, 'game' | 'backend' | 'mmd' | 'temperature' | 'resume'>): Promise<MmdUpdate> {
  const { backend } = options;
  if (backend.tinkerSampling) throw new ConfigError('the mmd objective fits the move distribution of a guided pick, and free-text sampling over the Tinker API (--tokenizer) has none: use --objective policy-gradient');
  if (backend.samplingBase !== backend.host.apiBase) throw new ConfigError("the mmd objective fits the reference host's guided-pick distribution, and the games sample elsewhere (vLLM): use --objective policy-gradient");
  const scoring = options.mmd?.scoring ?? (await backend.host.health()).guided_choice_scoring;
  if (!scoring) throw new ConfigError(`the host at ${backend.host.url} does not say how it scores guided choices (/health guided_choice_scoring), which the mmd objective needs: use --objective policy-gradient`);
  return new MmdUpdate(options.game, { ...options.mmd, scoring, temperature: options.temperature ?? 1 }, options.resume?.magnet);
}

/**
 * Actors for a hosted training run: each match on the link is played by the
 * newest version in the learner's seat, against itself, a league version or
 * the fixed agent of its share (`anchors`, by share label). trainHosted runs
 * them in its own process; a process of its own runs them for a learner
 * elsewhere on the same link. Resolves when they stop (the signal aborts or
 * the link closes).
 */
export async function runHostedActors(
  link: ActorLearnerLink<HostedJob>,
  options: {
    readonly game: Game;
    readonly sampling: HostedSampling;
    readonly policyId: string;
    readonly anchors: ReadonlyMap<string, Player>;
    readonly concurrency: number;
    readonly signal: AbortSignal;
    readonly onReport?: (report: MatchReport<HostedJob>) => void;
  },
): Promise<void> {
  const { game, anchors } = options;
  const models = new ModelPlayers(options.sampling, options.policyId);
  try {
    await runActors(link, {
      concurrency: options.concurrency,
      signal: options.signal,
      onReport: options.onReport,
      play: (job, version, signal) => {
        const learner = models.acquire(LEARNER, version);
        const { opponent } = job.spec;
        const anchor = anchors.get(job.spec.label);
        if (opponent.kind === 'agent' && !anchor) throw new ConfigError(`match ${job.id} asks for the fixed opponent "${job.spec.label}", which this actor does not have`);
        const other = opponent.kind === 'self' ? { ...learner, name: MIRROR } : opponent.kind === 'member' ? models.acquire(opponent.member.model, opponent.member) : anchor!;
        return playMatch({ game, players: seating([learner, other], job.index), seed: job.seed, matchId: job.id, signal }).finally(() => {
          models.release(learner);
          if (opponent.kind === 'member') models.release(other);
        });
      },
    });
  } finally {
    models.closeAll();
  }
}

/** Each step's wall time and the share of it the host sampled or trained, from the end of the step before. */
export class StepMeter {
  private constructor(
    private readonly backend: TinkerBackend,
    private previous: number,
    private clock: HostClock | undefined,
  ) {}

  static async start(backend: TinkerBackend): Promise<StepMeter> {
    return new StepMeter(backend, performance.now(), await hostBusy(backend));
  }

  /** The step that ends now: its milliseconds, and the host's busy share where it has a busy clock. */
  async lap(): Promise<{ ms: number; hostBusy?: number }> {
    const now = performance.now();
    const clock = await hostBusy(this.backend);
    const ms = now - this.previous;
    const from = this.clock;
    this.previous = now;
    this.clock = clock;
    // The host reads both clocks at one instant, so the share is at most 1 but for float rounding.
    return from && clock ? { ms, hostBusy: Math.min(1, (clock.busy - from.busy) / Math.max(1e-9, clock.uptime - from.uptime)) } : { ms };
  }
}

/** The league's members and the learner's win rate against each, as a step reports them. */
export function standings(league: League): HostedIteration['league'] {
  return league.members.map((m) => ({ model: m.model, games: m.games, winRate: league.winRate(m) }));
}

type HostClock = { readonly busy: number; readonly uptime: number };

/** The reference host's busy and up time in seconds; undefined from a server that has no busy clock. */
async function hostBusy(backend: TinkerBackend): Promise<HostClock | undefined> {
  const health = await backend.host.health().catch(() => undefined);
  if (!health) return undefined;
  return health.busy_seconds === undefined || health.uptime_seconds === undefined ? undefined : { busy: health.busy_seconds, uptime: health.uptime_seconds };
}

/**
 * Players that are exact versions of the hosted model, shared by the matches
 * that play them at once and closed when the last of them ends (a long run
 * plays hundreds of versions; each player holds a client).
 */
class ModelPlayers {
  private readonly players = new Map<string, { player: Player; close(): void; users: number }>();

  constructor(
    private readonly sampling: HostedSampling,
    private readonly policyId: string,
  ) {}

  /** The player `name` playing `model` (recorded as that version of the policy). */
  acquire(name: string, at: { readonly model: string; readonly version: number }): Player {
    const key = `${name}\u0000${at.model}`;
    let entry = this.players.get(key);
    if (!entry) {
      entry = { ...modelPlayer(name, at.model, { id: this.policyId, version: at.version }, this.sampling), users: 0 };
      this.players.set(key, entry);
    }
    entry.users++;
    return entry.player;
  }

  release(player: Player): void {
    for (const [key, entry] of this.players) {
      if (entry.player !== player) continue;
      if (--entry.users === 0) {
        entry.close();
        this.players.delete(key);
      }
      return;
    }
  }

  closeAll(): void {
    for (const entry of this.players.values()) entry.close();
    this.players.clear();
  }
}

/** The learner's results by share label, over the decided games of each share's matches. */
function shareResults(batch: readonly Finished<MatchJob<HostedJob>, Episode>[]): Record<string, ShareResult> {
  return Object.fromEntries(
    [...groupBy(batch, (f) => f.job.spec.label)].map(([label, played]) => {
      const record = summarize(played.map((f) => f.result), [LEARNER])[0];
      const games = record.matches - record.errors;
      return [label, { games, meanReturn: games ? record.meanReturn : 0, score: games ? record.score : 0 }];
    }),
  );
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/**
 * One update's matches: each share's count (splitGames), a league share's
 * matches spread over the members it draws (self-play while the league is
 * empty); ids `u<batch>-<share>[-v<version>]-<index>`, seats rotating with
 * the index within each group.
 */
function planBatch(shares: readonly OpponentShare[], league: League, games: number, batch: number, seed: number): MatchJob<HostedJob>[] {
  const rng = new Rng(seed * 1_000_003 + batch);
  const counts = splitGames(games, shares.map((share) => share.weight));
  const groups: { label: string; games: number; opponent: Opponent }[] = [];
  shares.forEach((share, i) => {
    if (counts[i] === 0) return;
    const { source } = share;
    if (source.kind === 'self') groups.push({ label: share.label, games: counts[i], opponent: { kind: 'self' } });
    else if (source.kind === 'agent') groups.push({ label: share.label, games: counts[i], opponent: { kind: 'agent' } });
    else {
      const drawn = league.draw(source.kind, counts[i], rng);
      if (drawn.length === 0) groups.push({ label: share.label, games: counts[i], opponent: { kind: 'self' } });
      const byVersion = new Map<LeagueMember, number>();
      for (const member of drawn) byVersion.set(member, (byVersion.get(member) ?? 0) + 1);
      for (const [member, n] of byVersion) groups.push({ label: share.label, games: n, opponent: { kind: 'member', member } });
    }
  });
  return groups.flatMap((group, g) => {
    const root = rng.split(g);
    const runId = `u${batch + 1}-${group.label}${group.opponent.kind === 'member' ? `-v${group.opponent.member.version}` : ''}`;
    return Array.from({ length: group.games }, (_, index) => ({ id: `${runId}-${index}`, seed: root.split(index).nextUint32(), index, spec: { label: group.label, opponent: group.opponent } }));
  });
}

/** The mean entropy of a tabular policy's distributions (nats). */
export function meanEntropy(policy: TabularPolicy): number {
  const states = Object.values(policy);
  const entropy = (p: Readonly<Record<string, number>>) => -Object.values(p).reduce((h, x) => (x > 0 ? h + x * Math.log(x) : h), 0);
  return states.length ? states.reduce((sum, p) => sum + entropy(p), 0) / states.length : 0;
}

/** A step's round robin: up to `ratedVersions` league versions (spread from the oldest to the newest), the version it published and the anchors. */
export function rateLeague(
  game: Game,
  league: League,
  published: { readonly model: string; readonly version: number },
  options: Omit<RateVersionsOptions, 'seed'> & { readonly ratedVersions?: number; readonly seed?: number; readonly iteration: number },
): Promise<VersionRating[]> {
  const versions = [...spread(league.members.filter((m) => m.version !== published.version), options.ratedVersions ?? 6), { model: published.model, version: published.version }];
  return rateVersions(game, versions, { ...options, seed: (options.seed ?? 0) * 1_000_003 + options.iteration });
}

/** At most n of the items, spread evenly from the first to the last. */
function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  if (n <= 1) return n === 1 ? [items.at(-1)!] : [];
  return Array.from({ length: n }, (_, k) => items[Math.round((k * (items.length - 1)) / (n - 1))]);
}
