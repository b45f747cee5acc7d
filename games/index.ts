import { ConfigError, parseSpec, type Game } from '../src/core/index.ts';
import { connectFour } from './connect-four/index.ts';
import { kuhnPoker } from './kuhn-poker/index.ts';
import { leducPoker } from './leduc-poker/index.ts';
import { nim } from './nim/index.ts';
import { simpleNegotiation } from './simple-negotiation/index.ts';
import { ticTacToe } from './tic-tac-toe/index.ts';

export type GameFactory = (params?: Record<string, unknown>) => Game;

/** Built-in games by id. Adding a game is one folder and one line here. */
export const builtinGames: Readonly<Record<string, GameFactory>> = {
  'tic-tac-toe': ticTacToe,
  'connect-four': connectFour,
  'kuhn-poker': kuhnPoker,
  'leduc-poker': leducPoker,
  'simple-negotiation': simpleNegotiation,
  nim,
};

/** A game from its id and parameters, or from a spec such as `kuhn-poker:hands=3`. */
export function createGame(spec: string, params: Record<string, unknown> = {}): Game {
  const { kind, options } = parseSpec(spec);
  const factory = builtinGames[kind];
  if (!factory) {
    throw new ConfigError(`unknown game "${kind}"; built-in games: ${Object.keys(builtinGames).join(', ')}`);
  }
  return factory({ ...options, ...params });
}

export { connectFour, type ConnectFourState } from './connect-four/index.ts';
export { kuhnPoker, type KuhnParams, type KuhnState } from './kuhn-poker/index.ts';
export { leducPoker, type LeducState } from './leduc-poker/index.ts';
export { nim, type NimAction, type NimState } from './nim/index.ts';
export { simpleNegotiation, type NegotiationAction, type NegotiationState } from './simple-negotiation/index.ts';
export { ticTacToe, type TicTacToeState } from './tic-tac-toe/index.ts';
