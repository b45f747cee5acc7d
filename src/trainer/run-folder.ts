import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/index.ts';
import type { TrainMetrics } from './fast-loop.ts';

/** The row metrics.jsonl gets for one update. */
export function metricsRow(m: TrainMetrics): Record<string, number> {
  return {
    update: m.update,
    episodes: m.episodes,
    seconds: Math.round(m.seconds * 1000) / 1000,
    version: m.version,
    samples: m.samples,
    episodesPerSecond: Math.round(m.episodesPerSecond),
    entropy: m.entropy,
    advantageMean: m.advantage.mean,
    advantageStd: m.advantage.std,
    advantageMin: m.advantage.min,
    advantageMax: m.advantage.max,
    ...(m.exploitability === undefined ? {} : { exploitability: m.exploitability }),
    ...(m.exploitabilityLast === undefined ? {} : { exploitabilityLast: m.exploitabilityLast }),
  };
}

/** What a checkpoint's outputs hold: the updates its metrics rows cover and the length of the episode file then. */
export interface OutputMarks {
  readonly updates: number;
  /** Bytes of episodes.msgpack at the checkpoint (absent in checkpoints written before it was recorded). */
  readonly episodeBytes?: number;
}

/** Keeps one row per update, the last written: a row for an update at or before an earlier row's replaces that row and those after it. */
export function lastRowPerUpdate(rows: readonly Record<string, unknown>[]): Record<string, unknown>[] {
  const kept: Record<string, unknown>[] = [];
  for (const row of rows) {
    const update = row.update;
    if (typeof update === 'number') while (kept.length > 0 && (kept.at(-1)!.update as number) >= update) kept.pop();
    kept.push(row);
  }
  return kept;
}

/**
 * A training run's folder: run.json (what was asked), metrics.jsonl (one row
 * per update), checkpoints/state.json (everything needed to resume), policy
 * files, episodes and report.html. Files that are replaced are written to a
 * temporary name and renamed, so a killed process leaves the last complete one.
 * A resumed run first cuts metrics.jsonl and episodes.msgpack back to what its
 * checkpoint covers (rewind), so that its outputs are those of a run that was
 * never stopped.
 */
export class RunFolder {
  constructor(readonly dir: string) {}

  /** Refuses a folder that already holds a run. */
  static checkFree(dir: string): void {
    if (existsSync(join(dir, 'run.json'))) {
      throw new ConfigError(
        `${dir} already holds a run; pass --resume ${dir} to continue it (from its last checkpoint, or from the start if it stopped before its first), or choose another --out (or delete ${dir}) to start a new one`,
      );
    }
  }

  static create(dir: string, config: Record<string, unknown>): RunFolder {
    RunFolder.checkFree(dir);
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    const folder = new RunFolder(dir);
    folder.writeJson('run.json', config);
    return folder;
  }

  /** A run folder to resume: it needs its settings (run.json); a run stopped before its first checkpoint resumes from the start. */
  static open(dir: string): RunFolder {
    if (!existsSync(join(dir, 'run.json'))) throw new ConfigError(`cannot resume from ${dir}: run.json is missing`);
    return new RunFolder(dir);
  }

  /** Whether the run has a checkpoint (checkpoints/state.json). */
  hasCheckpoint(): boolean {
    return existsSync(this.path('checkpoints/state.json'));
  }

  /**
   * Cuts the outputs back to what a checkpoint covers (no checkpoint: to
   * nothing): metrics rows of later updates go, and so do episode records
   * written after it. A killed run may have written both past its last
   * checkpoint; its resumption writes them again.
   */
  rewind(marks: OutputMarks): void {
    const metrics = this.path('metrics.jsonl');
    if (existsSync(metrics)) {
      const rows = this.metrics();
      const kept = rows.filter((row) => typeof row.update !== 'number' || row.update <= marks.updates);
      const text = kept.map((row) => `${JSON.stringify(row)}\n`).join('');
      if (text !== readFileSync(metrics, 'utf8')) this.writeText('metrics.jsonl', text);
    }
    const episodes = this.path('episodes.msgpack');
    if (marks.episodeBytes !== undefined && existsSync(episodes) && statSync(episodes).size > marks.episodeBytes) truncateSync(episodes, marks.episodeBytes);
  }

  path(file: string): string {
    return join(this.dir, file);
  }

