/**
 * The host side of the sandbox workers: starts the worker threads that run
 * QuickJS, sends them requests synchronously (shared memory and Atomics.wait),
 * and stands watch: a worker that does not answer in time, or whose
 * WebAssembly instance broke, is terminated and replaced on the next call.
 *
 * The workers serve every Executor of this thread (calls are synchronous, so
 * they never overlap); they start with the first Executor.create and close
 * when the last executor is disposed. They are unref'd: an executor that is
 * never disposed does not keep the process alive.
 */
import { createRequire } from 'node:module';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { CONTROL, CONTROL_BYTES, DESCRIBE, PRELUDE, SHARED_BYTES, sandboxWorker, type SandboxWorkerData } from './executor-sandbox.ts';

/**
 * The worker's native stack. QuickJS counts its stack in WebAssembly linear
 * memory (maxStackKb), but each level of recursion also takes native stack
 * for the WebAssembly frames, up to about 30 times as much on some paths (the
 * parser, JSON): a generous native stack lets QuickJS's own limit trip first.
 */
const WORKER_STACK_MB = 256;
/** Time allowed to describe a thrown value, whose getters run in the sandbox. */
export const DESCRIBE_MS = 50;
/** Beyond the run's own limits, how long the host waits before it terminates a silent worker. */
export const WATCHDOG_SLACK_MS = 500;
const START_TIMEOUT_MS = 30_000;
/**
 * How long the worker spins on the shared block for the next request before it
 * sleeps in Atomics.wait: back-to-back runs then skip a thread wake-up, which can
 * cost as much as a small run. (The host does not spin: on a busy machine its
 * spinning would take the CPU from the worker it waits for.)
 */
const WORKER_SPIN_MS = 0.3;
const MAX_MESSAGE_CHARS = 500;
/** Results nested deeper fail with 'output-limit': hosts walk results recursively (JSON.stringify, deep equality). */
export const MAX_RESULT_DEPTH = 1000;
/** Heap held back while a program runs and freed when it stops, so that the sandbox can still describe its failure. */
const RESERVE_BYTES = 2 * 1024 * 1024;

let workerSource: string | undefined;

function source(): string {
  // The worker function travels as text; the wrapper reports a failure to start through the ready slot.
  workerSource ??= `'use strict';
const { workerData } = require('node:worker_threads');
try {
  (${sandboxWorker.toString()})(require, workerData);
} catch (error) {
  const control = new Int32Array(workerData.shared, 0, workerData.control.slots);
  Atomics.store(control, workerData.control.ready, -1);
  Atomics.notify(control, workerData.control.ready);
  throw error;
}`;
  return workerSource;
}

/**
 * The worker's WebAssembly memory maximum for a memory limit: QuickJS's static
 * data and 5 MiB C stack (5.3 MB), the next run's prepared context and the
 * bindings' own allocations (1 MiB), the reserve, then the program's heap.
 */
export function heapMaxBytes(memoryMb: number): number {
  return 5_333_088 + 1024 * 1024 + RESERVE_BYTES + Math.ceil(memoryMb * 1024 * 1024);
}

function quickjsPaths(): { corePath: string; variantPath: string } {
  const here = createRequire(import.meta.url);
  const fromQuickjs = createRequire(here.resolve('quickjs-emscripten'));
  return { corePath: fromQuickjs.resolve('quickjs-emscripten-core'), variantPath: fromQuickjs.resolve('@jitl/quickjs-wasmfile-release-sync') };
}

class SandboxThread {
  private readonly worker: Worker;
  private readonly control: Int32Array;
  private readonly area: Buffer;
  private readonly port: MessagePort;
  private dead = false;
  private startError: unknown;

  constructor(memoryMb: number) {
    const shared = new SharedArrayBuffer(SHARED_BYTES);
    this.control = new Int32Array(shared, 0, CONTROL.slots);
    this.area = Buffer.from(shared, CONTROL_BYTES);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const workerData: SandboxWorkerData = {
      shared,
      control: CONTROL,
      port: port2,
      ...quickjsPaths(),
      prelude: PRELUDE,
      describe: DESCRIBE,
      describeMs: DESCRIBE_MS,
      describeExtraBytes: 1024 * 1024,
      maxMessageChars: MAX_MESSAGE_CHARS,
      spinMs: WORKER_SPIN_MS,
      heapMaxBytes: heapMaxBytes(memoryMb),
      reserveBytes: RESERVE_BYTES,
      maxDepth: MAX_RESULT_DEPTH,
    };
    this.worker = new Worker(source(), {
      eval: true,
      workerData,
      transferList: [port2],
      execArgv: [],
      resourceLimits: { stackSizeMb: WORKER_STACK_MB },
    });
    this.worker.unref();
    this.port.unref();
    this.worker.on('error', (error) => {
      this.startError ??= error;
      this.dead = true;
    });
    this.worker.on('exit', () => (this.dead = true));
  }

  get alive(): boolean {
    return !this.dead && Atomics.load(this.control, CONTROL.ready) >= 0;
  }

