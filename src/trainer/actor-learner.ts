import type { Episode } from '../episodes/episode.ts';

/** A match for an actor to play: its episode id, seed and index (which seats rotate by), and who plays it as the learner describes them. */
export interface MatchJob<S> {
  readonly id: string;
  readonly seed: number;
  readonly index: number;
  readonly spec: S;
}

/** A version the learner published: the name actors sample it by, its number, and for a policy small enough to travel (a tabular one) its data. */
export interface PolicyVersion {
  readonly model: string;
  readonly version: number;
  readonly data?: string;
}

/**
 * What an actor reports for a job: the version it played with, and what the
 * match produced (an episode record, or for a learner that plays compactly
 * something smaller: see tabular-bus.ts), or why it could not play it.
 */
export type MatchReport<S, R = Episode> = (
  | { readonly job: MatchJob<S>; readonly version: number; readonly result: R }
  | { readonly job: MatchJob<S>; readonly version: number; readonly error: string }
) & {
  /** Where a durable link keeps the report (a bus: its stream sequence), for replay(); set on the learner's side. */
  readonly position?: number;
};

/**
 * The boundary between actors and a learner: jobs and versions go out,
 * episodes come back. The learner decides what is played and when (the
 * pacing: see StalenessPacer); actors only play what they are given, each
 * match with the newest version published when it starts. The in-process
 * link below is one implementation; one over a message bus is another,
 * with neither side changed.
 */
export interface ActorLearnerLink<S, R = Episode> {
  /** Learner: matches to play, in order; resolves once the link holds them. */
  handOut(jobs: readonly MatchJob<S>[]): Promise<void>;
  /** Learner: a new version, which matches started from now on play. */
  publish(version: PolicyVersion): Promise<void>;
  /** Learner: the next report, in the order they arrive; undefined once the link is closed. */
  nextReport(): Promise<MatchReport<S, R> | undefined>;
  /** Actor: the next job, waiting for one; undefined once the link is closed. */
  nextJob(): Promise<MatchJob<S> | undefined>;
  /** Actor: the newest published version, as last heard (a bus: from its watch, which may lag a job by moments). */
  latest(): PolicyVersion;
  /** Actor: the newest published version, asked for now (a bus: read from the server). */
  fetchLatest(): Promise<PolicyVersion>;
  /** Actor: a finished (or failed) job; resolves once the link holds the report. */
  report(report: MatchReport<S, R>): Promise<void>;
  /** Ends this side of the link: waiting calls get undefined (in this process, jobs not yet taken are dropped). */
  close(): Promise<void>;
  readonly closed: boolean;
  /** Whether jobs and reports outlive this process (a bus): a resumed learner then waits for what it had out instead of handing it out again. */
  readonly durable: boolean;
  /** Learner, durable links: the reports again from `position` on (those after a checkpoint, for a learner that restarted from it). */
  replay?(position: number): Promise<void>;
}

/** A queue whose takers wait for items; ending it answers every waiting and later taker with undefined. */
export class WaitQueue<T> {
  private readonly items: T[] = [];
  private readonly takers: ((item: T | undefined) => void)[] = [];
  private ended = false;

  push(item: T): void {
    if (this.ended) return;
    const taker = this.takers.shift();
    if (taker) taker(item);
    else this.items.push(item);
  }

  take(): Promise<T | undefined> {
    if (this.items.length > 0) return Promise.resolve(this.items.shift());
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /** The items waiting, without taking them. */
  peek(): readonly T[] {
    return this.items;
  }

  /** Empties the queue (it goes on); returns the items no one took. */
  clear(): T[] {
    return this.items.splice(0);
  }

  /** Ends the queue; returns the items no one took. */
  end(): T[] {
    this.ended = true;
    const left = this.items.splice(0);
    for (const taker of this.takers.splice(0)) taker(undefined);
    return left;
  }
}

/** Actors and a learner in one process. */
export class InProcessLink<S, R = Episode> implements ActorLearnerLink<S, R> {
  private readonly jobs = new WaitQueue<MatchJob<S>>();
  private readonly reports = new WaitQueue<MatchReport<S, R>>();
  private newest: PolicyVersion;
  closed = false;
  readonly durable = false;

  constructor(first: PolicyVersion) {
    this.newest = first;
  }

  async handOut(jobs: readonly MatchJob<S>[]): Promise<void> {
    for (const job of jobs) this.jobs.push(job);
  }

  async publish(version: PolicyVersion): Promise<void> {
    this.newest = version;
  }

  nextReport(): Promise<MatchReport<S, R> | undefined> {
    return this.reports.take();
  }

  nextJob(): Promise<MatchJob<S> | undefined> {
    return this.jobs.take();
  }

  latest(): PolicyVersion {
    return this.newest;
  }

  async fetchLatest(): Promise<PolicyVersion> {
    return this.newest;
  }

  async report(report: MatchReport<S, R>): Promise<void> {
    this.reports.push(report);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.jobs.end();
    this.reports.end();
  }
}

/**
 * Runs `concurrency` actors on a link: each takes a job, plays it with the
 * newest version (or the one `version` picks), and reports the result (or the error), until the link
 * closes or `signal` aborts, which also aborts the matches in play (`play`
 * gets the signal). Resolves when every actor has stopped.
 */
export async function runActors<S, R = Episode>(
  link: ActorLearnerLink<S, R>,
  options: {
    readonly concurrency: number;
    readonly signal: AbortSignal;
    readonly play: (job: MatchJob<S>, version: PolicyVersion, signal: AbortSignal) => Promise<R>;
    /** The version to play a job with (default: the newest the link has heard of). */
    readonly version?: (job: MatchJob<S>) => Promise<PolicyVersion>;
    /** Called with each report once the link holds it. */
    readonly onReport?: (report: MatchReport<S, R>) => void;
  },
): Promise<void> {
  const { signal } = options;
  // Waiting for a job ends when the signal aborts, whether or not the link closes.
  const stopped = new Promise<undefined>((resolve) => (signal.aborted ? resolve(undefined) : signal.addEventListener('abort', () => resolve(undefined), { once: true })));
  const nextJob = () => Promise.race([link.nextJob(), stopped]);
  const actor = async () => {
    for (let job = await nextJob(); job && !signal.aborted; job = await nextJob()) {
      let version = link.latest();
      let report: MatchReport<S, R>;
      try {
        if (options.version) version = await options.version(job);
        report = { job, version: version.version, result: await options.play(job, version, signal) };
      } catch (error) {
        if (signal.aborted) return;
        report = { job, version: version.version, error: (error as Error).message };
      }
      await link.report(report);
      options.onReport?.(report);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, actor));
}
