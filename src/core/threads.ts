import { readlinkSync } from 'node:fs';
import { constants, setPriority } from 'node:os';
import { Worker, type ResourceLimits, type TransferListItem } from 'node:worker_threads';

const ENTRY = new URL('./typescript-thread.mjs', import.meta.url);

/** The database writer's nice value: below the serving thread, above the leaderboard's fits. */
export const WRITER_NICE = 5;

/** What every worker thread of ours is given: the module it runs. */
export interface ThreadData {
  readonly entry: string;
}

/**
 * The module `name` beside the module at `base` (an import.meta.url): its
 * TypeScript in a checkout, its JavaScript in the build.
 */
export function siblingModule(name: string, base: string): URL {
  return new URL(`./${name}${base.slice(base.lastIndexOf('.'))}`, base);
}

/** A worker thread running the module `module` (a file URL) with `data` as its workerData. */
export function startThread<T extends object>(module: URL, data: T, transferList: readonly TransferListItem[] = [], resourceLimits?: ResourceLimits): Worker {
  return new Worker(ENTRY, { workerData: { entry: module.href, ...data } satisfies ThreadData, transferList: [...transferList], resourceLimits });
}

/**
 * Lowers the calling thread below the thread that serves the agents: when
 * both want the same core, a move's round trip would otherwise wait on this
 * thread's work. `nice` is how far (default 10, below normal; the database
 * writer takes 5, since every match's end waits for its commits). On Linux
 * each thread has its own priority, set through its thread id; elsewhere this
 * would lower the whole process, so it is skipped.
 */
export function yieldToServing(nice: number = constants.priority.PRIORITY_BELOW_NORMAL): void {
  if (process.platform !== 'linux') return;
  try {
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), nice);
  } catch {
    // Without /proc (or if the system refuses), the thread runs at the normal priority.
  }
}

/** What a worker's `error` event carries, as text: an error thrown in the thread may arrive as a plain object. */
export function threadErrorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  const { message, code } = (typeof error === 'object' && error !== null ? error : {}) as { message?: unknown; code?: unknown };
  if (typeof message === 'string') return message;
  if (typeof code === 'string') return code;
  return String(error);
}
