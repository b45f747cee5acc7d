import type { z } from 'zod';
import { ConfigError, IllegalActionError, ParseError } from '../src/core/index.ts';

/** A reader of a role output's JSON value by its shape: throws ParseError naming what was expected and the first problem. */
export function shapeReader<T>(shape: z.ZodType<T>, what: string): (value: unknown) => T {
  return (value) => {
    const parsed = shape.safeParse(value);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new ParseError(`expected ${what}; ${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`);
  };
}

/** `read(action)`, its ParseError becoming an IllegalActionError of environment `id` (an action applied without being parsed). */
export function readOrIllegal<T>(id: string, read: (value: unknown) => T, action: unknown): T {
  try {
    return read(action);
  } catch (error) {
    if (error instanceof ParseError) throw new IllegalActionError(`${id}: ${error.message}`);
    throw error;
  }
}

/** A snapshot read back by its shape (`Environment.restore`): a ConfigError naming the environment and the first problem. */
export function readSnapshot<T>(id: string, shape: z.ZodType<T>, saved: unknown): T {
  const parsed = shape.safeParse(saved);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ConfigError(`${id}: the saved environment state cannot be restored: ${issue.path.join('.') || 'the state'}: ${issue.message}`);
}
