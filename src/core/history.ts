import { isDeepStrictEqual } from 'node:util';
import { ConfigError, IllegalActionError } from './errors.ts';
import type { Game, GameParams } from './game.ts';

/** A state stored as the game that made it and the actions that led to it. */
export interface SerializedState<A = unknown> {
  readonly game: string;
  readonly params: GameParams;
  readonly history: readonly A[];
}

export function serializeState<S, A>(game: Game<S, A>, state: S): SerializedState<A> {
  return { game: game.id, params: game.params, history: [...game.history(state)] };
}

/** Replays `history` from the initial state; throws IllegalActionError naming the first bad step. */
export function replay<S, A>(game: Game<S, A>, history: readonly A[]): S {
  let state = game.initial();
  for (let i = 0; i < history.length; i++) {
    try {
      state = game.apply(state, history[i]);
    } catch (error) {
      if (error instanceof IllegalActionError) {
        throw new IllegalActionError(`history step ${i} (${JSON.stringify(history[i])}): ${error.message}`);
      }
      throw error;
    }
  }
  return state;
}

/** Restores a serialised state, refusing one made by another game or other parameters. */
export function restoreState<S, A>(game: Game<S, A>, data: SerializedState<A>): S {
  if (data === null || typeof data !== 'object' || !Array.isArray(data.history)) {
    throw new ConfigError('a serialised state is an object {game, params, history: [...]}');
  }
  if (data.game !== game.id) throw new ConfigError(`this state belongs to game "${data.game}", not "${game.id}"`);
  if (!isDeepStrictEqual({ ...(data.params ?? {}) }, { ...game.params })) {
    throw new ConfigError(`this state was made with parameters ${JSON.stringify(data.params)}, not ${JSON.stringify(game.params)}`);
  }
  return replay(game, data.history);
}
