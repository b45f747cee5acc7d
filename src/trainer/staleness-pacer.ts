import { ConfigError } from '../core/index.ts';

/** A match the learner handed out, and the version that was newest then (the oldest its actor can play). */
interface Released<J> {
  readonly job: J;
  readonly releasedAt: number;
}

/** A finished match: the job, the version that played it, and what it left. */
export interface Finished<J, E> {
  readonly job: J;
  readonly version: number;
  readonly result: E;
}

/**
 * The learner's side of asynchronous training with bounded staleness: which
 * matches it may hand out, and which finished ones the next update trains on,
 * so that no update ever trains on a match played by a version more than
 * `maxStaleness` (K) versions older than the weights it updates, and no
 * finished match is thrown away for being late.
 *
 * - Pacing: at most (K + 1) batches of matches are out at once (handed out
 *   and not yet trained on), so actors run at most K versions ahead of the
 *   learner instead of playing matches that would be too old to use.
 * - Each update at version L trains on every finished match played by a
 *   version <= L - K (after this update they would be too old), then on the
 *   oldest others, up to a batch; it waits until a batch has finished and no
 *   match that may have been played by a version <= L - K is still in play
 *   (a slow match holds up the update only when it is about to go stale).
 *
 * With K = 0 this is synchronous on-policy training: one batch out, all of it
 * finished, trained on, then the next. The pacer keeps no clock and does no
 * I/O: it is the same for actors in this process and actors elsewhere.
 */
export class StalenessPacer<J, E> {
  /** The version of the learner's weights: the newest it published. */
  private current: number;
  private readonly inPlay = new Map<J, Released<J>>();
  private readonly finished: Finished<J, E>[] = [];
  /** Matches taken by the update under way: out until it publishes. */
  private training = 0;

  constructor(
    readonly maxStaleness: number,
    readonly batchSize: number,
    version: number,
  ) {
    if (!Number.isInteger(maxStaleness) || maxStaleness < 0) throw new ConfigError(`the staleness bound must be a whole number of versions, not ${maxStaleness}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError(`a batch must hold at least one match, not ${batchSize}`);
    this.current = version;
  }

  get version(): number {
    return this.current;
  }

  /** Matches handed out and not yet trained on (in play, finished, or in the update under way). */
  get out(): number {
    return this.inPlay.size + this.finished.length + this.training;
  }

  /** Matches in play now. */
  get playing(): number {
    return this.inPlay.size;
  }

  /** How many more matches may be handed out now. */
  room(): number {
    return Math.max(0, (this.maxStaleness + 1) * this.batchSize - this.out);
  }

  /** Records matches handed out now (to be played by the current version or a newer one). */
  release(jobs: readonly J[]): void {
    if (jobs.length > this.room()) throw new RangeError(`${jobs.length} matches exceed the room for ${this.room()}: at most ${this.maxStaleness + 1} batches may be out`);
    for (const job of jobs) {
      if (this.inPlay.has(job)) throw new RangeError('a match was handed out twice');
      this.inPlay.set(job, { job, releasedAt: this.current });
    }
  }

  /** Records a match that finished, played by `version` (a version the learner published, no older than the one when it was handed out). */
  finish(job: J, version: number, result: E): void {
    const released = this.inPlay.get(job);
    if (!released) throw new RangeError('a match finished that was not handed out, or finished twice');
    if (version < released.releasedAt || version > this.current) {
      throw new RangeError(`a match handed out at version ${released.releasedAt} reports version ${version} (the newest is ${this.current})`);
    }
    this.inPlay.delete(job);
    this.finished.push({ job, version, result });
  }

  /**
   * The matches out that no update has taken, each with the oldest version
   * that can play it: for one in play the version newest when it was handed
   * out, for a finished one the version that played it (its report comes
   * back with that version, or it is played again by a newer one). What a
   * checkpoint keeps, so that a resumed learner waits for them again (adopt)
   * instead of losing them, and still trains none more than K versions old.
   */
  outstanding(): { readonly job: J; readonly releasedAt: number }[] {
    return [...this.inPlay.values(), ...this.finished.map((f) => ({ job: f.job, releasedAt: f.version }))];
  }

  /** Takes back a match an earlier run of the learner handed out (see outstanding): it counts as in play. */
  adopt(job: J, releasedAt: number): void {
    if (this.inPlay.has(job)) throw new RangeError('a match was handed out twice');
    if (releasedAt > this.current) throw new RangeError(`a match handed out at version ${releasedAt} is newer than the learner's ${this.current}`);
    this.inPlay.set(job, { job, releasedAt });
  }

  /** Forgets a match that will not finish (its actor gave it up); it frees its room. */
  abandon(job: J): void {
    this.inPlay.delete(job);
  }

  /** Whether the next update can start: a batch has finished, and no match in play could go stale by waiting. */
  ready(): boolean {
    if (this.training > 0) return false;
    const due = this.current - this.maxStaleness;
    for (const { releasedAt } of this.inPlay.values()) if (releasedAt <= due) return false;
    return this.finished.length >= this.batchSize;
  }

  /** The next update's matches (call when ready): all that are due, then the oldest others up to a batch. */
  take(): Finished<J, E>[] {
    if (!this.ready()) throw new RangeError('the next update is not ready: a batch has not finished, or a match about to go stale is still in play');
    const due = this.current - this.maxStaleness;
    // Oldest version first; among equals, the order they finished in.
    const order = this.finished.map((f, i) => ({ f, i })).sort((a, b) => a.f.version - b.f.version || a.i - b.i);
    const mustTake = order.filter(({ f }) => f.version <= due).length;
    const taken = new Set(order.slice(0, Math.max(mustTake, Math.min(this.batchSize, order.length))).map(({ i }) => i));
    const batch = this.finished.filter((_, i) => taken.has(i));
    const rest = this.finished.filter((_, i) => !taken.has(i));
    this.finished.length = 0;
    this.finished.push(...rest);
    this.training = batch.length;
    return batch;
  }

  /** The update under way published `version`: its matches are no longer out. */
  published(version: number): void {
    if (version <= this.current) throw new RangeError(`version ${version} is not newer than ${this.current}`);
    this.current = version;
    this.training = 0;
  }
}
