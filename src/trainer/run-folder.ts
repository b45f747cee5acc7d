import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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

/**
 * A training run's folder: run.json (what was asked), metrics.jsonl (one row
 * per update), checkpoints/state.json (everything needed to resume), policy
 * files, episodes and report.html. Files that are replaced are written to a
 * temporary name and renamed, so a killed process leaves the last complete one.
 */
export class RunFolder {
  constructor(readonly dir: string) {}

  static create(dir: string, config: Record<string, unknown>): RunFolder {
    if (existsSync(join(dir, 'run.json'))) {
      throw new ConfigError(`${dir} already holds a run; pass --resume ${dir} to continue it, or choose another --out`);
    }
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    const folder = new RunFolder(dir);
    folder.writeJson('run.json', config);
    return folder;
  }

  static open(dir: string): RunFolder {
    for (const file of ['run.json', 'checkpoints/state.json']) {
      if (!existsSync(join(dir, file))) throw new ConfigError(`cannot resume from ${dir}: ${file} is missing`);
    }
    return new RunFolder(dir);
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

  /** The metrics rows so far; a torn last line (a killed process) is skipped. */
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
    return rows;
  }
}
