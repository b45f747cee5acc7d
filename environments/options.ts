import { ConfigError } from '../src/core/index.ts';
import type { EnvironmentOptions } from './entry.ts';

/** Throws ConfigError naming any option the environment does not read. */
export function checkOptions(environment: string, options: EnvironmentOptions, known: readonly string[]): void {
  const unknown = Object.keys(options).filter((key) => !known.includes(key));
  if (unknown.length) throw new ConfigError(`${environment} has no option ${unknown.map((k) => `"${k}"`).join(', ')}; its options: ${known.join(', ')}`);
}

/** A number option in [min, max] (integer when `integer`), or its default when absent. */
export function numberOption(environment: string, options: EnvironmentOptions, name: string, fallback: number, range: { min: number; max: number; integer?: boolean }): number {
  const raw = options[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  const kind = range.integer ? 'a whole number' : 'a number';
  if (raw.trim() === '' || !Number.isFinite(value) || (range.integer && !Number.isInteger(value)) || value < range.min || value > range.max) {
    throw new ConfigError(`${environment}: ${name} must be ${kind} from ${range.min} to ${range.max}, not "${raw}"`);
  }
  return value;
}
