import { createReadStream } from 'node:fs';
import { msgpackUnpackr, textOf, type EpisodeFormat } from './codec.ts';
import { EpisodeError } from './errors.ts';
import { INCOMPLETE, NotJsonMsgpackError, valueEnd } from './msgpack-framing.ts';

export const DEFAULT_CHUNK_SIZE = 64 * 1024;
/** Records longer than this are refused when written and reported as corrupt when read, so a corrupt length can't make a reader buffer the whole file. */
export const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;

export interface ScanOptions {
  /** Bytes read at a time (default 64 KiB). */
  chunkSize?: number;
  /** The longest record accepted (default 64 MiB). */
  maxRecordBytes?: number;
  /** Called after the last complete record when the file ends inside a record (a writer killed mid-write). */
  onTruncated?: (bytesIgnored: number) => void;
}

/** A decoded record, not yet validated: its value, its position among the file's records, and its first byte. */
export interface RawRecord {
  readonly value: unknown;
  readonly index: number;
  readonly offset: number;
}

interface Batch {
  readonly records: RawRecord[];
  readonly error?: EpisodeError;
}

/** Cuts a byte stream into records; `end` also says how many bytes of an unfinished record are left over. */
interface Splitter {
  push(chunk: Buffer): Batch;
  end(): Batch & { readonly truncated: number };
}

/** Names a record in error messages. */
export function recordName(path: string, index: number, offset: number): string {
  return `episode ${index} (byte ${offset}) of ${path}`;
}

/**
 * Streams a file's complete records, a batch per chunk read, in constant memory
 * (a chunk plus at most twice the longest record). A record that cannot be
 * decoded throws EpisodeError after the records before it; an unfinished record
 * at the very end is reported to `onTruncated` instead.
 */
export async function* scanRecords(path: string, format: EpisodeFormat, options: ScanOptions = {}): AsyncGenerator<RawRecord[]> {
  const truncated = yield* split(path, format, options, true);
  if (truncated > 0) options.onTruncated?.(truncated);
}

/**
 * How many bytes of an unfinished record end the file (0 if none), reading
 * only where records end: complete records are not decoded. Throws EpisodeError
 * where the records cannot be told apart.
 */
export async function unfinishedBytes(path: string, format: EpisodeFormat, options: ScanOptions = {}): Promise<number> {
  const batches = split(path, format, options, false);
  let step = await batches.next();
  while (!step.done) step = await batches.next();
  return step.value;
}

/** Yields the records (none unless `decode`), then returns the length of an unfinished last record. */
async function* split(path: string, format: EpisodeFormat, options: ScanOptions, decode: boolean): AsyncGenerator<RawRecord[], number> {
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const splitter = format === 'msgpack' ? msgpackSplitter(path, maxRecordBytes, decode) : jsonlSplitter(path, maxRecordBytes, decode);
  for await (const chunk of createReadStream(path, { highWaterMark: options.chunkSize ?? DEFAULT_CHUNK_SIZE })) {
    yield* emit(splitter.push(chunk as Buffer));
  }
  const last = splitter.end();
  yield* emit(last);
  return last.truncated;
}

function* emit(batch: Batch): Generator<RawRecord[]> {
  if (batch.records.length) yield batch.records;
  if (batch.error) throw batch.error;
}

function tooLong(path: string, index: number, offset: number, maxRecordBytes: number): EpisodeError {
  return new EpisodeError(
    `${recordName(path, index, offset)} is corrupt or longer than maxRecordBytes (${maxRecordBytes}): no record ends within that many bytes`,
    index,
    offset,
  );
}

/** An episode record is a msgpack map: fixmap, map16 or map32. */
const isMapStart = (byte: number) => (byte & 0xf0) === 0x80 || byte === 0xde || byte === 0xdf;

/**
 * Finds where records end from their msgpack headers, then decodes the whole
 * records with msgpackr and keeps the unfinished rest for the next chunk.
 * Decoding only whole records matters for speed: msgpackr's native string
 * decoder gives up on a buffer that ends inside a value (twice as slow).
 * Rescanning an unfinished record only once the leftover has doubled keeps
 * the work linear for records much longer than a chunk.
 */
