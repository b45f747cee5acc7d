import type { Observable } from 'rxjs';
import { Rng, type Game } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import type { Player } from './agent.ts';
import { pacedMatches, type Backpressure } from './backpressure.ts';
import type { InvalidMovePolicy } from './invalid-moves.ts';
import type { EventMessage } from './messages.ts';
import { playMatch } from './referee.ts';

export interface ArenaOptions {
  readonly game: Game;
  /** One player per seat; with `seats: 'rotate'` match k seats player i at seat (i + k) mod seats. */
  readonly players: readonly Player[];
  readonly matches: number;
  /** Matches in flight at once (default 8): what lets slow, asynchronous agents overlap. */
  readonly concurrency?: number;
  /** Each match gets a seed derived from this one and its index (default 0). */
  readonly seed?: number;
  readonly seats?: 'rotate' | 'fixed';
  /** Matches 2k and 2k+1 share a seed: with two seats rotating, each player gets both sides of the same deals. */
  readonly pairedSeeds?: boolean;
  /** Prefix of the episode ids, `<runId>-<match index>` (default `seed<seed>`). */
  readonly runId?: string;
  readonly invalidMoves?: InvalidMovePolicy;
  readonly turnTimeoutMs?: number;
  readonly maxTurns?: number;
  readonly timing?: boolean;
  readonly onEvent?: (event: EventMessage) => void;
  /**
   * The consumer of the episodes (an `EpisodeWriter`, say): a match starts
   * only when it says it can take more, so the arena runs no further ahead
   * than the consumer, however many matches there are.
   */
  readonly backpressure?: Backpressure;
}

/** The players of match `index` in seat order. */
export function seating<T>(players: readonly T[], index: number, mode: 'rotate' | 'fixed' = 'rotate'): T[] {
  if (mode === 'fixed') return [...players];
  const n = players.length;
  return players.map((_, seat) => players[(seat + n - (index % n)) % n]);
}

/**
 * Runs many matches with bounded concurrency and emits each episode as its
 * match ends. Matches start one by one as room frees up (and, with
 * `backpressure`, as the consumer takes the episodes), so the run holds only
 * the matches in flight, for any number of matches. Unsubscribing aborts
 * every match in flight: their timers are cleared and their agents' streams
 * completed.
 */
export function runArena(options: ArenaOptions): Observable<Episode> {
  const { game, players, matches } = options;
  if (!Number.isInteger(matches) || matches < 0) throw new RangeError(`matches must be a whole number, not ${matches}`);
  if (players.length !== game.seats) throw new RangeError(`${game.id} needs ${game.seats} players, got ${players.length}`);
  const seed = options.seed ?? 0;
  const runId = options.runId ?? `seed${seed}`;
  const root = new Rng(seed);

  return pacedMatches(
    matches,
    options.concurrency ?? 8,
    (index, signal) =>
      playMatch({
        game,
        players: seating(players, index, options.seats),
        seed: root.split(options.pairedSeeds ? Math.floor(index / 2) : index).nextUint32(),
        matchId: `${runId}-${index}`,
        invalidMoves: options.invalidMoves,
        turnTimeoutMs: options.turnTimeoutMs,
        maxTurns: options.maxTurns,
        timing: options.timing,
        signal,
        onEvent: options.onEvent,
      }),
    options.backpressure,
    'the arena was unsubscribed',
  );
}
