import { SelfplayError } from '../core/errors.ts';

/**
 * An episode that cannot be written or read: not valid schema v1 data, not JSON
 * data, or a corrupt record in a file. `index` and `offset` locate the record in
 * a file (episode number from 0, byte offset of its first byte) when known.
 */
export class EpisodeError extends SelfplayError {
  constructor(
    message: string,
    readonly index?: number,
    readonly offset?: number,
  ) {
    super('episode-error', message);
  }
}

/** What a writer says of a record longer than its maxRecordBytes. */
export function recordTooLong(id: string, bytes: number, maxRecordBytes: number): EpisodeError {
  return new EpisodeError(`cannot write episode ${JSON.stringify(id)}: its record is ${bytes} bytes, more than maxRecordBytes (${maxRecordBytes})`);
}
