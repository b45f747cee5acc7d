import { ConfigError } from '../core/index.ts';
import type { HostedIteration, HostedRunState } from './hosted-loop.ts';
import type { LeagueMember } from './league.ts';
import type { Chart, ReportInput } from './report.ts';
import type { CheckpointMarks } from './run-folder.ts';
import type { TinkerBackend } from './tinker-backend.ts';
import type { VersionRating } from './version-ratings.ts';

/** Where a run's weights are: the tinker:// path of the checkpoint it resumes from, and of each league member's. */
export interface SavedWeights {
  /** The weights, optimizer state and KL reference. */
  readonly weights: string;
  readonly version: number;
  /** Each league member's weights, by version. */
  readonly members?: Readonly<Record<string, string>>;
}

/** checkpoints/state.json of a hosted run: the loop's state, where its weights are, and how far the outputs go. */
export interface HostedCheckpoint extends CheckpointMarks, SavedWeights {
  readonly state: HostedRunState;
}

/**
 * The weights of a run's checkpoints on the Tinker server: each update's under a name of its own
 * (Tinker checkpoints are not overwritten), the one it replaces deleted once state.json names the new one, so
 * that a kill at any moment leaves a whole checkpoint that state.json names.
 */
export class RunWeights {
  private readonly members: Record<string, string>;

  constructor(
    private readonly backend: TinkerBackend,
    private previous?: SavedWeights,
  ) {
    this.members = { ...previous?.members };
  }

  /** Saves the weights, calls `record` (which writes state.json) with where they are, then deletes the replaced checkpoint. */
  async save(update: number, version: number, record: (saved: SavedWeights) => void): Promise<void> {
    const saved = { weights: await this.backend.model.saveWeights(`update-${update}`), version, members: { ...this.members } };
    record(saved);
    const replaced = this.previous?.weights;
    this.previous = saved;
    // A server that cannot delete (or a checkpoint already gone) leaves a file behind, nothing worse.
    if (replaced && replaced !== saved.weights) await this.backend.model.client.deleteCheckpoint(replaced).catch(() => undefined);
  }

  /** Saves a league member's weights (the training weights at the moment it joins). */
  async saveMember(member: LeagueMember): Promise<void> {
    this.members[member.version] = await this.backend.model.saveWeights(`member-v${member.version}`);
  }
}

/** Refuses a checkpoint written before runs trained over the Tinker API (its weights a host checkpoint name). */
export function checkResumable(saved: SavedWeights): void {
  if (typeof saved.weights !== 'string' || !saved.weights.startsWith('tinker://')) {
    throw new ConfigError(`this run was checkpointed before selfplay trained over the Tinker API (its weights are ${JSON.stringify(saved.weights)}, not a tinker:// path): start a new run`);
  }
}

/**
 * Puts a fresh model back where a checkpoint left it: the league's versions (if any) loaded and published as
 * kept sampler weights, oldest first (versions only grow), then the training weights, published. Returns the
 * league with its members' new model names (a new model has a new id).
 */
export async function restoreWeights(backend: TinkerBackend, saved: SavedWeights, league: readonly LeagueMember[] = []): Promise<LeagueMember[]> {
  const names = new Map<number, string>();
  for (const member of [...league].sort((a, b) => a.version - b.version)) {
    const path = saved.members?.[member.version];
    if (!path) throw new ConfigError(`checkpoints/state.json has no weights for league member ${member.model} (version ${member.version})`);
    await backend.model.loadWeights(path);
    backend.loadedVersion(member.version);
    names.set(member.version, (await backend.publish(true)).model);
  }
  await backend.model.loadWeights(saved.weights);
  backend.loadedVersion(saved.version);
  const published = await backend.publish();
  if (published.version !== saved.version) throw new ConfigError(`the checkpoint ${saved.weights} holds version ${published.version}, state.json says ${saved.version}`);
  return league.map((member) => ({ ...member, model: names.get(member.version)! }));
}