  readJson<T>(file: string): T {
    try {
      return JSON.parse(readFileSync(this.path(file), 'utf8')) as T;
    } catch (error) {
      throw new ConfigError(`cannot read ${this.path(file)}: ${(error as Error).message}`);
    }
  }

  writeJson(file: string, value: unknown): void {
    const target = this.path(file);
    writeFileSync(`${target}.tmp`, `${JSON.stringify(value)}\n`);
    renameSync(`${target}.tmp`, target);
  }

  writeText(file: string, text: string): void {
    const target = this.path(file);
    writeFileSync(`${target}.tmp`, text);
    renameSync(`${target}.tmp`, target);
  }

  appendMetrics(row: Record<string, unknown>): void {
    appendFileSync(this.path('metrics.jsonl'), `${JSON.stringify(row)}\n`);
  }

  /** The metrics rows so far, one per update (the last written); a torn last line (a killed process) is skipped. */
  metrics(): Record<string, unknown>[] {
    if (!existsSync(this.path('metrics.jsonl'))) return [];
    const rows: Record<string, unknown>[] = [];
    for (const line of readFileSync(this.path('metrics.jsonl'), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      try {
        rows.push(JSON.parse(line));
      } catch {
        break;
      }
    }
    return lastRowPerUpdate(rows);
  }
}

/** `base`, or `base-2`, `base-3`... when earlier runs hold it, so that a default run never collides. */
export function freeRunFolder(base: string): string {
  for (let k = 1; ; k++) {
    const dir = k === 1 ? base : `${base}-${k}`;
    if (!existsSync(join(dir, 'run.json'))) return dir;
  }
}

/** What a checkpoint (checkpoints/state.json) holds besides the trainer's own state: how far the outputs go. */
export interface CheckpointMarks {
  readonly outputs?: OutputMarks;
}

export interface PreparedRun<Config, State> {
  readonly config: Config;
  /** The last checkpoint's state; none for a new run, or one killed before its first checkpoint. */
  readonly state?: State;
  /**
   * The run's folder. A new run's is made (with run.json) on the first call: call it once the settings
   * are checked, so that a refused run leaves no folder that a corrected one would then collide with.
   */
  readonly open: () => RunFolder;
}

/**
 * A run's folder and settings: on `resume`, run.json's settings with the
 * options given on the command line on top, its last checkpoint, and its
 * outputs cut back to what that checkpoint covers; otherwise a new folder
 * (`out`, or a free one named by `defaultDir`) with the settings in run.json,
 * made by `open`. Options in `runtime` only steer this invocation and are not
 * saved.
 */
export function prepareRun<Config extends { game: string }, State extends CheckpointMarks>(
  ref: string | undefined,
  options: { readonly out?: string; readonly resume?: string } & Record<string, unknown>,
  given: (key: string) => boolean,
  setup: { readonly runtime: readonly string[]; readonly defaultDir: (ref: string) => string; readonly updates?: (state: State) => number; readonly command: string },
): PreparedRun<Config, State> {
  if (options.resume) {
    const folder = RunFolder.open(options.resume);
    const config: Record<string, unknown> = { ...folder.readJson<Config>('run.json') };
    for (const [key, value] of Object.entries(options)) if (given(key) && key !== 'resume') config[key] = value;
    if (ref && ref !== config.game) throw new ConfigError(`${options.resume} is a run of ${config.game}, not ${ref}`);
    // A run killed before its first checkpoint starts again from the beginning.
    const state = folder.hasCheckpoint() ? folder.readJson<State>('checkpoints/state.json') : undefined;
    // Outputs written after the checkpoint are written again by the resumed run: cut them off first.
    folder.rewind(state?.outputs ?? { updates: state && setup.updates ? setup.updates(state) : 0, ...(state ? {} : { episodeBytes: 0 }) });
    return { config: config as Config, state, open: () => folder };
  }
  if (!ref) throw new ConfigError(`name a game to ${setup.command}, or --resume a run folder`);
  const config = { ...Object.fromEntries(Object.entries(options).filter(([key]) => key !== 'out' && key !== 'resume' && !setup.runtime.includes(key))), game: ref };
  const dir = options.out ?? freeRunFolder(setup.defaultDir(ref));
  RunFolder.checkFree(dir);
  let folder: RunFolder | undefined;
  return { config: config as unknown as Config, open: () => (folder ??= RunFolder.create(dir, config)) };
}
