import { EpisodeError } from './errors.ts';
import type { EpisodeFormat } from './codec.ts';
import type { Episode } from './episode.ts';

/** What openEpisodeWriter returns; see its methods. */
export interface EpisodeWriter {
  readonly path: string;
  readonly format: EpisodeFormat;
  /** Episodes written by this writer (not those already in the file). */
  readonly count: number;
  /** Validates and appends one episode; resolves at once unless more than 64 KiB wait for the file, then once less does. */
  write(episode: Episode): Promise<void>;
  /**
   * Validates and appends one episode without waiting: throws at once what
   * write() would reject with, and returns false when more than 64 KiB wait
   * for the file (a caller that paces its producer with ready() may go on).
   */
  append(episode: Episode): boolean;
  /** Episodes (and their bytes) handed to write() that have not reached the file yet. */
  readonly pending: { readonly episodes: number; readonly bytes: number };
  /**
   * Backpressure for a producer (an arena's `backpressure` option): undefined
   * while fewer than maxPendingEpisodes episodes and maxPendingBytes bytes
   * wait to reach the file, else a promise that resolves once they are under
   * half of that (or rejects if a write failed).
   */
  ready(): Promise<void> | undefined;
  /** Resolves once every episode written so far has reached the file (the operating system's, not necessarily the disk's). */
  flush(): Promise<void>;
  /** Flushes, fsyncs and closes the file; calling it again returns the same promise. */
  close(): Promise<void>;
  /**
   * With the `replay` option: resolves once the writer's thread has its game
   * and takes the episodes (those appended before were encoded here, as
   * without the option), or rejects with why it cannot (then the writer fails).
   */
  readonly replaying?: Promise<void>;
}

/** Records encoded on this thread and appended through the file's handle, counted in `pending` until they are in the file. */
export interface DirectRecords {
  /** Encodes one episode for the file; throws EpisodeError for what the writer refuses, having added nothing. */
  add(episode: Episode): void;
  /** Undefined when no write is under way or waiting; else a promise of the moment none is. */
  drained(): Promise<void> | undefined;
}

const HIGH_WATER_MARK = 64 * 1024;

/**
 * Episodes (and their bytes) handed to a writer that have not reached its file
 * yet, the first failure on the way there, and the callers waiting for fewer.
 */
export class PendingRecords {
  episodes = 0;
  bytes = 0;
  failure: Error | undefined;
  readonly #waiters: { episodes: number; bytes: number; resolve: () => void; reject: (error: Error) => void }[] = [];

  constructor(
    readonly maxEpisodes: number,
    readonly maxBytes: number,
  ) {}

  add(episodes: number, bytes: number): void {
    this.episodes += episodes;
    this.bytes += bytes;
  }

  /** Those episodes and bytes reached the file. */
  done(episodes: number, bytes: number): void {
    this.episodes -= episodes;
    this.bytes -= bytes;
    this.#settle();
  }

  /** Keeps the first failure; every waiter, and every later caller, gets it. */
  fail(error: Error): void {
    this.failure ??= error;
    this.#settle();
  }

  /** Resolves once no more than `episodes` episodes and `bytes` bytes are pending. */
  under(episodes: number, bytes: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.episodes <= episodes && this.bytes <= bytes) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ episodes, bytes, resolve, reject }));
  }

  ready(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.episodes < this.maxEpisodes && this.bytes < this.maxBytes) return undefined;
    return this.under(this.maxEpisodes / 2, this.maxBytes / 2);
  }

  #settle(): void {
    const waiters = this.#waiters;
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i];
      if (this.failure) w.reject(this.failure);
      else if (this.episodes <= w.episodes && this.bytes <= w.bytes) w.resolve();
      else continue;
      waiters.splice(i, 1);
    }
  }
}

/**
 * The EpisodeWriter over a way of moving records to a file: `add` takes one
 * episode (throwing what the writer refuses, having added nothing) and counts
 * it in `pending`, which its transport empties; `finish` runs once nothing is
 * pending, or once a write failed (`sync` false: nothing more will reach the
 * file), to close the file, fsyncing it first when `sync`.
 */
export function episodeWriterOf(
  path: string,
  format: EpisodeFormat,
  pending: PendingRecords,
  add: (episode: Episode) => void,
  finish: (sync: boolean) => Promise<void>,
  extra: Pick<EpisodeWriter, 'replaying'> = {},
): EpisodeWriter {
  let count = 0;
  let closing: Promise<void> | undefined;
  const append = (episode: Episode): boolean => {
    if (closing) throw new EpisodeError(`cannot write to ${path}: the writer is closed`);
    if (pending.failure) throw pending.failure;
    add(episode);
    count++;
    return pending.bytes < HIGH_WATER_MARK;
  };
  return {
    path,
    format,
    get count() {
      return count;
    },
    async write(episode) {
      if (!append(episode)) await pending.under(Infinity, HIGH_WATER_MARK - 1);
    },
    append,
    pending: {
      get episodes() {
        return pending.episodes;
      },
      get bytes() {
        return pending.bytes;
      },
    },
    ready: () => pending.ready(),
    flush: () => pending.under(0, 0),
    close() {
      closing ??= pending.under(0, 0).then(
        () => finish(true),
        async (error: unknown) => {
          await finish(false);
          throw error;
        },
      );
      return closing;
    },
    ...extra,
  };
}
