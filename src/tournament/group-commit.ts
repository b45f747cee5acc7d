import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import type { CommitBatch, CommitReply, CommitRequest, CommitWorkerData } from './commit-worker.ts';
import type { RatingRow } from './ratings/live.ts';
import type { Durability, QueuedWrite } from './store-writes.ts';
import { siblingModule, startThread, threadErrorText } from '../core/threads.ts';

/**
 * Writes wait up to this long to share a transaction: each commit writes
 * whole pages to the WAL, so a few large commits cost far less than many
 * small ones (and each hand-over to the writer thread has a cost of its own).
 */
const COMMIT_WINDOW_MS = 10;
const MAX_BATCH = 500;
/**
 * Rows of background writes (planned matches, delivery records) that go with
 * one commit (at least one write): they fill in behind the results, never
 * ahead of them, so that a large schedule does not hold a result up.
 */
const BACKGROUND_ROWS_PER_COMMIT = 500;
/** How long closing waits for the writer to commit what is queued. */
const CLOSE_TIMEOUT_MS = 30_000;

interface Running {
  readonly worker: Worker;
  readonly port: MessagePort;
  readonly closed: Int32Array;
  /** Resolves once the writer has the database open; rejects if it stopped first. */
  readonly ready: Promise<void>;
  /** Writes handed to this writer and not yet answered. */
  readonly inFlight: Set<number>;
}

type Waiter = { readonly resolve: (rows: readonly RatingRow[]) => void; readonly reject: (error: Error) => void };

/**
 * Commits writes in groups on a writer thread (commit-worker.ts), started on
 * the first write: writes made within COMMIT_WINDOW_MS of each other go over
 * together and share a transaction. `write` resolves once its transaction is
 * committed, with the live ratings it changed, and rejects with the reason
 * when that write could not be (the others in its group are still committed).
 * If the writer dies, the writes it held are rejected as possibly lost, and
 * the next writes start a new one.
 */
