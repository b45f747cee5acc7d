import type { GameParams } from '../core/index.ts';

export const EPISODE_SCHEMA = 1;

/** How a match ended: its end message and its episode say the same. */
export const OUTCOMES = ['normal', 'forfeit', 'timeout', 'truncated', 'error'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Who sat where in a match. */
export interface EpisodePlayer {
  readonly seat: number;
  readonly name: string;
  readonly role?: string;
  readonly policy?: { readonly id: string; readonly version: string | number };
}

/** One move: a seat's reply (valid or not), or a chance outcome. */
export interface EpisodeStep {
  readonly seat: number | 'chance';
  /** The role of the seat's player, when it has one (environments' proposer, solver, critic...). */
  readonly role?: string;
  /** What the seat was shown (decision steps only). */
  readonly observation?: string;
  /** The seat's information-state key (decision steps only): what tabular learners index by. */
  readonly infoKey?: string;
  /** The action as text: the game's text for valid moves and chance, the raw reply for invalid ones. */
  readonly action: string;
  /** The action as data, for valid moves and chance outcomes; replayable with game.apply. */
  readonly parsed?: unknown;
  readonly valid: boolean;
  /** Why an invalid reply was rejected. */
  readonly error?: string;
  /** Milliseconds the seat took (only when the run records timing). */
  readonly ms?: number;
  /** Model data from the agent: messages, completion, token ids, logprobs, usage, latency, model. */
  readonly meta?: Readonly<Record<string, unknown>>;
}

/** One match, as plain data: standard msgpack or JSON, readable from any language. */
export interface Episode {
  readonly schema: typeof EPISODE_SCHEMA;
  readonly id: string;
  readonly game: { readonly id: string; readonly params: GameParams };
  /** The match's seed: with the same agents, it replays the same match. */
  readonly seed: number;
  readonly players: readonly EpisodePlayer[];
  readonly steps: readonly EpisodeStep[];
  /** Every action applied to the game, chance included: `replay(game, history)` rebuilds the final state. */
  readonly history: readonly unknown[];
  readonly returns: readonly number[];
  readonly outcome: Outcome;
  /** Why a match did not end normally. */
  readonly reason?: string;
  /** The seat that forfeited or timed out. */
  readonly offender?: number;
  readonly startedAt?: string;
  readonly durationMs?: number;
}
