import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, parseSpec, type Game } from '../core/index.ts';
import type { GameSource } from '../episodes/index.ts';
import { builtinGames, createGame } from '../../games/index.ts';
import { ensureModuleHooks } from './module-hooks.ts';

const isGame = (value: unknown): value is Game =>
  typeof value === 'object' && value !== null && typeof (value as Game).initial === 'function' && typeof (value as Game).apply === 'function';

const looksLikePath = (ref: string) => /[\\/]/.test(ref) || /\.(m?[jt]s|json)$/.test(ref.split(':')[0]);

/** `file:line` of the first place in `text` (a stack or a compiler's message) that is in `file`. */
function placeIn(file: string, text: string): string | undefined {
  for (const match of text.matchAll(/((?:file:\/\/)?\/[^\s():]+):(\d+)(?::\d+)?/g)) {
    const path = match[1].startsWith('file:') ? fileURLToPath(match[1]) : match[1];
    if (path === file) return `${file}:${match[2]}`;
  }
  return undefined;
}

/** One line saying where a user's module failed and what failed. */
export function moduleError(file: string, error: unknown, doing: string): ConfigError {
  const err = error instanceof Error ? error : new Error(String(error));
  const compiler = /^Transform failed with \d+ errors?:\n(.*)$/m.exec(err.message);
  if (compiler) return new ConfigError(`${doing}: ${compiler[1].replace(/:\d+: ERROR:/, ':').replace(/(:\d+):\d+:/, '$1:')}`);
  const where = placeIn(file, err.stack ?? '') ?? file;
  const what = err.message.split('\n')[0];
  return new ConfigError(`${doing}: ${where}: ${err.name === 'Error' ? '' : `${err.name}: `}${what}`);
}

/** How commands that take a game describe it in --help. */
export const GAME_HELP =
  "a built-in game id, parameters after a colon (kuhn-poker:hands=3), or the path of a module exporting a game or a function making one (./my-game.ts; its parameters the same way, ./my-game.ts:size=4)";

/**
 * A game from a built-in id (`kuhn-poker:hands=3`) or from a module path
 * (`./my-game.ts`, optionally `./my-game.ts:size=4`): the module's default
 * export or first exported game, or a factory called with the parameters
 * (the spec's, then `params`, as a tournament config gives them).
 */
export async function loadGame(ref: string, params: Readonly<Record<string, unknown>> = {}): Promise<Game> {
  if (!looksLikePath(ref)) return createGame(ref, { ...params });
  const { kind: path, options: written } = parseSpec(ref);
  const options = { ...written, ...params };
  const file = resolve(path);
  if (!existsSync(file)) throw new ConfigError(`no such file: ${file}`);
  if (file.endsWith('.json')) throw new ConfigError(`${file} is a JSON file: a game is a built-in id (selfplay games) or a .ts/.js module exporting one`);
  ensureModuleHooks();
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw moduleError(file, error, 'cannot load the game module');
  }
  const candidates = ['default', ...Object.keys(module).filter((k) => k !== 'default')].map((k) => module[k]);
  const parameters = Object.keys(options);
  const exported = candidates.find(isGame);
  if (exported && parameters.length === 0) return exported;
  for (const candidate of candidates) {
    if (typeof candidate !== 'function') continue;
    let made: unknown;
    try {
      made = (candidate as (params: Readonly<Record<string, unknown>>) => unknown)(options);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw moduleError(file, error, 'the game module failed making its game');
    }
    if (isGame(made)) return made;
  }
  if (exported) throw new ConfigError(`${file} exports a game, not a function that makes one, so it takes no parameters (got ${parameters.join(', ')})`);
  throw new ConfigError(`${file} exports no game: export a Game (from defineGame) or a function returning one, as default or named export`);
}

export function builtinGameIds(): string[] {
  return Object.keys(builtinGames);
}

/** How an episode writer's thread loads the game `ref` gave (openEpisodeWriter's `replay` option). */
export function gameSource(ref: string, game: Game): GameSource {
  return { game, module: import.meta.url, ref };
}
