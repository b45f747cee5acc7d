import { basename, resolve } from 'node:path';
import type { PolicyHostClient, Published } from '../../agents/hosted/host-client.ts';
import type { HostedIteration, HostedRunState } from './hosted-loop.ts';
import type { LeagueMember } from './league.ts';
import type { Chart, ReportInput } from './report.ts';
import type { CheckpointMarks } from './run-folder.ts';

/** checkpoints/state.json of a hosted run: the loop's state, the host checkpoint that holds its weights, and how far the outputs go. */
export interface HostedCheckpoint extends CheckpointMarks {
  readonly state: HostedRunState;
  /** The host checkpoint (a file in the host's checkpoint directory) with the weights, optimizer and KL reference. */
  readonly weights: string;
  readonly version: number;
}

/**
 * The names a run's checkpoints get on the host: the run folder's name and a
 * hash of its path, so that runs sharing a host do not overwrite each other.
 */
export function checkpointTag(dir: string): string {
  const path = resolve(dir);
  let hash = 2166136261;
  for (let i = 0; i < path.length; i++) hash = Math.imul(hash ^ path.charCodeAt(i), 16777619) >>> 0;
  const name = basename(path).replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[._-]+/, '').slice(0, 80) || 'run';
  return `${name}-${hash.toString(16).padStart(8, '0')}`;
}

/** The host checkpoint of a league member's weights. */
export const memberCheckpoint = (tag: string, version: number) => `${tag}-v${version}`;

/** The host checkpoint slot an update writes: two slots in turn, so that a kill while one is written leaves the other whole. */
export const weightsSlot = (tag: string, update: number) => `${tag}-${update % 2 === 0 ? 'a' : 'b'}`;

/** Saves a league member's weights on the host (they are the training weights at the moment it is pinned). */
export async function saveMember(host: PolicyHostClient, tag: string, member: LeagueMember): Promise<void> {
  await host.checkpoint(memberCheckpoint(tag, member.version));
}

/**
 * Puts a host back where a checkpoint left it: the league's versions (if any)
 * published and pinned (each from its own checkpoint, oldest first, since
 * versions only grow), then the training weights, published. A host that
 * still serves a version (the same host, still running) keeps it.
 */
export async function restoreHost(host: PolicyHostClient, tag: string, checkpoint: { readonly weights: string; readonly version: number }, league: readonly LeagueMember[] = []): Promise<Published> {
  const status = (await host.health()).policies.find((p) => p.id === host.policy);
  if (!status) throw new Error(`the host serves no policy ${host.policy}`);
  const members = [...league].sort((a, b) => a.version - b.version);
  for (const member of members) {
    if (status.published.includes(member.version)) continue;
    await host.load(`${memberCheckpoint(tag, member.version)}.pt`);
    await host.publish({ pin: true });
  }
  if (status.version !== checkpoint.version || members.some((m) => !status.published.includes(m.version))) await host.load(`${checkpoint.weights}.pt`);
  return host.publish();
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
    loss: round(it.loss),
    entropy: round(it.entropy),
    klSampler: round(it.klSampler),
    ...(it.kl === undefined ? {} : { kl: round(it.kl) }),
    gamesPerSecond: round(it.gamesPerSecond, 4),
    ageMedian: it.ageMedian,
    ageMax: it.ageMax,
    ...(it.hostBusy === undefined ? {} : { hostBusy: round(it.hostBusy, 4) }),
    ...Object.fromEntries(Object.entries(it.returns).flatMap(([label, r]) => [[`return.${label}`, round(r.meanReturn)], [`score.${label}`, round(r.score)]])),
    ...(it.exploitability === undefined ? {} : { exploitability: it.exploitability, policyEntropy: round(it.policyEntropy!) }),
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
    { title: 'Entropy (nats)', series: [{ key: 'policyEntropy', label: 'moves, mean over information states' }, { key: 'entropy', label: 'tokens of the sampled turns' }] },
    { title: 'KL (k3 per token)', series: [{ key: 'klSampler', label: 'trained vs sampler' }, { key: 'kl', label: 'to the reference (magnet)' }] },
    { title: 'Throughput (games per second)', series: [{ key: 'gamesPerSecond', label: 'games/s' }] },
    { title: 'Share of the time the host sampled or trained', series: [{ key: 'hostBusy', label: 'host busy' }] },
    { title: 'Age of the versions that played a step (versions behind the weights it updated)', series: [{ key: 'ageMedian', label: 'median' }, { key: 'ageMax', label: 'most' }] },
  ];
  const rated = [...metrics].reverse().find((row) => Array.isArray(row.ratings));
  const ratings = (rated?.ratings ?? []) as { name: string; rating: number; low: number; high: number; games: number; points: number }[];
  const tables = ratings.length
    ? [{ title: `Version ratings after update ${rated!.update} (Bradley-Terry, Elo scale, 95% bootstrap interval)`, head: ['player', 'rating', 'low', 'high', 'games', 'points'], rows: ratings.map((r) => [r.name, Math.round(r.rating), Math.round(r.low), Math.round(r.high), r.games, r.points]) }]
    : [];
  return { title, summary, metrics, charts, x: { key: 'update', label: 'update' }, tables };
}
