import { resolveFormat, type EpisodeFormat } from './codec.ts';
import type { Episode } from './episode.ts';
import { EpisodeError } from './errors.ts';
import { recordName, scanRecords, type ScanOptions } from './records.ts';
import { episodeProblem } from './schema.ts';

export interface ReadOptions extends ScanOptions {
  /** Overrides the format the file's extension names. */
  format?: EpisodeFormat;
}

/**
 * Streams the episodes of a `.msgpack` or `.jsonl` file in order, validating
 * each, in constant memory. A file that ends inside a record (its writer was
 * killed mid-write) yields every complete episode and then calls `onTruncated`;
 * a record that cannot be decoded or is not a valid episode throws EpisodeError
 * naming its index and byte offset. Throws ConfigError at once for an unknown format.
 */
export function readEpisodes(path: string, options: ReadOptions = {}): AsyncGenerator<Episode, void, undefined> {
  return episodes(path, resolveFormat(path, options.format), options);
}

async function* episodes(path: string, format: EpisodeFormat, options: ScanOptions): AsyncGenerator<Episode, void, undefined> {
  for await (const batch of scanRecords(path, format, options)) {
    for (const { value, index, offset } of batch) {
      const problem = episodeProblem(value);
      if (problem !== undefined) throw new EpisodeError(`${recordName(path, index, offset)} is not a valid episode: ${problem}`, index, offset);
      yield value as Episode;
    }
  }
}
