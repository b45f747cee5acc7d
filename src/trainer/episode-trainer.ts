import { Subject } from 'rxjs';
import { ConfigError } from '../core/index.ts';
import type { Episode, EpisodePlayer } from '../episodes/episode.ts';
import { readModelMeta } from '../episodes/model-meta.ts';
import { groupNormalizedAdvantages, grpoAdvantages, RoleBaselines, rlooAdvantages } from './advantages.ts';
import { ALGORITHMS } from './fast-loop.ts';
import type { Game } from '../core/index.ts';
import type { BackendMetrics, PolicyBackend } from './backend.ts';
import type { Sample } from './samples.ts';

/**
 * The estimators for episodes from any source: the fast loop's, Absolute
 * Zero's task-relative one, and `state-rloo`: each turn's return minus the
 * mean return of the batch's other turns at the same information state (a
 * state-dependent baseline, which games whose information states recur in a
 * batch afford; a state seen once falls back to RAE's role baseline).
 */
export const EPISODE_ALGORITHMS = [...ALGORITHMS, 'trr++', 'state-rloo'] as const;
export type EpisodeAlgorithm = (typeof EPISODE_ALGORITHMS)[number];

const TOKEN_FIELDS = ['promptTokenIds', 'completionTokenIds', 'logprobs'] as const;

/** The token data a language-model turn recorded (see ModelTurnMeta), when it is all there and consistent. */
export function tokensOf(meta: unknown): Pick<Sample, 'tokens'> {
  const { promptTokenIds: prompt, completionTokenIds: completion, logprobs } = readModelMeta(meta, TOKEN_FIELDS);
  if (!prompt || !completion || !logprobs || logprobs.length !== completion.length) return {};
  return { tokens: { prompt, completion, logprobs } };
}

export interface EpisodeTrainerOptions {
  /** The policy id whose turns are learned from; other seats are opponents. */
  readonly policyId: string;
  /** Which of the players with that policy id learn (default all): a league's past versions share the id but are opponents. */
  readonly learns?: (player: EpisodePlayer) => boolean;
  /** The role baselines to continue from (a resumed run's); RAE only. */
  readonly baselines?: RoleBaselines;
  /** `trr++`: Absolute Zero's task-relative REINFORCE++, returns normalised per (task type, role) over the batch. */
  readonly algo?: EpisodeAlgorithm;
  /** Accepted episodes per update (default 1000). */
  readonly batchEpisodes?: number;
  /** Episodes played by a version more than this many updates old are dropped (default 2). */
  readonly maxStaleness?: number;
  /** Episode ids remembered for deduplication (default 1,000,000). */
  readonly rememberIds?: number;
}

export type IngestResult =
  | { readonly accepted: true; readonly version: number }
  | { readonly accepted: false; readonly version: number; readonly reason: 'duplicate' | 'stale' | 'no-learner-turns' | 'error-outcome' };

export interface TrainerStats {
  received: number;
  accepted: number;
  duplicates: number;
  stale: number;
  ignored: number;
  updates: number;
}

/**
 * The trainer for episodes that come from anywhere (arenas in this process or
 * others): it deduplicates them by id, drops those played by a policy version
 * too old (staleness), turns the learner's turns into samples with the chosen
 * advantage estimator, and updates the learner every `batchEpisodes` accepted
 * episodes, announcing each new version on `versions$`.
 */
export class EpisodeTrainer {
  readonly versions$ = new Subject<BackendMetrics>();
  readonly stats: TrainerStats = { received: 0, accepted: 0, duplicates: 0, stale: 0, ignored: 0, updates: 0 };
  private readonly seen = new Set<string>();
  private readonly pending: Episode[] = [];
  readonly baselines: RoleBaselines;
  private updating: Promise<void> = Promise.resolve();

  constructor(
    readonly game: Game,
    readonly backend: PolicyBackend,
    readonly options: EpisodeTrainerOptions,
  ) {
    if ((options.batchEpisodes ?? 1000) < 1) throw new ConfigError('batchEpisodes must be at least 1');
    this.baselines = options.baselines ?? new RoleBaselines();
  }

  get version(): number {
    return this.backend.version;
  }

  /** Resolves when every update started so far has finished (a remote backend updates asynchronously). */
  settled(): Promise<void> {
    return this.updating;
  }

  ingest(episode: Episode): IngestResult {
    this.stats.received++;
    const version = this.backend.version;
    if (this.seen.has(episode.id)) {
      this.stats.duplicates++;
      return { accepted: false, version, reason: 'duplicate' };
    }
    this.remember(episode.id);
    if (episode.outcome === 'error') {
      this.stats.ignored++;
      return { accepted: false, version, reason: 'error-outcome' };
    }
    const seats = learnerSeats(episode, this.options);
    if (seats.length === 0) {
      this.stats.ignored++;
      return { accepted: false, version, reason: 'no-learner-turns' };
    }
    const oldest = Math.min(...seats.map((s) => playedVersion(episode, s)));
    if (oldest < version - (this.options.maxStaleness ?? 2)) {
      this.stats.stale++;
      return { accepted: false, version, reason: 'stale' };
    }
    this.stats.accepted++;
    this.pending.push(episode);
    if (this.pending.length >= (this.options.batchEpisodes ?? 1000)) this.update();
    return { accepted: true, version: this.backend.version };
  }