  /** Resolves once QuickJS is loaded in the worker. */
  async ready(): Promise<void> {
    const until = performance.now() + START_TIMEOUT_MS;
    while (Atomics.load(this.control, CONTROL.ready) === 0 && !this.dead && performance.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    this.checkStarted();
  }

  /** Blocks until QuickJS is loaded in the worker (the worker starts without the host's event loop). */
  readySync(): void {
    const until = performance.now() + START_TIMEOUT_MS;
    while (Atomics.load(this.control, CONTROL.ready) === 0 && performance.now() < until) {
      Atomics.wait(this.control, CONTROL.ready, 0, Math.max(1, until - performance.now()));
    }
    this.checkStarted();
  }

  private checkStarted(): void {
    if (Atomics.load(this.control, CONTROL.ready) === 1) return;
    this.close();
    const why = this.startError instanceof Error ? `: ${this.startError.message}` : '';
    throw new Error(`the code executor's sandbox worker failed to start${why}`);
  }

  /** Sends one request; the response text, or undefined when the worker had to be terminated (no answer in `budgetMs`). */
  call(request: string, budgetMs: number): string | undefined {
    const bytes = Buffer.byteLength(request);
    if (bytes > this.area.length) throw new Error(`executor request of ${bytes} bytes exceeds the shared buffer`);
    this.area.write(request, 0, 'utf8');
    this.control[CONTROL.requestBytes] = bytes;
    Atomics.store(this.control, CONTROL.response, 0);
    Atomics.store(this.control, CONTROL.request, 1);
    Atomics.notify(this.control, CONTROL.request);
    const end = performance.now() + budgetMs;
    while (Atomics.load(this.control, CONTROL.response) === 0) {
      const left = end - performance.now();
      if (left <= 0) {
        this.close();
        return undefined;
      }
      Atomics.wait(this.control, CONTROL.response, 0, left);
    }
    const length = this.control[CONTROL.responseBytes];
    const response = length >= 0 ? this.area.toString('utf8', 0, length) : String(receiveMessageOnPort(this.port)?.message ?? '');
    if (response.startsWith('!')) {
      // The worker's WebAssembly instance broke during this run; it has answered and is exiting.
      this.close();
      return response.slice(1);
    }
    return response;
  }

  close(): void {
    if (this.dead) return;
    this.dead = true;
    Atomics.store(this.control, CONTROL.request, -1);
    Atomics.notify(this.control, CONTROL.request);
    this.worker.terminate().catch(() => undefined);
    this.port.close();
  }
}

/**
 * Workers by memory limit. QuickJS's own memory limit does not hold in this
 * WebAssembly build (it cannot measure allocations, so it only refuses single
 * allocations larger than the limit): a run's memory is bounded by the
 * worker's WebAssembly memory instead, whose maximum is fixed when the worker
 * starts. So each memoryMb gets its own workers (usually there is just one
 * memoryMb).
 *
 * Two workers per memory limit take turns: while one runs a program, the
 * other makes its next fresh context (most of a run's cost), so on two cores
 * back-to-back runs go about twice as fast as with one worker.
 */
const WORKERS_PER_LIMIT = 2;
const MAX_LIMITS = 4;
const pools = new Map<number, { threads: (SandboxThread | undefined)[]; next: number }>();
let users = 0;

function poolFor(memoryMb: number): { threads: (SandboxThread | undefined)[]; next: number } {
  let pool = pools.get(memoryMb);
  if (!pool) {
    if (pools.size >= MAX_LIMITS) {
      const [oldest, old] = pools.entries().next().value as [number, { threads: (SandboxThread | undefined)[] }];
      for (const thread of old.threads) thread?.close();
      pools.delete(oldest);
    }
    pool = { threads: Array.from({ length: WORKERS_PER_LIMIT }, () => undefined), next: 0 };
    pools.set(memoryMb, pool);
  }
  return pool;
}

/** The pool's worker in slot `index`, replacing a dead one (not yet ready). */
function slot(memoryMb: number, index: number): SandboxThread {
  const pool = poolFor(memoryMb);
  let thread = pool.threads[index];
  if (!thread?.alive) {
    thread?.close();
    thread = pool.threads[index] = new SandboxThread(memoryMb);
  }
  return thread;
}

/** Registers a user of the sandbox workers and waits until those for `memoryMb` are ready. */
export async function acquireSandbox(memoryMb: number): Promise<void> {
  users++;
  try {
    const threads = Array.from({ length: WORKERS_PER_LIMIT }, (_, i) => slot(memoryMb, i));
    await Promise.all(threads.map((thread) => thread.ready()));
  } catch (error) {
    users--;
    for (const thread of pools.get(memoryMb)?.threads ?? []) thread?.close();
    pools.delete(memoryMb);
    throw error;
  }
}

/** Drops a user; the workers close with the last one. */
export function releaseSandbox(): void {
  users = Math.max(0, users - 1);
  if (users > 0) return;
  for (const pool of pools.values()) for (const thread of pool.threads) thread?.close();
  pools.clear();
}

/** Sends a request to a worker for `memoryMb`, starting one first if needed; undefined when the watchdog fired. */
export function callSandbox(memoryMb: number, request: string, budgetMs: number): string | undefined {
  const pool = poolFor(memoryMb);
  const index = pool.next;
  pool.next = (index + 1) % WORKERS_PER_LIMIT;
  const thread = slot(memoryMb, index);
  thread.readySync();
  return thread.call(request, budgetMs);
}
