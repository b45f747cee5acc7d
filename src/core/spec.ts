import type { z } from 'zod';
import { ConfigError } from './errors.ts';
import type { ParamValue } from './game.ts';

/** A `kind[:key=value,...]` spec, as games and agents are named on the command line. */
export interface Spec {
  readonly kind: string;
  readonly options: Readonly<Record<string, string>>;
}

export function parseSpec(text: string): Spec {
  const colon = text.indexOf(':');
  const kind = (colon < 0 ? text : text.slice(0, colon)).trim();
  if (!kind) throw new ConfigError(`"${text}" names nothing; expected kind[:key=value,...]`);
  const options: Record<string, string> = {};
  if (colon >= 0) {
    for (const part of text.slice(colon + 1).split(',')) {
      if (!part.trim()) continue;
      const eq = part.indexOf('=');
      if (eq <= 0) throw new ConfigError(`"${part}" in "${text}" is not key=value`);
      const key = part.slice(0, eq).trim();
      if (key in options) throw new ConfigError(`"${key}" is given twice in "${text}"`);
      options[key] = part.slice(eq + 1).trim();
    }
  }
  return { kind, options };
}

/**
 * Validates a game's raw parameters (strings from the command line, or typed
 * values from code) with its zod schema, with an error that names the game.
 */
export function parseParams<T extends Record<string, ParamValue>>(
  gameId: string,
  schema: z.ZodType<T>,
  raw: Readonly<Record<string, unknown>>,
): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues
    .map((issue) => `${issue.path.join('.') || 'parameters'}: ${issue.message}`)
    .join('; ');
  throw new ConfigError(`${gameId}: bad parameters (${problems})`);
}
