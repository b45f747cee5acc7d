import { lastValueFrom, toArray } from 'rxjs';
import { createPlayer } from '../../agents/index.ts';
import { COMPACT_GAME_PROMPTS, type GamePrompts } from '../../agents/llm/game-prompt.ts';
import { evaluatePolicy } from '../analysis/index.ts';
import { Rng, type Game, type TabularPolicy } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import { runArena, summarize, type AgentRecord, type Player } from '../runtime/index.ts';
import { RoleBaselines } from './advantages.ts';
import { EpisodeTrainer, type EpisodeAlgorithm } from './episode-trainer.ts';
import type { HostedPolicyBackend } from './hosted-backend.ts';
import { League, parseOpponents, splitGames, type LeagueMember, type LeagueState, type OpponentShare } from './league.ts';
import { modelPlayer, type HostedSampling } from './model-player.ts';
import { modelPolicy } from './model-policy.ts';
import { rateVersions, type VersionRating } from './version-ratings.ts';

export const LEARNER = 'learner';
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
  /** The version that played this iteration's games. */
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
  readonly loss: number;
  /** Mean token entropy of the sampled turns under the weights before the step (nats). */
  readonly entropy: number;
  /** Mean KL (k3) of the trained weights from the sampler's, and from the KL reference when a KL penalty is on. */
  readonly klSampler: number;
  readonly kl?: number;
  /** Games played per second of playing (evaluations not counted). */
  readonly gamesPerSecond: number;
  /** The published version's exact exploitability, when `exactEvery` asked for it this iteration. */
  readonly exploitability?: number;
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
}