/** One metrics.jsonl row per update. */
export function hostedMetricsRow(it: HostedIteration): Record<string, unknown> {
  const round = (x: number, digits = 6) => +x.toPrecision(digits);
  return {
    update: it.update,
    seconds: round(it.seconds),
    version: it.version,
    model: it.model,
    games: it.games,
    samples: it.samples,
    ...(it.states === undefined ? {} : { states: it.states, skipped: it.skipped }),
    loss: round(it.loss),
    ...(it.entropy === undefined ? {} : { entropy: round(it.entropy) }),
    ...(it.klSampler === undefined ? {} : { klSampler: round(it.klSampler) }),
    ...(it.moveEntropy === undefined ? {} : { moveEntropy: round(it.moveEntropy) }),
    ...(it.targetKl === undefined ? {} : { targetKl: round(it.targetKl) }),
    ...(it.kl === undefined ? {} : { kl: round(it.kl) }),
    gamesPerSecond: round(it.gamesPerSecond, 4),
    ageMedian: it.ageMedian,
    ageMax: it.ageMax,
    ...(it.hostBusy === undefined ? {} : { hostBusy: round(it.hostBusy, 4) }),
    ...Object.fromEntries(Object.entries(it.returns).flatMap(([label, r]) => [[`return.${label}`, round(r.meanReturn)], [`score.${label}`, round(r.score)]])),
    ...(it.exploitability === undefined ? {} : { exploitability: it.exploitability, policyEntropy: round(it.policyEntropy!) }),
    ...(it.exploitabilityBefore === undefined ? {} : { exploitabilityBefore: it.exploitabilityBefore }),
    league: it.league.length,
    ...(it.ratings ? { ratings: it.ratings } : {}),
  };
}

/** The report of a hosted run: exploitability on a log axis, returns by opponent, entropy, KL, throughput and the last version ratings. */
export function hostedReport(title: string, summary: ReportInput['summary'], metrics: readonly Record<string, unknown>[]): ReportInput {
  const labels = [...new Set(metrics.flatMap((row) => Object.keys(row).filter((key) => key.startsWith('return.')).map((key) => key.slice('return.'.length))))];
  const charts: Chart[] = [
    { title: 'Exact exploitability of the sampling policy', log: true, series: [{ key: 'exploitability', label: 'exploitability' }] },
    { title: "Learner's mean return by opponent", series: labels.map((label) => ({ key: `return.${label}`, label })) },
    {
      title: 'Entropy (nats)',
      series: [
        { key: 'policyEntropy', label: 'moves, mean over information states' },
        { key: 'moveEntropy', label: "moves, mean over the batch's states" },
        { key: 'entropy', label: 'per token of the sampled turns' },
      ],
    },
    {
      title: 'KL (nats)',
      series: [
        { key: 'targetKl', label: 'target vs policy before the update (mmd)' },
        { key: 'klSampler', label: 'trained vs sampler, k3 per token' },
        { key: 'kl', label: 'to the reference (magnet), k3 per token' },
      ],
    },
    { title: 'Throughput (games per second)', series: [{ key: 'gamesPerSecond', label: 'games/s' }] },
    { title: 'Share of the time the host sampled or trained', series: [{ key: 'hostBusy', label: 'host busy' }] },
    { title: 'Age of the versions that played a step (versions behind the weights it updated)', series: [{ key: 'ageMedian', label: 'median' }, { key: 'ageMax', label: 'most' }] },
  ];
  const rated = [...metrics].reverse().find((row) => Array.isArray(row.ratings));
  const ratings = (rated?.ratings ?? []) as VersionRating[];
  const signed = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '' : `${x >= 0 ? '+' : ''}${x.toFixed(3)}`);
  const tables = ratings.length
    ? [
        {
          title: `Version ratings after update ${rated!.update} (Bradley-Terry, Elo scale, 95% bootstrap interval; mean return a game against the field, 95% interval over paired deals)`,
          head: ['player', 'rating', 'low', 'high', 'games', 'points', 'mean return', 'return low', 'return high'],
          rows: ratings.map((r) => [r.name, Math.round(r.rating), Math.round(r.low), Math.round(r.high), r.games, r.points, signed(r.meanReturn), signed(r.returnLow), signed(r.returnHigh)]),
        },
      ]
    : [];
  return { title, summary, metrics, charts, x: { key: 'update', label: 'update' }, tables };
}
