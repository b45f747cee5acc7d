import { extname } from 'node:path';
import { Packr, Unpackr, type Options } from 'msgpackr';
import { ConfigError } from '../core/errors.ts';
import type { Episode } from './episode.ts';
import { EpisodeError } from './errors.ts';
import { INCOMPLETE, valueEnd } from './msgpack-framing.ts';
import { findNonJson } from './json-data.ts';
import { appendJson, encodeJson, type ByteSink } from './msgpack-encoder.ts';
import { episodeProblem, validateEpisode } from './schema.ts';

export const EPISODE_FORMATS = ['msgpack', 'jsonl'] as const;
/** `msgpack`: one standard msgpack map per episode, back to back. `jsonl`: one JSON object per line. */
export type EpisodeFormat = (typeof EPISODE_FORMATS)[number];

/**
 * Standard msgpack that any language's library reads. msgpackr's default record
 * extension writes structure definitions only msgpackr understands; with
 * useRecords false every object is a plain msgpack map. `undefined` would be
 * written as an ext type, so skipValues drops undefined properties the way
 * JSON.stringify does, and validation refuses every other non-JSON value
 * beforehand: a msgpack round trip gives exactly what a JSON round trip gives.
 * (-0 is written as the integer 0, as JSON writes it; other numbers that are
 * not 32-bit integers are written as float64, so no precision is lost.)
 * Episodes are encoded by msgpack-encoder.ts, in the same bytes; this packs
 * the wire's messages and the tournament store's episodes.
 */
export const msgpackPackr = new Packr({ useRecords: false, skipValues: [undefined] } as Options & { skipValues: unknown[] });

/** Reads what other writers may produce too: 64-bit integers become numbers, as JSON.parse would give. */
export const msgpackUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** The format an option names, else the one the path's extension names; throws ConfigError for anything else. */
export function resolveFormat(path: string, format?: EpisodeFormat): EpisodeFormat {
  if (format === undefined) return formatFromPath(path);
  if (!EPISODE_FORMATS.includes(format)) {
    throw new ConfigError(`unknown episode format "${format}": expected ${EPISODE_FORMATS.join(' or ')}`);
  }
  return format;
}

/** `.msgpack` or `.jsonl` (any case); throws ConfigError for any other extension. */
export function formatFromPath(path: string): EpisodeFormat {
  const extension = extname(path);
  switch (extension.toLowerCase()) {
    case '.msgpack':
      return 'msgpack';
    case '.jsonl':
      return 'jsonl';
    default:
      throw new ConfigError(
        `cannot tell the episode format of "${path}" from its extension ${extension ? `"${extension}"` : '(none)'}: expected .msgpack or .jsonl`,
      );
  }
}

/**
 * One episode as one record of a file: a msgpack map, or a JSON line ending in "\n".
 * Throws EpisodeError if the episode is not valid schema v1 JSON data.
 */
export function encodeEpisode(episode: Episode, format: EpisodeFormat): Uint8Array {
  const problem = episodeProblem(episode);
  if (problem !== undefined) throw cannotEncode(episode, problem);
  return format === 'msgpack' ? msgpackOf(episode) : Buffer.from(`${JSON.stringify(episode)}\n`);
}

/**
 * encodeEpisode for an episode a referee built (playMatch, runArena): only
 * what agents put in it is checked (checkBuiltEpisode; in msgpack, while it
 * is encoded), which costs a fraction of the full schema check. Throws
 * EpisodeError.
 */
export function encodeBuiltEpisode(episode: Episode, format: EpisodeFormat): Uint8Array {
  if (format === 'msgpack') return msgpackOf(episode);
  checkBuiltEpisode(episode);
  return Buffer.from(`${JSON.stringify(episode)}\n`);
}

/**
 * Appends one episode to `sink` as one record of a file, with no buffer of its
 * own: encodeEpisode's bytes, or with `built` encodeBuiltEpisode's (whose
 * msgpack is checked while it is encoded, in one walk). Returns the record's
 * length; throws EpisodeError for what those refuse, and then the sink's
 * length is as it was. What an episode writer does with each episode.
 */
export function appendEpisode(sink: ByteSink, episode: Episode, format: EpisodeFormat, built: boolean): number {
  const start = sink.length;
  if (!built) {
    const problem = episodeProblem(episode);
    if (problem !== undefined) throw cannotEncode(episode, problem);
  }
  if (format === 'msgpack') {
    if (!appendJson(sink, episode)) throw notJsonError(episode);
  } else {
    if (built) checkBuiltEpisode(episode);
    const text = `${JSON.stringify(episode)}\n`;
    const room = start + 3 * text.length;
    if (room > sink.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * sink.bytes.length, room));
      sink.bytes.copy(grown, 0, 0, start);
      sink.bytes = grown;
    }
    sink.length += sink.bytes.write(text, start);
  }
  return sink.length - start;
}

/** An episode as msgpack, checked for being JSON data while it is encoded; throws EpisodeError. */
function msgpackOf(episode: Episode): Uint8Array {
  const bytes = encodeJson(episode);
  if (bytes === undefined) throw notJsonError(episode);
  return bytes;
}

/** Why the msgpack encoder stopped: findNonJson says where and why. */
function notJsonError(episode: Episode): EpisodeError {
  const found = findNonJson(episode);
  return cannotEncode(episode, found ? `${found.path.join('.') || 'episode'}: ${found.message}` : 'it is not JSON data');
}

/**
 * Checks an episode a referee built before it is stored: its shape is right
 * by construction, so only what agents put in it (text, meta) is checked,
 * for being JSON data (what is not could not be read back). The full schema
 * check costs several times the encoding itself. Throws EpisodeError.
 */
export function checkBuiltEpisode(episode: Episode): void {
  const found = findNonJson(episode);
  if (found) throw cannotEncode(episode, `${found.path.join('.') || 'episode'}: ${found.message}`);
}

function cannotEncode(episode: Episode, problem: string): EpisodeError {
  const id = typeof episode?.id === 'string' ? ` ${JSON.stringify(episode.id)}` : '';
  return new EpisodeError(`cannot encode episode${id}: ${problem}`);
}

/** Decodes and validates one record as encodeEpisode writes it (the final newline of a JSON line is optional). */
export function decodeEpisode(data: Uint8Array, format: EpisodeFormat): Episode;
export function decodeEpisode(data: string, format: 'jsonl'): Episode;
export function decodeEpisode(data: Uint8Array | string, format: EpisodeFormat): Episode {
  let value: unknown;
  try {
    if (format === 'jsonl') value = JSON.parse(typeof data === 'string' ? data : textOf(data));
    else if (typeof data === 'string') throw new Error('msgpack episodes are bytes, not a string');
    else {
      const end = valueEnd(data, 0);
      if (end !== data.length) throw new Error(end === INCOMPLETE ? 'the bytes end inside the record' : `${data.length - end} bytes follow the record`);
      value = msgpackUnpackr.unpack(data);
    }
  } catch (error) {
    throw new EpisodeError(`cannot decode ${format} episode: ${(error as Error).message}`);
  }
  return validateEpisode(value);
}

/** UTF-8 text of bytes, without copying them. */
export function textOf(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