export class GroupCommitter {
  private running: Running | undefined;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 0;
  /** Results waiting for the window to close, each as the JSON text of its CommitBatch entry. */
  private queue: { readonly id: number; readonly json: string }[] = [];
  /** Background writes, a few of which go with each commit after the results. */
  private background: { readonly id: number; readonly json: string; readonly rows: number }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly durability: Durability,
  ) {}

  write(write: QueuedWrite): Promise<readonly RatingRow[]> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      let json: string;
      try {
        // Serialized at once, the write waits as one string rather than as an episode's many objects, which
        // the garbage collector would otherwise copy while they wait. JSON.stringify costs the serving
        // thread far less than packing msgpack; the writer packs the episode for storage.
        json = JSON.stringify({ id, write } satisfies CommitBatch[number]);
      } catch (error) {
        reject(new Error(`cannot hand the write to the database writer: ${(error as Error).message}`));
        return;
      }
      if (write.kind === 'complete') this.queue.push({ id, json });
      else this.background.push({ id, json, rows: write.kind === 'plan' ? write.matches.length : write.matchIds.length });
      this.waiting.set(id, { resolve, reject });
      if (this.queue.length >= MAX_BATCH) this.send();
      else this.timer ??= setTimeout(() => this.send(), COMMIT_WINDOW_MS);
    });
  }

  /** Hands the queued results, and a few background writes after them, to the writer thread, which commits them in one transaction. */
  private send(all = false): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch: { readonly id: number; readonly json: string }[] = this.queue.splice(0);
    let taken = 0;
    let rows = 0;
    while (taken < this.background.length && (all || taken === 0 || rows + this.background[taken].rows <= BACKGROUND_ROWS_PER_COMMIT)) rows += this.background[taken++].rows;
    for (const w of this.background.splice(0, taken)) batch.push(w);
    // What is left goes with the next commits.
    if (this.background.length > 0) this.timer = setTimeout(() => this.send(), COMMIT_WINDOW_MS);
    if (batch.length === 0) return;
    let running: Running;
    try {
      running = this.start();
    } catch (error) {
      this.refuse(batch, `cannot start the database writer: ${(error as Error).message}`);
      return;
    }
    // The batch crosses as one string: the JSON array of its writes.
    for (const w of batch) running.inFlight.add(w.id);
    running.port.postMessage(`[${batch.map((w) => w.json).join(',')}]` satisfies CommitRequest);
    // Keep the process alive while a commit is owed, and only then.
    running.port.ref();
  }

  /** Starts the writer now rather than at the first write (which would then wait for it); resolves once it is ready. */
  async open(): Promise<void> {
    await this.start().ready;
  }

  /** Commits everything queued and stops the writer; blocks until it is done. */
  close(): void {
    this.send(true);
    const running = this.running;
    if (!running) return;
    this.running = undefined;
    running.port.postMessage({ close: true } satisfies CommitRequest);
    const until = performance.now() + CLOSE_TIMEOUT_MS;
    while (Atomics.load(running.closed, 0) === 0 && performance.now() < until) Atomics.wait(running.closed, 0, 0, 50);
    this.drain(running);
    running.port.close();
    this.lose(running, 'the database was closed before the writer answered');
  }

  private start(): Running {
    if (this.running) return this.running;
    if (this.path === '' || this.path === ':memory:') throw new Error('the tournament store needs a database file: an in-memory database cannot be shared with its writer thread');
    const { port1, port2 } = new MessageChannel();
    const closed = new Int32Array(new SharedArrayBuffer(4));
    const data: Omit<CommitWorkerData, 'entry'> = { path: this.path, durability: this.durability, port: port2, closed };
    const worker = startThread(siblingModule('commit-worker', import.meta.url), data, [port2]);
    worker.unref();
    let ready!: () => void;
    let failed!: (error: Error) => void;
    const running: Running = { worker, port: port1, closed, ready: new Promise((resolve, reject) => ((ready = resolve), (failed = reject))), inFlight: new Set() };
    running.ready.catch(() => undefined);
    // The port holds the process open until the writer is ready, then only while a commit is owed.
    port1.on('message', (reply: CommitReply) => {
      if ('settled' in reply) return this.settle(running, reply);
      ready();
      if (running.inFlight.size === 0) port1.unref();
    });
    const stopped = (why: string) => {
      failed(new Error(`the database writer stopped (${why})`));
      if (this.running !== running) return;
      this.running = undefined;
      // Answers it sent before it stopped still count; what it held beyond them may or may not be committed.
      this.drain(running);
      port1.close();
      this.lose(running, `the database writer stopped (${why})`);
    };
    worker.on('error', (error) => stopped(threadErrorText(error)));
    worker.on('exit', (code) => stopped(`exit code ${code}`));
    this.running = running;
    return running;
  }

  /** Takes the answers already on the port without waiting for the event loop. */
  private drain(running: Running): void {
    for (let message = receiveMessageOnPort(running.port); message; message = receiveMessageOnPort(running.port)) {
      const reply = message.message as CommitReply;
      if ('settled' in reply) this.settle(running, reply);
    }
  }

  private settle(running: Running, { settled }: Extract<CommitReply, { settled: unknown }>): void {
    for (const outcome of settled) {
      running.inFlight.delete(outcome.id);
      const waiter = this.waiting.get(outcome.id);
      if (!waiter) continue;
      this.waiting.delete(outcome.id);
      if ('rows' in outcome) waiter.resolve(outcome.rows);
      else waiter.reject(new Error(outcome.error));
    }
    if (running.inFlight.size === 0) running.port.unref();
  }

  private refuse(writes: readonly { readonly id: number }[], reason: string): void {
    for (const { id } of writes) {
      this.waiting.get(id)?.reject(new Error(reason));
      this.waiting.delete(id);
    }
  }

  /** Rejects the writes a writer held without answering: they may or may not have been committed. */
  private lose(running: Running, why: string): void {
    const error = new Error(`${why}; the write may not have been committed`);
    for (const id of running.inFlight) {
      this.waiting.get(id)?.reject(error);
      this.waiting.delete(id);
    }
    running.inFlight.clear();
  }
}