  /** The samples of a set of episodes, with advantages from the chosen estimator (each role is a group). */
  samples(episodes: readonly Episode[]): Sample[] {
    return learnerSamples(episodes, this.options, this.baselines);
  }

  private update(): void {
    const samples = this.samples(this.pending.splice(0, this.pending.length));
    const result = this.backend.update(samples);
    const publish = (metrics: BackendMetrics) => {
      this.stats.updates++;
      this.versions$.next(metrics);
    };
    if (result instanceof Promise) this.updating = this.updating.then(() => result).then(publish);
    else publish(result);
  }


  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > (this.options.rememberIds ?? 1_000_000)) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
  }
}

/** The seats of an episode that the learner played: its policy id, and `learns` (default all). */
export function learnerSeats(episode: Episode, options: Pick<EpisodeTrainerOptions, 'policyId' | 'learns'>): number[] {
  const learns = options.learns ?? (() => true);
  return episode.players.filter((p) => p.policy?.id === options.policyId && learns(p)).map((p) => p.seat);
}

function playedVersion(episode: Episode, seat: number): number {
  return Number(episode.players[seat].policy?.version ?? 0);
}

/**
 * The learner's turns in `episodes` as samples, with advantages from the
 * chosen estimator (each role is a group; RAE reads and updates `baselines`).
 */
export function learnerSamples(episodes: readonly Episode[], options: Pick<EpisodeTrainerOptions, 'policyId' | 'learns' | 'algo'>, baselines: RoleBaselines): Sample[] {
  const algo = options.algo ?? 'rae';
  const rows: { episode: Episode; seat: number; role: string; reward: number }[] = [];
  for (const episode of episodes) {
    // A seat that never acted (a solver after an invalid task) has no samples, and its return must not move a baseline.
    const acted = new Set(episode.steps.map((s) => s.seat));
    for (const seat of learnerSeats(episode, options).filter((s) => acted.has(s))) rows.push({ episode, seat, role: episode.players[seat].role ?? `seat ${seat}`, reward: episode.returns[seat] });
  }
  const advantage = new Array<number>(rows.length);
  if (algo === 'rae' || algo === 'state-rloo') {
    rows.forEach((row, i) => (advantage[i] = baselines.advantage(row.episode.game.id, row.role, row.reward)));
  } else if (algo === 'trr++') {
    const groups = rows.map((row) => `${row.episode.game.params.taskType ?? row.episode.game.id}/${row.role}`);
    groupNormalizedAdvantages(rows.map((row) => row.reward), groups).forEach((a, i) => (advantage[i] = a));
  } else {
    const byRole = new Map<string, number[]>();
    rows.forEach((row, i) => byRole.set(row.role, [...(byRole.get(row.role) ?? []), i]));
    for (const indices of byRole.values()) {
      const values = algo === 'grpo' ? grpoAdvantages(indices.map((i) => rows[i].reward)) : rlooAdvantages(indices.map((i) => rows[i].reward));
      indices.forEach((i, k) => (advantage[i] = values[k]));
    }
  }
  const samples = rows.flatMap((row, i) =>
    row.episode.steps
      .filter((step) => step.seat === row.seat && step.valid && step.infoKey !== undefined)
      .map((step) => ({
        episodeId: row.episode.id,
        policy: { id: options.policyId, version: playedVersion(row.episode, row.seat) },
        seat: row.seat,
        role: row.role,
        infoKey: step.infoKey,
        observation: step.observation,
        action: step.action,
        reward: row.reward,
        advantage: advantage[i],
        ...tokensOf(step.meta),
      })),
  );
  return algo === 'state-rloo' ? stateBaselined(samples) : samples;
}

/** Each sample's return minus the mean return of the other samples at its information state (its role's), where there are others. */
function stateBaselined(samples: readonly Sample[]): Sample[] {
  const groups = new Map<string, number[]>();
  samples.forEach((sample, i) => {
    const key = `${sample.role}\u0000${sample.infoKey}`;
    const list = groups.get(key);
    if (list) list.push(i);
    else groups.set(key, [i]);
  });
  const out = [...samples];
  for (const indices of groups.values()) {
    if (indices.length < 2) continue;
    const loo = rlooAdvantages(indices.map((i) => samples[i].reward));
    indices.forEach((i, k) => (out[i] = { ...samples[i], advantage: loo[k] }));
  }
  return out;
}
