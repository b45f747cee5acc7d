import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { concatMap, filter, materialize, Observable } from 'rxjs';
import { ConfigError } from '../core/errors.ts';
import { appendEpisode, resolveFormat, type EpisodeFormat } from './codec.ts';
import type { Episode } from './episode.ts';
import { EpisodeError, recordTooLong } from './errors.ts';
import type { ByteSink } from './msgpack-encoder.ts';
import { episodeWriterOf, PendingRecords, type DirectRecords, type EpisodeWriter } from './pending-records.ts';
import { DEFAULT_MAX_RECORD_BYTES, unfinishedBytes } from './records.ts';
import { replayingWriter, type GameSource } from './replaying-writer.ts';

export type { EpisodeWriter } from './pending-records.ts';

export interface WriterOptions {
  /** Overrides the format the file's extension names. */
  format?: EpisodeFormat;
  /** The longest record accepted (default 64 MiB, what readers accept by default). */
  maxRecordBytes?: number;
  /** Called when opening finds an unfinished record at the end of the file (a writer killed mid-write) and cuts it off. */
  onTruncated?: (bytesRemoved: number) => void;
  /**
   * The episodes come from a referee (playMatch, runArena, runEnvironment),
   * whose shape is right by construction: only what agents put in them is
   * checked, as the tournament store does, not the whole schema (which costs
   * several times the encoding). Default false.
   */
  builtEpisodes?: boolean;
  /** `ready()` holds a producer back while more episodes than this wait to reach the file (default 256; 4096 with `replay`, whose waiting episodes take a few dozen bytes each)... */
  maxPendingEpisodes?: number;
  /** ...or more bytes than this (default 1 MiB). */
  maxPendingBytes?: number;
  /**
   * Encode and write in a thread of its own, where the episodes of a referee
   * (builtEpisodes) are rebuilt from their actions by replaying them through
   * the game that `replay` loads: handing an episode to another thread whole
   * would cost as much as encoding it. For long runs of small matches (a
   * thread takes a moment to start). The records are the same bytes.
   */
  replay?: GameSource;
}

/** The buffers records are encoded into start at this size and grow as a batch needs... */
const BATCH_BYTES = 64 * 1024;
/** ...and one grown past this (by a long record) is not kept for the next batch. */
const SPARE_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Opens an episode file for appending (creating it, and its folder, if needed). Records are
 * appended in order (those handed over while a write is under way go
 * together in the next write), so a crash leaves at most one unfinished
 * record at the end; opening a file cuts such a record off first, which reads
 * the whole file once (finding where records end, not decoding them). One
 * writer per file at a time.
 */
export async function openEpisodeWriter(path: string, options: WriterOptions = {}): Promise<EpisodeWriter> {
  const format = resolveFormat(path, options.format);
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  if (options.replay && options.builtEpisodes !== true) throw new ConfigError('a writer that replays episodes in a thread takes only episodes a referee built: set builtEpisodes');
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, 'a+');
  try {
    await prepareForAppend(handle, path, format, options);
  } catch (error) {
    await handle.close();
    throw error;
  }
  // Small marks keep a producer close behind the file: a killed run loses no more than this, and batches stay small.
  const pending = new PendingRecords(options.maxPendingEpisodes ?? (options.replay ? 4096 : 256), options.maxPendingBytes ?? 1024 * 1024);
  const finish = async (sync: boolean) => {
    try {
      // A device or a pipe (/dev/null) has nothing to make durable, and fsync says so with EINVAL.
      if (sync) await handle.sync().catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EINVAL') throw error;
      });
    } finally {
      await handle.close();
    }
  };
  const direct = directRecords(handle, format, maxRecordBytes, options.builtEpisodes === true, pending);
  if (options.replay) return replayingWriter({ path, format, fd: handle.fd, maxRecordBytes, pending, direct, finish, source: options.replay });
  return episodeWriterOf(path, format, pending, direct.add, finish);
}

