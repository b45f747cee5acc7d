import { parseSpec, type Game, type GameParams } from '../core/index.ts';
import type { GameResolver } from './config.ts';

/**
 * The name a game is rated under: its id, and the parameters it is played
 * with that differ from its defaults, as a spec (`kuhn-poker`,
 * `kuhn-poker:hands=3,scoring=match`). Two configs that build the same game
 * (`kuhn-poker` and `kuhn-poker:hands=1`, or a module loaded from another
 * folder) share it; games that differ do not, so ratings never pool them.
 */
export function gameKey(game: Game, defaults: GameParams = {}): string {
  const differing = Object.keys(game.params)
    .sort()
    .filter((key) => JSON.stringify(game.params[key]) !== JSON.stringify(defaults[key]));
  return differing.length === 0 ? game.id : `${game.id}:${differing.map((key) => `${key}=${String(game.params[key])}`).join(',')}`;
}

/**
 * The rated name of the game a tournament config plays (`game` built from
 * the config): its defaults are the parameters the resolver gives the game
 * asked for without any (a game that needs parameters has none).
 */
export async function ratedGameOf(config: { readonly game: string; readonly params: GameParams }, game: Game, resolveGame: GameResolver): Promise<string> {
  let defaults: GameParams = {};
  try {
    defaults = (await resolveGame(parseSpec(config.game).kind, {})).params;
  } catch {
    // A game that cannot be built without parameters: every parameter it has is named.
  }
  return gameKey(game, defaults);
}

/**
 * The rated name of a stored tournament's game when the game cannot be
 * built any more (a module file that is gone): the config's game and its
 * parameters as written.
 */
export function writtenGameKey(config: { readonly game: string; readonly params: GameParams }): string {
  const { kind, options } = parseSpec(config.game);
  const params: Record<string, unknown> = { ...options, ...config.params };
  const keys = Object.keys(params).sort();
  return keys.length === 0 ? kind : `${kind}:${keys.map((key) => `${key}=${String(params[key])}`).join(',')}`;
}
