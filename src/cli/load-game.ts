import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, parseSpec, type Game } from '../core/index.ts';
import { builtinGames, createGame } from '../../games/index.ts';

const isGame = (value: unknown): value is Game =>
  typeof value === 'object' && value !== null && typeof (value as Game).initial === 'function' && typeof (value as Game).apply === 'function';

const looksLikePath = (ref: string) => /[\\/]/.test(ref) || /\.(m?[jt]s)$/.test(ref.split(':')[0]);

/**
 * A game from a built-in id (`kuhn-poker:hands=3`) or from a module path
 * (`./my-game.ts`, optionally `./my-game.ts:size=4`): the module's default
 * export or first exported game, or a factory called with the parameters.
 */
export async function loadGame(ref: string): Promise<Game> {
  if (!looksLikePath(ref)) return createGame(ref);
  const { kind: path, options } = parseSpec(ref);
  const file = resolve(path);
  if (!existsSync(file)) throw new ConfigError(`no such file: ${file}`);
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const candidates = ['default', ...Object.keys(module).filter((k) => k !== 'default')].map((k) => module[k]);
  for (const candidate of candidates) if (isGame(candidate)) return candidate;
  for (const candidate of candidates) {
    if (typeof candidate !== 'function') continue;
    const made = (candidate as (params: Record<string, string>) => unknown)(options);
    if (isGame(made)) return made;
  }
  throw new ConfigError(`${file} exports no game: export a Game (from defineGame) or a function returning one, as default or named export`);
}

export function builtinGameIds(): string[] {
  return Object.keys(builtinGames);
}
