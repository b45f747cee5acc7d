import type { Worker } from 'node:worker_threads';
import { siblingModule, startThread, threadErrorText } from '../../core/threads.ts';
import type { ResultScope } from '../store-writes.ts';
import type { OfficialReply, OfficialRequest, OfficialWorkerData } from './official-worker.ts';
import type { OfficialTable } from './official.ts';

export interface LeaderboardOptions {
  /** Bootstrap samples of each fit (default 200). */
  readonly samples?: number;
  /** The least time between two fits of a scope, and between a failure and the next try (default 2000 ms)... */
  readonly minIntervalMs?: number;
  /** ...and the largest share of the time a scope's fits may take (default 0.1). */
  readonly maxBusyShare?: number;
}

interface Fitted {
  readonly table: OfficialTable;
  /** How many results it was fitted from. */
  readonly results: number;
  /** When it was fitted, and how long the fit took. */
  readonly at: number;
  readonly tookMs: number;
}

type Answer = Extract<OfficialReply, { unchanged: true } | { table: OfficialTable }>;
type Waiter = { readonly resolve: (answer: Answer) => void; readonly reject: (error: Error) => void };

/**
 * The official table, fitted on a thread of its own (official-worker.ts)
 * from the stored results. A request counts the results of its scope (a
 * game's, or one tournament's) on that thread and fits again if they have changed,
 * but not more often than the options allow: the fit competes for the same
 * cores as the matches. In between, the last table is the answer; requests
 * made while one is being answered wait for it, and share it.
 */
export class Leaderboard {
  private readonly fitted = new Map<string, Fitted>();
  private readonly asking = new Map<string, Promise<OfficialTable>>();
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, Waiter>();
  private nextId = 0;
  private failure: { readonly at: number; readonly error: Error } | undefined;
  private closed = false;
  private readonly samples: number;
  private readonly minIntervalMs: number;
  private readonly maxBusyShare: number;

  constructor(
    private readonly path: string,
    options: LeaderboardOptions = {},
  ) {
    this.samples = options.samples ?? 200;
    this.minIntervalMs = options.minIntervalMs ?? 2000;
    this.maxBusyShare = options.maxBusyShare ?? 0.1;
  }

  /** The table of a scope's results: a game's (`{game}`), a tournament's (`{tournamentId}`), or all (`{}`, for tests: it pools games). */
  async official(scope: ResultScope = {}): Promise<OfficialTable> {
    if (this.closed) throw new Error('the leaderboard is closed');
    const key = JSON.stringify([scope.game ?? null, scope.tournamentId ?? null]);
    const last = this.fitted.get(key);
    if (last !== undefined && performance.now() - last.at < this.pause(last.tookMs)) return last.table;
    if (this.failure !== undefined && performance.now() - this.failure.at < this.minIntervalMs) throw this.failure.error;
    let answer = this.asking.get(key);
    if (!answer) {
      answer = this.refresh(key, scope, last).finally(() => this.asking.delete(key));
      this.asking.set(key, answer);
    }
    return answer;
  }

  /** Stops the fitting thread; requests in flight, and any later, are refused. */
  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.fail(new Error('the leaderboard was closed'));
    if (worker) await worker.terminate();
  }

  /** How long to wait after a fit that took `tookMs`: fitting takes at most maxBusyShare of the time. */
  private pause(tookMs: number): number {
    return Math.max(this.minIntervalMs, tookMs * (1 / this.maxBusyShare - 1));
  }

  private async refresh(key: string, scope: ResultScope, last: Fitted | undefined): Promise<OfficialTable> {
    let answer: Answer;
    try {
      answer = await this.ask({ id: this.nextId++, scope: { ...scope }, ...(last ? { known: last.results } : {}) });
    } catch (error) {
      this.failure = { at: performance.now(), error: error as Error };
      throw error;
    }
    this.failure = undefined;
    if ('unchanged' in answer) return last!.table;
    this.fitted.set(key, { table: answer.table, results: answer.results, at: performance.now(), tookMs: answer.tookMs });
    return answer.table;
  }

  private ask(request: OfficialRequest): Promise<Answer> {
    return new Promise((resolve, reject) => {
      this.waiting.set(request.id, { resolve, reject });
      const worker = this.start();
      worker.ref();
      worker.postMessage(request);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const data: Omit<OfficialWorkerData, 'entry'> = { path: this.path, samples: this.samples };
    const worker = startThread(siblingModule('official-worker', import.meta.url), data);
    // The thread keeps the process alive only while an answer is owed.
    worker.unref();
    worker.on('message', (reply: OfficialReply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if (this.waiting.size === 0) worker.unref();
      if ('error' in reply) waiter?.reject(new Error(`cannot fit the official table: ${reply.error}`));
      else waiter?.resolve(reply);
    });
    const stopped = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      this.fail(new Error(`the official ratings thread stopped (${why})`));
    };
    worker.on('error', (error) => stopped(threadErrorText(error)));
    worker.on('exit', (code) => stopped(`exit code ${code}`));
    this.worker = worker;
    return worker;
  }

  private fail(error: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
  }
}
