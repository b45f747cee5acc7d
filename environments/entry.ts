import type { Environment } from '../src/core/index.ts';

/** Options from the command line (`--param key=value`), as strings; each environment reads and checks its own. */
export type EnvironmentOptions = Readonly<Record<string, string>>;

export interface EnvironmentEntry {
  readonly description: string;
  /** The options it reads, with their defaults, for `--help`. */
  readonly options: Readonly<Record<string, string>>;
  create(options: EnvironmentOptions): Environment | Promise<Environment>;
}
