import Database from 'better-sqlite3';
import { workerData, type MessagePort } from 'node:worker_threads';
import { LiveRatings, type RatingRow } from './ratings/live.ts';
import { configure, readRatings, storeWrites, type Durability, type QueuedWrite } from './store-writes.ts';
import { WRITER_NICE, yieldToServing, type ThreadData } from '../core/threads.ts';

/**
 * The store's writer thread: it owns a second connection to the database and
 * commits queued writes in groups, so that neither the statements, nor the
 * commits, nor the OpenSkill updates of the live ratings (kept here in step
 * with the stored ones) take time from the thread that serves the agents.
 */

export interface CommitWorkerData extends ThreadData {
  readonly path: string;
  readonly durability: Durability;
  /** Replies go here after each commit. */
  readonly port: MessagePort;
  /** Slot 0 becomes 1 once the writer has committed everything and closed the database. */
  readonly closed: Int32Array;
}

/** Writes to commit together, sent as the JSON text of a CommitBatch; then `{close: true}` asks the writer to stop. */
export type CommitBatch = readonly { readonly id: number; readonly write: QueuedWrite }[];
export type CommitRequest = string | { readonly close: true };
/** Each write's outcome: committed, with the ratings it changed, or refused with the reason. */
export type Settled = { readonly id: number; readonly rows: readonly RatingRow[] } | { readonly id: number; readonly error: string };
/** `ready` once the writer has opened the database; then the outcome of each batch. */
export type CommitReply = { readonly ready: true } | { readonly settled: readonly Settled[] };

const { path, durability, port, closed } = workerData as CommitWorkerData;

// Commits yield to the serving thread, a little: a move's round trip must not wait on this thread's
// statements, but every match's end waits for its commit. At nice 10 a busy machine (agents starting)
// starved the writer for seconds (commit p99 7.2 s in a 70-agent round robin on 2 loaded cores; nice 5:
// 0.67 s); at nice 0 the tournament bench's paced moves/s fell by 40% there (nice 5: no loss).
yieldToServing(WRITER_NICE);

/** Lets a close() blocked on the flag go on, however this thread ends. */
const release = () => {
  Atomics.store(closed, 0, 1);
  Atomics.notify(closed, 0);
};
process.once('exit', release);

const { db, ratings, writes } = (() => {
  try {
    const db = new Database(path);
    configure(db, durability);
    const ratings = new LiveRatings(readRatings(db));
    return { db, ratings, writes: storeWrites(db, ratings) };
  } catch (error) {
    release();
    throw error;
  }
})();

const reason = (error: unknown) => {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
};

function commit(batch: CommitBatch): void {
  let settled: Settled[] = [];
  try {
    db.transaction(() => {
      for (const w of batch) settled.push({ id: w.id, rows: writes.apply(w.write) });
    })();
  } catch {
    // One bad write must not sink the others: commit them one by one, each
    // rated from the ratings as stored (the failed transaction's updates are gone).
    settled = [];
    for (const w of batch) {
      try {
        ratings.reload(readRatings(db));
        settled.push({ id: w.id, rows: db.transaction(() => writes.apply(w.write))() });
      } catch (error) {
        settled.push({ id: w.id, error: reason(error) });
      }
    }
  } finally {
    port.postMessage({ settled } satisfies CommitReply);
  }
}

port.postMessage({ ready: true } satisfies CommitReply);
port.on('message', (request: CommitRequest) => {
  if (typeof request === 'string') return commit(JSON.parse(request) as CommitBatch);
  try {
    db.close();
    port.close();
  } finally {
    release();
  }
});
