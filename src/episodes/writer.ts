import { once } from 'node:events';
import { open, type FileHandle } from 'node:fs/promises';
import { concatMap, filter, materialize, Observable } from 'rxjs';
import { encodeEpisode, resolveFormat, type EpisodeFormat } from './codec.ts';
import type { Episode } from './episode.ts';
import { EpisodeError } from './errors.ts';
import { DEFAULT_MAX_RECORD_BYTES, unfinishedBytes } from './records.ts';

export interface WriterOptions {
  /** Overrides the format the file's extension names. */
  format?: EpisodeFormat;
  /** The longest record accepted (default 64 MiB, what readers accept by default). */
  maxRecordBytes?: number;
  /** Called when opening finds an unfinished record at the end of the file (a writer killed mid-write) and cuts it off. */
  onTruncated?: (bytesRemoved: number) => void;
}

export interface EpisodeWriter {
  readonly path: string;
  readonly format: EpisodeFormat;
  /** Episodes written by this writer (not those already in the file). */
  readonly count: number;
  /** Validates and appends one episode; resolves at once unless the stream's buffer is full, then once it has drained. */
  write(episode: Episode): Promise<void>;
  /** Flushes, fsyncs and closes the file; calling it again returns the same promise. */
  close(): Promise<void>;
}

const HIGH_WATER_MARK = 64 * 1024;

/**
 * Opens an episode file for appending (creating it if needed). Each episode is
 * one record handed to the file in one write, so a crash leaves at most one
 * unfinished record at the end; opening a file cuts such a record off first,
 * which reads the whole file once (finding where records end, not decoding
 * them). One writer per file at a time.
 */
export async function openEpisodeWriter(path: string, options: WriterOptions = {}): Promise<EpisodeWriter> {
  const format = resolveFormat(path, options.format);
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const handle = await open(path, 'a+');
  try {
    await prepareForAppend(handle, path, format, options);
  } catch (error) {
    await handle.close();
    throw error;
  }

  const stream = handle.createWriteStream({ autoClose: false, highWaterMark: HIGH_WATER_MARK });
  let failure: Error | undefined;
  // Write errors are kept and thrown by the next write() or by close().
  stream.on('error', (error) => (failure ??= error));
  let count = 0;
  let closing: Promise<void> | undefined;
  // Writes made together while the buffer is full all wait for the same 'drain' (one listener, however many writers).
  let draining: Promise<void> | undefined;

  async function finish(): Promise<void> {
    try {
      await new Promise<void>((resolve, reject) => stream.end((error?: Error | null) => (error ? reject(error) : resolve())));
      await handle.sync();
    } finally {
      // A stream over a FileHandle holds it until destroyed; with autoClose off, destroying leaves closing to us.
      stream.destroy();
      await handle.close();
    }
  }

  return {
    path,
    format,
    get count() {
      return count;
    },
    async write(episode) {
      if (closing) throw new EpisodeError(`cannot write to ${path}: the writer is closed`);
      if (failure) throw failure;
      const record = encodeEpisode(episode, format);
      if (record.length > maxRecordBytes) {
        throw new EpisodeError(
          `cannot write episode ${JSON.stringify(episode.id)}: its record is ${record.length} bytes, more than maxRecordBytes (${maxRecordBytes})`,
        );
      }
      count++;
      if (!stream.write(record)) await (draining ??= once(stream, 'drain').then(() => void (draining = undefined)));
    },
    close() {
      return (closing ??= finish());
    },
  };
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
