import { ParseError } from './errors.ts';
import type { Game, GameParams } from './game.ts';
import type { Rng } from './rng.ts';

/** A finished match of an environment, as `record` needs it. */
export interface EnvironmentMatch {
  /** The game `nextGame` made for this match. */
  readonly game: Game;
  /** Every action applied, chance included: replaying it on `game` gives the final state. */
  readonly history: readonly unknown[];
  readonly returns: readonly number[];
  /** `normal`, or how the match was cut short (forfeit, timeout, truncated, error). */
  readonly outcome: string;
  /** Per entry of `history`: the model's whole reply when a model made that move (for preference data), else undefined. */
  readonly replies?: readonly (string | undefined)[];
}

/** What a finished match teaches beyond its returns (`Environment.trainingTargets`). */
export interface TrainingTargets {
  /** The moves a supervised step imitates, as indices into the match's history (ReST-MCTS*'s best trace). */
  readonly imitate: readonly number[];
  /** A JSON record of what was found (ReST-MCTS*'s traces and per-step value targets), written by `selfplay env --targets`. */
  readonly record: Readonly<Record<string, unknown>>;
}

/** A scripted stand-in for a role: the role's output as data, from what the seat observes. */
export type ScriptedRole = (observation: any, rng: Rng) => unknown;

/**
 * An asymmetric self-play environment (Absolute Zero, SPC, SOAR, eva): every
 * match is a game between roles, drawn from the environment's current state
 * (task buffers, prompt pools, the student), played by the same referee as any
 * game. Seats answer with their role's output as JSON (open turns); a reply a
 * role could not read is sent as `{"malformed": "why"}` and scored as badly
 * formatted, never as an illegal move, and so is a seat that does not answer
 * in time or sends something unreadable (the games' `failedTurnAction`).
 */
export interface Environment {
  readonly id: string;
  readonly description: string;
  /** The role of each seat, in seat order; one role may fill several seats (n solver samples). */
  readonly roles: readonly string[];
  /**
   * Task categories a curriculum may choose among (Absolute Zero's task types,
   * eva's task families). An environment that has them draws the next game
   * from the category `nextGame` is given, and records each game's category
   * as its `params.taskType`.
   */
  readonly categories?: readonly string[];
  /** The game of the next match, of `category` when given (one of `categories`). Does not change the environment; `record` does. */
  nextGame(rng: Rng, category?: string): Game;
  /** Learns from a finished match: keeps a valid task, evolves the pool, trains or promotes the student. */
  record(match: EnvironmentMatch): void;
  /** Where the environment stands (buffer sizes, pool, student accuracy), for summaries. */
  stats(): Readonly<Record<string, number | string>>;
  /** What the environment has learnt so far (task buffers, pools, counts), as JSON, for a training run's checkpoint. */
  snapshot?(): unknown;
  /** Takes back what `snapshot` gave (a resumed run); throws ConfigError on anything else, changing nothing. */
  restore?(saved: unknown): void;
  /**
   * What a finished match teaches, from its game as an episode records it (id and params) and its history: the
   * moves to imitate and a record to write out. Environments trained by imitation (rest-mcts) have it.
   */
  trainingTargets?(game: { readonly id: string; readonly params: GameParams }, history: readonly unknown[]): TrainingTargets;
  /**
   * The return `seat` would have got had the match's last move, its own, been each of `answers` instead (moves as
   * its role's reader gives them: the critic's `{verdict}`), from the match's game as an episode records it, its
   * history and its returns; undefined where the environment cannot tell. A learner takes the policy gradient's
   * exact expectation over the choices of a closed answer with it (train-llm --objective all-choices).
   */
  alternativeReturns?(
    game: { readonly id: string; readonly params: GameParams },
    history: readonly unknown[],
    returns: readonly number[],
    seat: number,
    answers: readonly unknown[],
  ): readonly number[] | undefined;
  /** One scripted agent per role, so that the environment runs end to end with no model. */
  readonly scripted: Readonly<Record<string, ScriptedRole>>;
}

/** A role output that its reader could not parse: scored as badly formatted. */
export interface Malformed {
  readonly malformed: string;
}

/** An environment's `failedTurnAction`: a seat that failed to answer gave a badly formatted answer. */
export const malformedTurn = (_state: unknown, reason: string): Malformed => ({ malformed: reason });

/**
 * The turn functions of a game whose every seat has an open turn (a role's
 * reply, no list of legal actions) and no chance: `turn`, with the open turn,
 * the badly formatted reply of a seat that fails, and no actions to list.
 */
export function openTurns<S>(turn: (state: S) => number | 'terminal') {
  return {
    turn,
    openTurn: (state: S) => turn(state) !== 'terminal',
    failedTurnAction: malformedTurn,
    legalActions: (): never[] => [],
    chanceOutcomes: (): never[] => [],
  };
}

export const isMalformed = (value: unknown): value is Malformed =>
  typeof value === 'object' && value !== null && typeof (value as Malformed).malformed === 'string';

/**
 * Reads an open turn's reply: JSON that `read` accepts, or `{"malformed": why}`.
 * Anything else is a ParseError (a broken agent, not a badly formatted answer).
 */
export function parseRoleReply<T>(text: string, read: (value: unknown) => T, what: string): T | Malformed {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ParseError(`expected ${what} as JSON, or {"malformed": "why"}; got text that is not JSON`);
  }
  if (isMalformed(value)) return { malformed: value.malformed };
  return read(value);
}
