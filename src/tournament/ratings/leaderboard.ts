import type { Worker } from 'node:worker_threads';
import { startThread } from '../worker-threads.ts';
import type { OfficialReply, OfficialRequest, OfficialWorkerData } from './official-worker.ts';
import type { OfficialTable } from './official.ts';

interface Fitted {
  /** The results' generation the fit started from. */
  readonly generation: number;
  readonly at: number;
  readonly tookMs: number;
  readonly table: OfficialTable;
}

type Waiter = { readonly resolve: (table: OfficialTable) => void; readonly reject: (error: Error) => void };

export interface LeaderboardOptions {
  /** Bootstrap samples of each fit (default 200). */
  readonly samples?: number;
  /** The least time between two fits of a scope (default 2000 ms)... */
  readonly minIntervalMs?: number;
  /** ...and the largest share of the time a scope's fits may take (default 0.1). */
  readonly maxBusyShare?: number;
}

/**
 * The official table, fitted on a thread of its own (official-worker.ts)
 * from the stored results, and fitted again when they have changed, but
 * not more often than the options allow for each scope (all results, or one
 * tournament's): the fit competes for the same cores as the matches. In
 * between, the last table is the answer; requests made while a fit runs
 * wait for it, and share it.
 */
export class Leaderboard {
  private readonly fitted = new Map<string, Fitted>();
  private readonly fitting = new Map<string, Promise<OfficialTable>>();
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 0;
  private readonly samples: number;
  private readonly minIntervalMs: number;
  private readonly maxBusyShare: number;

  /**
   * `path`: the database; `generation`: a number that changes whenever
   * results are added (the store's count of committed completions).
   */
  constructor(
    private readonly path: string,
    private readonly generation: () => number,
    options: LeaderboardOptions = {},
  ) {
    this.samples = options.samples ?? 200;
    this.minIntervalMs = options.minIntervalMs ?? 2000;
    this.maxBusyShare = options.maxBusyShare ?? 0.1;
  }

  async official(tournamentId?: number): Promise<OfficialTable> {
    const scope = tournamentId === undefined ? 'all' : String(tournamentId);
    const last = this.fitted.get(scope);
    if (last !== undefined && (last.generation === this.generation() || performance.now() - last.at < this.pause(last.tookMs))) return last.table;
    let fit = this.fitting.get(scope);
    if (!fit) {
      fit = this.fit(scope, tournamentId).finally(() => this.fitting.delete(scope));
      this.fitting.set(scope, fit);
    }
    return fit;
  }

  /** How long to wait after a fit that took `tookMs`: fitting takes at most maxBusyShare of the time. */
  private pause(tookMs: number): number {
    return Math.max(this.minIntervalMs, tookMs * (1 / this.maxBusyShare - 1));
  }

  /** Stops the fitting thread; fits in flight are rejected. */
  close(): void {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) void worker.terminate();
    this.fail(new Error('the leaderboard was closed'));
  }

  private async fit(scope: string, tournamentId: number | undefined): Promise<OfficialTable> {
    const generation = this.generation();
    const started = performance.now();
    const table = await this.ask(tournamentId);
    const at = performance.now();
    this.fitted.set(scope, { generation, at, tookMs: at - started, table });
    return table;
  }

  private ask(tournamentId: number | undefined): Promise<OfficialTable> {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.waiting.set(id, { resolve, reject });
      const worker = this.start();
      worker.ref();
      worker.postMessage({ id, ...(tournamentId === undefined ? {} : { tournamentId }) } satisfies OfficialRequest);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const data: Omit<OfficialWorkerData, 'entry'> = { path: this.path, samples: this.samples };
    const worker = startThread(new URL('./official-worker.ts', import.meta.url), data);
    // The thread keeps the process alive only while a fit is owed.
    worker.unref();
    worker.on('message', (reply: OfficialReply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) worker.unref();
      if ('table' in reply) waiter?.resolve(reply.table);
      else waiter?.reject(new Error(`cannot fit the official table: ${reply.error}`));
    });
    const stopped = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.fail(new Error(`the official ratings thread stopped (${why})`));
    };
    worker.on('error', (error) => stopped(error.message));
    worker.on('exit', (code) => stopped(`exit code ${code}`));
    this.worker = worker;
    return worker;
  }

  private fail(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