function msgpackSplitter(path: string, maxRecordBytes: number, decode: boolean): Splitter {
  let parts: Buffer[] = [];
  let length = 0;
  let offset = 0;
  let index = 0;
  let retryAt = 0;

  function next(atEnd: boolean): Batch {
    const buffer = parts.length === 1 ? parts[0] : Buffer.concat(parts, length);
    const corrupt = (which: number, at: number, why: string) =>
      new EpisodeError(`${recordName(path, index + which, offset + at)} is ${why}`, index + which, offset + at);
    let complete = 0;
    let frames = 0;
    let error: EpisodeError | undefined;
    try {
      while (complete < buffer.length) {
        if (!isMapStart(buffer[complete])) {
          const first = buffer[complete].toString(16);
          error = corrupt(frames, complete, `corrupt: an episode record is a msgpack map, which starts with 0x80-0x8f, 0xde or 0xdf, not 0x${first}`);
          break;
        }
        const end = valueEnd(buffer, complete);
        if (end === INCOMPLETE) break;
        complete = end;
        frames++;
      }
    } catch (cause) {
      if (!(cause instanceof NotJsonMsgpackError)) throw cause;
      const type = `0x${cause.byte.toString(16)}`;
      error = corrupt(frames, complete, `not episode msgpack: byte ${offset + cause.position} is ${type}, a type JSON has no counterpart for (bin, ext or 0xc1)`);
    }

    const records: RawRecord[] = [];
    if (decode && complete > 0) {
      let consumed = 0;
      try {
        msgpackUnpackr.unpackMultiple(buffer.subarray(0, complete), (value: unknown, start?: number, end?: number) => {
          records.push({ value, index: index + records.length, offset: offset + start! });
          consumed = end!;
        });
      } catch (cause) {
        error = corrupt(records.length, consumed, `not valid msgpack: ${(cause as Error).message}`);
      }
    }

    index += frames;
    offset += complete;
    const rest = buffer.subarray(complete);
    parts = rest.length ? [rest] : [];
    length = rest.length;
    retryAt = Math.min(2 * length, maxRecordBytes + 1);
    if (!error && !atEnd && length > maxRecordBytes) error = tooLong(path, index, offset, maxRecordBytes);
    return { records, error };
  }

  return {
    push(chunk) {
      parts.push(chunk);
      length += chunk.length;
      return length < retryAt ? { records: [] } : next(false);
    },
    end() {
      if (length === 0) return { records: [], truncated: 0 };
      const batch = next(true);
      return { ...batch, truncated: batch.error ? 0 : length };
    },
  };
}

/** A JSON line is complete once its newline is there; an unterminated last line counts only if it parses. */
function jsonlSplitter(path: string, maxRecordBytes: number, decode: boolean): Splitter {
  let parts: Buffer[] = [];
  let length = 0;
  let offset = 0;
  let index = 0;

  function parse(line: Buffer): unknown {
    try {
      return JSON.parse(textOf(line));
    } catch (cause) {
      throw new EpisodeError(`${recordName(path, index, offset)} is not valid JSON: ${(cause as Error).message}`, index, offset);
    }
  }

  return {
    push(chunk) {
      const records: RawRecord[] = [];
      let start = 0;
      for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
        const piece = chunk.subarray(start, newline);
        if (decode) {
          const line = length ? Buffer.concat([...parts, piece], length + piece.length) : piece;
          try {
            records.push({ value: parse(line), index, offset });
          } catch (error) {
            return { records, error: error as EpisodeError };
          }
        }
        index++;
        offset += length + piece.length + 1;
        parts = [];
        length = 0;
        start = newline + 1;
      }
      if (start < chunk.length) {
        parts.push(chunk.subarray(start));
        length += chunk.length - start;
        if (length > maxRecordBytes) return { records, error: tooLong(path, index, offset, maxRecordBytes) };
      }
      return { records };
    },
    end() {
      if (length === 0) return { records: [], truncated: 0 };
      let value: unknown;
      try {
        value = parse(Buffer.concat(parts, length));
      } catch {
        return { records: [], truncated: length };
      }
      return { records: decode ? [{ value, index, offset }] : [], truncated: 0 };
    },
  };
}
