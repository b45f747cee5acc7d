import { lastValueFrom, toArray } from 'rxjs';
import { llmAgent } from '../../agents/llm/agent.ts';
import { COMPACT_GAME_PROMPTS, type GamePrompts } from '../../agents/llm/game-prompt.ts';
import { LlmClient } from '../../agents/llm/llm-client.ts';
import { resolveLlmOptions } from '../../agents/llm/options.ts';
import { evaluatePolicy } from '../analysis/index.ts';
import type { Game } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import { runArena, summarize, type AgentRecord, type Player } from '../runtime/index.ts';
import { EpisodeTrainer, type EpisodeAlgorithm } from './episode-trainer.ts';
import type { HostedPolicyBackend } from './hosted-backend.ts';
import { modelPolicy } from './model-policy.ts';

export const LEARNER = 'learner';

export interface HostedPlayOptions {
  readonly game: Game;
  /** Which version plays: the exact model name (`tiny@3`). */
  readonly model: string;
  /** The host's OpenAI API root (`http://127.0.0.1:8100/v1`). */
  readonly apiBase: string;
  /** The policy id and version recorded in the episodes. */
  readonly policy: { readonly id: string; readonly version: number };
  /** Who the model plays; without one, itself (self-play: the same version in every seat). */
  readonly opponent?: Player;
  readonly games: number;
  readonly seed: number;
  /** Matches in flight (default 32). */
  readonly concurrency?: number;
  /** Sampling temperature over the legal moves (default 1). */
  readonly temperature?: number;
  readonly prompts?: GamePrompts;
}

/**
 * Plays the hosted model, restricted to legal moves, against an opponent or
 * itself, seats rotating; returns the episodes and the record of the player
 * named `learner` (in self-play, the model in its first seat).
 */
export async function playHosted(options: HostedPlayOptions): Promise<{ episodes: Episode[]; record: AgentRecord }> {
  const client = new LlmClient(resolveLlmOptions({ model: options.model, baseURL: options.apiBase, guidedChoice: true, temperature: options.temperature ?? 1, retries: 2 }, {}));
  try {
    const learner: Player = { name: LEARNER, agent: llmAgent({ client, prompts: options.prompts ?? COMPACT_GAME_PROMPTS }), policy: options.policy };
    const opponent = options.opponent
      ? { ...options.opponent, name: options.opponent.name === LEARNER ? `${LEARNER}-opponent` : options.opponent.name }
      : { ...learner, name: `${LEARNER}-mirror` };
    const episodes = await lastValueFrom(
      runArena({ game: options.game, players: [learner, opponent], matches: options.games, seed: options.seed, concurrency: options.concurrency ?? 32, seats: 'rotate' }).pipe(toArray()),
    );
    return { episodes, record: summarize(episodes, [LEARNER])[0] };
  } finally {
    client.close();
  }
}

export interface HostedIteration {
  readonly iteration: number;
  /** The version that played this iteration's games. */
  readonly played: string;
  /** The version the update published. */
  readonly model: string;
  readonly record: AgentRecord;
  readonly samples: number;
  /** Samples per seat: in self-play every seat's turns train the model. */
  readonly samplesBySeat: readonly number[];
  readonly loss: number;
  /** The published version's exact exploitability, when `exactEvery` asked for it this iteration. */
  readonly exploitability?: number;
  readonly ms: number;
}

export interface HostedTrainingOptions {
  readonly game: Game;
  readonly backend: HostedPolicyBackend;
  /** The fixed opponent; without one, self-play (SPIRAL's shared policy: every seat's turns are samples). */
  readonly opponent?: Player;
  readonly iterations: number;
  readonly gamesPerIteration: number;
  /** Advantage estimator (default `rae`, SPIRAL's role-conditioned baseline). */
  readonly algo?: EpisodeAlgorithm;
  readonly seed?: number;
  readonly concurrency?: number;
  readonly prompts?: GamePrompts;
  /** Every this many iterations (and after the last), the published version's exact exploitability (a game small enough to walk; default never). */
  readonly exactEvery?: number;
  readonly onIteration?: (iteration: HostedIteration) => void;
}

/**
 * On-policy training of a hosted model: each iteration plays a batch of games
 * with the newest version (against itself by default), turns the learner's
 * turns into samples with advantages (each seat its own baseline under RAE),
 * takes one training step on the host and publishes the result.
 */
export async function trainHosted(options: HostedTrainingOptions): Promise<HostedIteration[]> {
  const { game, backend } = options;
  const trainer = new EpisodeTrainer(game, backend, { policyId: backend.host.policy, algo: options.algo ?? 'rae', maxStaleness: 0 });
  const history: HostedIteration[] = [];
  for (let iteration = 0; iteration < options.iterations; iteration++) {
    const started = performance.now();
    const played = backend.policy();
    const { episodes, record } = await playHosted({
      game,
      model: played,
      apiBase: backend.samplingBase,
      policy: { id: backend.host.policy, version: backend.version },
      opponent: options.opponent,
      games: options.gamesPerIteration,
      seed: (options.seed ?? 0) * 1_000_003 + iteration,
      concurrency: options.concurrency,
      prompts: options.prompts,
    });
    // A match cut short (the host failed or timed out) says nothing about the moves played before it.
    const samples = trainer.samples(episodes.filter((e) => e.outcome === 'normal'));
    const metrics = await backend.update(samples);
    const samplesBySeat = Array.from({ length: game.seats }, (_, seat) => samples.filter((sample) => sample.seat === seat).length);
    const every = options.exactEvery ?? 0;
    const exact = every > 0 && ((iteration + 1) % every === 0 || iteration === options.iterations - 1);
    const exploitability = exact ? evaluatePolicy(game, (await modelPolicy(game, { host: backend.host, model: metrics.model, prompts: options.prompts ?? COMPACT_GAME_PROMPTS })).policy).exploitability : undefined;
    const done: HostedIteration = {
      iteration,
      played,
      model: metrics.model,
      record,
      samples: metrics.samples,
      samplesBySeat,
      loss: metrics.step.loss,
      ...(exploitability === undefined ? {} : { exploitability }),
      ms: performance.now() - started,
    };
    history.push(done);
    options.onIteration?.(done);
  }
  return history;
}
