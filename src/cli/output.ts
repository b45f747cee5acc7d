import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../core/index.ts';

/** Where commands write: results to stdout, progress and errors to stderr. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
}

export const processIO: CliIO = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

export function printJson(io: CliIO, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** Parses an integer option, with an error naming the option. */
export function intOption(name: string, min = 0, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got "${value}"`);
    if (n > max) throw new InvalidArgumentError(`${name} must be at most ${max.toLocaleString('en-US')}, got "${value}"`);
    return n;
  };
}

/** Parses a number option (finite, at least `min`), with an error naming the option. */
export function numberOption(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) throw new ConfigError(`${name} must be a number >= ${min}, got "${value}"`);
    return n;
  };
}

/** Parses an option that takes one of a few names. */
export function choice<T extends string>(name: string, allowed: readonly T[]) {
  return (value: string): T => {
    if (!allowed.includes(value as T)) throw new ConfigError(`${name} must be one of ${allowed.join(', ')}, got "${value}"`);
    return value as T;
  };
}