function directRecords(handle: FileHandle, format: EpisodeFormat, maxRecordBytes: number, built: boolean, pending: PendingRecords): DirectRecords {
  // Records are encoded straight into `batch` (no buffer of their own, none to join them) and wait there
  // while a write is under way, then go together in one write: a Writable stream's bookkeeping per record
  // cost more than playing a Kuhn poker match. Two buffers take turns: one is written while the other fills.
  let batch: ByteSink = { bytes: Buffer.allocUnsafe(BATCH_BYTES), length: 0 };
  let batchEpisodes = 0;
  let spare: Buffer | undefined;
  let writing = false;
  let draining: Promise<void> = Promise.resolve();
  /** Writes the batch, then what was appended meanwhile, until nothing waits. */
  async function drainQueue(): Promise<void> {
    writing = true;
    try {
      while (batchEpisodes > 0 && !pending.failure) {
        const { bytes, length } = batch;
        const episodes = batchEpisodes;
        batch = { bytes: spare ?? Buffer.allocUnsafe(BATCH_BYTES), length: 0 };
        batchEpisodes = 0;
        spare = undefined;
        try {
          await writeAll(handle, bytes, length);
        } catch (error) {
          pending.fail(error as Error);
        }
        // A buffer grown for a long record goes; one of the usual size is used again.
        if (bytes.length <= SPARE_MAX_BYTES) spare = bytes;
        pending.done(episodes, length);
      }
    } finally {
      writing = false;
    }
  }

  return {
    add(episode) {
      const length = appendEpisode(batch, episode, format, built);
      if (length > maxRecordBytes) {
        batch.length -= length;
        throw recordTooLong(episode.id, length, maxRecordBytes);
      }
      batchEpisodes++;
      pending.add(1, length);
      if (!writing) draining = drainQueue();
    },
    drained: () => (writing ? draining : undefined),
  };
}

/** Writes the first `bytes` bytes of `data` at the end of the file (opened for appending), going on after a short write. */
async function writeAll(handle: FileHandle, data: Buffer, bytes: number): Promise<void> {
  let written = 0;
  while (written < bytes) written += (await handle.write(data, written, bytes - written)).bytesWritten;
}

/** Cuts off an unfinished last record so appended records don't follow garbage, and ends a last JSON line that lacks its newline. */
async function prepareForAppend(handle: FileHandle, path: string, format: EpisodeFormat, options: WriterOptions): Promise<void> {
  const { size } = await handle.stat();
  if (size === 0) return;
  let unfinished: number;
  try {
    unfinished = await unfinishedBytes(path, format, { maxRecordBytes: options.maxRecordBytes });
  } catch (error) {
    if (!(error instanceof EpisodeError)) throw error;
    throw new EpisodeError(`cannot append to ${path}: ${error.message}`, error.index, error.offset);
  }
  if (unfinished > 0) {
    await handle.truncate(size - unfinished);
    options.onTruncated?.(unfinished);
  } else if (format === 'jsonl') {
    const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, size - 1);
    if (buffer[0] !== 0x0a) await handle.write('\n');
  }
}

/**
 * Writes every episode of `episodes$` in order, one write at a time (concatMap:
 * episodes that arrive while a write waits for the disk are queued), and closes
 * the file when the source completes. Emits the number of episodes written once
 * the file is closed, then completes. The source is subscribed at once, so a hot
 * source loses nothing while the file opens; if it fails, the episodes it sent
 * before are written and the file closed before the error is passed on.
 * Unsubscribing closes the file too.
 */
export function writeEpisodes(path: string, episodes$: Observable<Episode>, options: WriterOptions = {}): Observable<number> {
  return new Observable<number>((subscriber) => {
    const opening = openEpisodeWriter(path, options);
    opening.catch((error: unknown) => subscriber.error(error));
    // materialize() queues the source's completion or error behind the writes before it.
    const subscription = episodes$
      .pipe(
        materialize(),
        concatMap(async (notification) => {
          const writer = await opening;
          if (notification.kind === 'N') return void (await writer.write(notification.value));
          if (notification.kind === 'E') {
            await writer.close().catch(() => undefined); // the source's error is the one to pass on
            throw notification.error;
          }
          await writer.close();
          return writer.count;
        }),
        filter((count): count is number => count !== undefined),
      )
      .subscribe(subscriber);
    return () => {
      subscription.unsubscribe();
      // A no-op after completion; after an error, that error has been passed on already.
      opening.then((writer) => writer.close()).catch(() => undefined);
    };
  });
}