export interface HostedTrainingOptions {
  readonly game: Game;
  readonly backend: HostedPolicyBackend;
  /** Who the learner plays, as shares of each batch: `self:0.6,pfsp:0.3,random:0.1` (see parseOpponents; default: itself only). */
  readonly opponents?: string | readonly OpponentShare[];
  /** Players for the shares that are fixed agents, by share label (default: each made from its spec). */
  readonly anchors?: ReadonlyMap<string, Player>;
  /** Stop after this many updates in all (default: no bound, `seconds` bounds the run). */
  readonly iterations?: number;
  /** Start no update after this much wall time in all. */
  readonly seconds?: number;
  readonly gamesPerIteration: number;
  /** Advantage estimator (default `rae`, SPIRAL's role-conditioned baseline). */
  readonly algo?: EpisodeAlgorithm;
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

/**
 * On-policy training of a hosted model: each iteration plays a batch of
 * games with the newest version, against itself and against the opponents
 * the shares ask for (past versions from the league, fixed agents), turns
 * the learner's turns into samples with advantages (each seat its own
 * baseline under RAE), takes one training step on the host and publishes the
 * result. Only the learner's own seats train it; a league version is an
 * opponent even though it is the same policy.
 */
export async function trainHosted(options: HostedTrainingOptions): Promise<HostedIteration[]> {
  const { game, backend } = options;
  const shares = typeof options.opponents === 'string' ? parseOpponents(options.opponents) : (options.opponents ?? parseOpponents('self'));
  const anchors = new Map(shares.flatMap((share) => (share.source.kind === 'agent' ? [[share.label, options.anchors?.get(share.label) ?? createPlayer(share.source.spec, game)] as const] : [])));
  const league = new League(options.resume?.league);
  const trainer = new EpisodeTrainer(game, backend, {
    policyId: backend.host.policy,
    algo: options.algo ?? 'rae',
    maxStaleness: 0,
    learns: (player) => player.name === LEARNER || player.name === MIRROR,
    baselines: options.resume ? RoleBaselines.fromJSON(options.resume.baselines) : undefined,
  });
  const sampling: HostedSampling = { apiBase: backend.samplingBase, temperature: options.temperature, prompts: options.prompts };
  const history: HostedIteration[] = [];
  const startedAt = performance.now() - (options.resume?.seconds ?? 0) * 1000;
  const elapsed = () => (performance.now() - startedAt) / 1000;
  // Whether the run starts no step `iteration` (counting from 0); a step after which none starts is the run's last.
  const over = (iteration: number) => iteration >= (options.iterations ?? Infinity) || (options.seconds !== undefined && elapsed() >= options.seconds) || options.signal?.aborted === true;
  const last = (iteration: number) => over(iteration + 1);
  for (let iteration = options.resume?.iteration ?? 0; !over(iteration); iteration++) {
    const started = performance.now();
    const played = backend.policy();
    const seed = (options.seed ?? 0) * 1_000_003 + iteration;
    const groups = opponentGroups(shares, league, anchors, options.gamesPerIteration, new Rng(seed));
    const playStarted = performance.now();
    const results = await playGroups(groups, { game, model: played, policy: { id: backend.host.policy, version: backend.version }, sampling, seed, runId: `u${iteration + 1}`, concurrency: options.concurrency ?? 32 });
    const playSeconds = (performance.now() - playStarted) / 1000;
    for (const { group, record } of results) if (group.member) league.record(group.member.version, record.matches - record.errors, record.score * (record.matches - record.errors));
    const episodes = results.flatMap((r) => r.episodes);
    // A match cut short (the host failed or timed out) says nothing about the moves played before it.
    const samples = trainer.samples(episodes.filter((e) => e.outcome === 'normal'));
    const metrics = await backend.update(samples);
    if (options.magnetMix) await backend.host.moveReference(options.magnetMix);
    if ((iteration + 1) % (options.leagueEvery ?? 5) === 0) {
      const pinned = await backend.host.publish({ pin: true });
      league.add(pinned.model, pinned.version);
      await options.saveMember?.(league.members.at(-1)!);
    }
    const every = options.exactEvery ?? 0;
    const exact = every > 0 && ((iteration + 1) % every === 0 || last(iteration));
    const scored = exact ? await modelPolicy(game, { host: backend.host, model: metrics.model, prompts: options.prompts ?? COMPACT_GAME_PROMPTS, temperature: options.temperature }) : undefined;
    const exploitability = scored ? evaluatePolicy(game, scored.policy).exploitability : undefined;
    const rateGames = options.rateGames ?? 0;
    const rate = rateGames > 0 && (((options.rateEvery ?? 0) > 0 && (iteration + 1) % options.rateEvery! === 0) || last(iteration));
    const ratings = rate
      ? await rateVersions(game, [...spread(league.members.filter((m) => m.version !== metrics.version), options.ratedVersions ?? 6), { model: metrics.model, version: metrics.version }], {
          sampling,
          policyId: backend.host.policy,
          anchors: [...anchors.values()],
          gamesPerPair: rateGames,
          seed: seed,
          concurrency: options.concurrency,
        })
      : undefined;
    const ms = performance.now() - started;
    const done: HostedIteration = {
      iteration,
      update: iteration + 1,
      seconds: elapsed(),
      played,
      model: metrics.model,
      version: metrics.version,
      games: episodes.length,
      record: summarize(episodes, [LEARNER])[0],
      returns: shareResults(results),
      samples: metrics.samples,
      samplesBySeat: Array.from({ length: game.seats }, (_, seat) => samples.filter((sample) => sample.seat === seat).length),
      loss: metrics.step.loss,
      entropy: Number(metrics.step.entropy),
      klSampler: Number(metrics.step.kl_sampler),
      ...(metrics.step.kl === null ? {} : { kl: metrics.step.kl }),
      gamesPerSecond: episodes.length / playSeconds,
      ...(exploitability === undefined ? {} : { exploitability, policyEntropy: meanEntropy(scored!.policy) }),
      league: league.members.map((m) => ({ model: m.model, games: m.games, winRate: league.winRate(m) })),
      ...(ratings ? { ratings } : {}),
      ms,
    };
    history.push(done);
    await options.onIteration?.(done, { iteration: iteration + 1, seconds: done.seconds, league: league.toJSON(), baselines: trainer.baselines.toJSON() }, episodes);
  }
  return history;
}

/** Plays each group's games at once (the concurrency shared in proportion to their sizes): the learner against the group's opponent. */
async function playGroups(
  groups: readonly OpponentGroup[],
  setup: { game: Game; model: string; policy: { id: string; version: number }; sampling: HostedSampling; seed: number; runId: string; concurrency: number },
): Promise<{ group: OpponentGroup; episodes: Episode[]; record: AgentRecord }[]> {
  const total = groups.reduce((n, group) => n + group.games, 0);
  return Promise.all(
    groups.map(async (group, g) => {
      const opponent = group.member ? modelPlayer(group.member.model, group.member.model, { id: setup.policy.id, version: group.member.version }, setup.sampling) : undefined;
      try {
        const outcome = await playHosted({
          ...setup.sampling,
          game: setup.game,
          model: setup.model,
          policy: setup.policy,
          opponent: opponent?.player ?? group.anchor,
          games: group.games,
          seed: setup.seed * 64 + g,
          runId: `${setup.runId}-${group.label}${group.member ? `-v${group.member.version}` : ''}`,
          concurrency: Math.max(1, Math.round((setup.concurrency * group.games) / total)),
        });
        return { group, ...outcome };
      } finally {
        opponent?.close();
      }
    }),
  );
}

/** The learner's results by share label, over the decided games of the share's groups. */
function shareResults(results: readonly { group: OpponentGroup; record: AgentRecord }[]): Record<string, ShareResult> {
  const totals = new Map<string, { games: number; returns: number; points: number }>();
  for (const { group, record } of results) {
    const decided = record.matches - record.errors;
    const total = totals.get(group.label) ?? { games: 0, returns: 0, points: 0 };
    totals.set(group.label, { games: total.games + decided, returns: total.returns + record.meanReturn * decided, points: total.points + record.score * decided });
  }
  return Object.fromEntries([...totals].map(([label, t]) => [label, { games: t.games, meanReturn: t.games ? t.returns / t.games : 0, score: t.games ? t.points / t.games : 0 }]));
}

interface OpponentGroup {
  readonly label: string;
  readonly games: number;
  readonly member?: LeagueMember;
  readonly anchor?: Player;
}

/** An update's games by opponent: each share's count, a league share's games spread over the members it draws (self-play while the league is empty). */
function opponentGroups(shares: readonly OpponentShare[], league: League, anchors: ReadonlyMap<string, Player>, games: number, rng: Rng): OpponentGroup[] {
  const counts = splitGames(games, shares.map((share) => share.weight));
  const groups: OpponentGroup[] = [];
  shares.forEach((share, i) => {
    if (counts[i] === 0) return;
    const { source } = share;
    if (source.kind === 'self') groups.push({ label: share.label, games: counts[i] });
    else if (source.kind === 'agent') {
      groups.push({ label: share.label, games: counts[i], anchor: anchors.get(share.label) });
    } else {
      const drawn = league.draw(source.kind, counts[i], rng);
      if (drawn.length === 0) groups.push({ label: share.label, games: counts[i] });
      const byVersion = new Map<LeagueMember, number>();
      for (const member of drawn) byVersion.set(member, (byVersion.get(member) ?? 0) + 1);
      for (const [member, n] of byVersion) groups.push({ label: share.label, games: n, member });
    }
  });
  return groups;
}

/** The mean entropy of a tabular policy's distributions (nats). */
function meanEntropy(policy: TabularPolicy): number {
  const states = Object.values(policy);
  const entropy = (p: Readonly<Record<string, number>>) => -Object.values(p).reduce((h, x) => (x > 0 ? h + x * Math.log(x) : h), 0);
  return states.length ? states.reduce((sum, p) => sum + entropy(p), 0) / states.length : 0;
}

/** At most n of the items, spread evenly from the first to the last. */
function spread<T>(items: readonly T[], n: number): T[] {
  if (items.length <= n) return [...items];
  if (n <= 1) return n === 1 ? [items.at(-1)!] : [];
  return Array.from({ length: n }, (_, k) => items[Math.round((k * (items.length - 1)) / (n - 1))]);
}
