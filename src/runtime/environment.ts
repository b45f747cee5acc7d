import type { Observable } from 'rxjs';
import { ConfigError, Rng, type Environment } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import { readModelMeta } from '../episodes/model-meta.ts';
import type { Player } from './agent.ts';
import { pacedMatches, type Backpressure } from './backpressure.ts';
import type { InvalidMovePolicy } from './invalid-moves.ts';
import { playMatch } from './referee.ts';

export interface EnvironmentRunOptions {
  readonly environment: Environment;
  /** The player of each role; every seat of that role gets it, tagged with the role. */
  readonly players: Readonly<Record<string, Player>>;
  readonly matches: number;
  /** Matches in flight at once (default 1: each match sees what the ones before it recorded, so a seed replays the run). */
  readonly concurrency?: number;
  readonly seed?: number;
  /** Prefix of the episode ids (default `<environment>-seed<seed>`). */
  readonly runId?: string;
  readonly invalidMoves?: InvalidMovePolicy;
  readonly turnTimeoutMs?: number;
  readonly timing?: boolean;
  /** The consumer of the episodes (an `EpisodeWriter`, say): a match starts only when it can take more. */
  readonly backpressure?: Backpressure;
  /** Chooses each match's task category (SEC, `src/trainer/curriculum.ts`); the environment must have `categories`. */
  readonly curriculum?: Curriculum;
}

/** What chooses the category of each match's task. */
export interface Curriculum {
  choose(rng: Rng): string;
}

/** One match of an environment: who plays each role, and how the match is set up. */
export interface EnvironmentMatchOptions {
  readonly environment: Environment;
  readonly players: Readonly<Record<string, Player>>;
  /** Draws the game (and the category) and seeds the match. */
  readonly rng: Rng;
  readonly matchId: string;
  readonly curriculum?: Curriculum;
  readonly invalidMoves?: InvalidMovePolicy;
  readonly turnTimeoutMs?: number;
  readonly timing?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Plays one match of an environment: the game `nextGame` draws (of the
 * category the curriculum chooses), each seat filled by its role's player,
 * and the environment records the result before the episode is returned.
 */
export async function playEnvironmentMatch(options: EnvironmentMatchOptions): Promise<Episode> {
  const { environment, rng } = options;
  const seated = environment.roles.map((role) => {
    const player = options.players[role];
    if (!player) throw new ConfigError(`${environment.id} needs a player for "${role}" (its roles: ${[...new Set(environment.roles)].join(', ')})`);
    return { ...player, role };
  });
  const game = environment.nextGame(rng.split('game'), options.curriculum?.choose(rng.split('category')));
  const episode = await playMatch({
    game,
    players: seated,
    seed: rng.nextUint32(),
    matchId: options.matchId,
    invalidMoves: options.invalidMoves,
    turnTimeoutMs: options.turnTimeoutMs,
    timing: options.timing,
    signal: options.signal,
  });
  const replies = episode.steps.filter((s) => s.valid).map((s) => readModelMeta(s.meta, ['completion']).completion);
  environment.record({ game, history: episode.history, returns: episode.returns, outcome: episode.outcome, replies });
  return episode;
}

/**
 * Runs an environment's matches through the referee (`playEnvironmentMatch`),
 * as many at once as `concurrency`, each match's episode emitted once the
 * environment has recorded it.
 */
export function runEnvironment(options: EnvironmentRunOptions): Observable<Episode> {
  const { environment, players, matches } = options;
  if (!Number.isInteger(matches) || matches < 0) throw new RangeError(`matches must be a whole number, not ${matches}`);
  const missing = [...new Set(environment.roles)].filter((role) => !players[role]);
  if (missing.length) throw new ConfigError(`${environment.id} needs a player for ${missing.map((r) => `"${r}"`).join(', ')} (its roles: ${[...new Set(environment.roles)].join(', ')})`);
  const seed = options.seed ?? 0;
  const runId = options.runId ?? `${environment.id}-seed${seed}`;
  const { curriculum } = options;
  if (curriculum && !environment.categories?.length) throw new ConfigError(`${environment.id} has no task categories for a curriculum to choose among`);
  const root = new Rng(seed);
  const playOne = (index: number, signal: AbortSignal) =>
    playEnvironmentMatch({ ...options, rng: root.split(index), matchId: `${runId}-${index}`, signal });
  return pacedMatches(matches, options.concurrency ?? 1, playOne, options.backpressure, 'the environment run was unsubscribed');
}
