/**
 * The sandboxed code executor: runs an untrusted JavaScript program's `f` on
 * JSON arguments in QuickJS (WebAssembly), with time, memory, stack and output
 * limits, and answers a JSON value or a typed failure.
 *
 * Each run gets a fresh QuickJS runtime and context, so nothing leaks from one
 * run to the next. Runs happen in worker threads (executor-thread.ts; the code
 * that runs there is executor-sandbox.ts) that the host waits for
 * synchronously, behind a watchdog: whatever a program does, the host's own
 * stack, heap and event loop are out of its reach.
 */
import { acquireSandbox, callSandbox, DESCRIBE_MS, releaseSandbox, WATCHDOG_SLACK_MS } from './executor-thread.ts';

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export const EXEC_ERROR_KINDS = ['timeout', 'memory', 'syntax', 'runtime', 'output-limit', 'nondeterministic'] as const;
export type ExecErrorKind = (typeof EXEC_ERROR_KINDS)[number];

export type ExecResult =
  | { readonly ok: true; readonly value: JsonValue }
  | { readonly ok: false; readonly error: { readonly kind: ExecErrorKind; readonly message: string } };

export interface ExecLimits {
  /**
   * Wall time for one run in ms (default 1000): QuickJS's interrupt handler stops the program;
   * a watchdog terminates the worker if that fails to within 500 ms.
   */
  readonly timeoutMs?: number;
  /** Heap for one run in MiB (default 32): the worker's WebAssembly memory is capped at this plus QuickJS's own ~8 MB. */
  readonly memoryMb?: number;
  /** Bytes of the result's JSON text, UTF-8 (default 65536). Results nested over 1,000 levels also fail with 'output-limit'. */
  readonly maxOutputBytes?: number;
  /** QuickJS stack in KiB, at most 4096 (default 512, about 3,000 plain calls deep): deeper nesting fails with kind 'memory'. */
  readonly maxStackKb?: number;
}

export const DEFAULT_EXEC_LIMITS: Required<ExecLimits> = { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 65536, maxStackKb: 512 };

/** Allowed ranges of the limits; a limit outside its range is a programming error (RangeError). */
export const EXEC_LIMIT_RANGES: { readonly [K in keyof ExecLimits]-?: readonly [number, number] } = {
  timeoutMs: [1, 600_000],
  memoryMb: [1, 1024],
  maxOutputBytes: [1, 64 * 1024 * 1024],
  maxStackKb: [16, 4096],
};

/** A program longer than this (UTF-8) fails with kind 'syntax' without being evaluated. */
export const MAX_PROGRAM_BYTES = 256 * 1024;
/** Arguments whose JSON text is longer than this fail with kind 'memory' without being sent. */
export const MAX_ARGS_BYTES = 1024 * 1024;

const failure = (kind: ExecErrorKind, message: string): ExecResult => ({ ok: false, error: { kind, message } });

/** Merges `override` into `base` and checks every limit; throws a RangeError naming a bad one. */
export function resolveLimits(base: Required<ExecLimits>, override?: ExecLimits): Required<ExecLimits> {
  const limits = { ...base };
  for (const key of Object.keys(EXEC_LIMIT_RANGES) as (keyof ExecLimits)[]) {
    const value = override?.[key];
    if (value === undefined) continue;
    const [min, max] = EXEC_LIMIT_RANGES[key];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      throw new RangeError(`executor limit ${key} must be a number from ${min} to ${max}, not ${String(value)}`);
    }
    limits[key] = value;
  }
  return limits;
}

/** The arguments' JSON text, or the failure that stops the run before it starts. */
function encodeArgs(args: readonly JsonValue[]): { text: string } | { failure: ExecResult } {
  if (!Array.isArray(args)) throw new TypeError('executor: args must be an array of JSON values');
  let problem = '';
  const replacer = function (this: unknown, key: string, value: unknown): unknown {
    const what =
      typeof value === 'number' && !Number.isFinite(value) ? String(value)
      : value === undefined ? 'undefined'
      : typeof value === 'function' ? 'a function'
      : typeof value === 'symbol' ? 'a symbol'
      : typeof value === 'bigint' ? 'a BigInt'
      : '';
    if (what) {
      problem = `the arguments are not JSON: they hold ${what} at key ${JSON.stringify(key)}`;
      throw new TypeError(problem);
    }
    return value;
  };
  let text: string;
  try {
    text = JSON.stringify(args, replacer);
  } catch (error) {
    if (problem) return { failure: failure('runtime', problem) };
    if (error instanceof RangeError) return { failure: failure('memory', 'the arguments are nested too deeply to encode as JSON') };
    return { failure: failure('runtime', `the arguments are not JSON: ${error instanceof Error ? error.message : String(error)}`) };
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_ARGS_BYTES) {
    return { failure: failure('memory', `the arguments' JSON text is ${bytes} bytes, over the ${MAX_ARGS_BYTES}-byte limit; the program was not run`) };
  }
  return { text };
}

/** A run's outcome as the worker reports it: ok with the result's JSON text, or a failure. */
export type RunOutcome = { readonly ok: true; readonly json: string } | { readonly ok: false; readonly result: ExecResult };

const KINDS: Record<string, ExecErrorKind> = { t: 'timeout', m: 'memory', s: 'syntax', r: 'runtime', o: 'output-limit' };

/** Reads the worker's response: one `code length:text` record per run. */
function decode(response: string): RunOutcome[] {
  const outcomes: RunOutcome[] = [];
  let at = 0;
  while (at < response.length) {
    const code = response[at];
    const colon = response.indexOf(':', at);
    const length = Number(response.slice(at + 1, colon));
    const text = response.slice(colon + 1, colon + 1 + length);
    at = colon + 1 + length;
    if (code === 'V') outcomes.push({ ok: true, json: text });
    else outcomes.push({ ok: false, result: failure(KINDS[code] ?? 'runtime', text) });
  }
  return outcomes;
}

const shorten = (text: string, max = 200): string => (text.length > max ? `${text.slice(0, max - 3)}...` : text);

function toResult(outcome: RunOutcome): ExecResult {
  if (!outcome.ok) return outcome.result;
  try {
    return { ok: true, value: JSON.parse(outcome.json) as JsonValue };
  } catch {
    return failure('runtime', `the sandbox returned text that is not JSON: ${shorten(outcome.json)}`);
  }
}

/**
 * The verdict of two runs of the same program on the same arguments: the
 * first failure, or the value when both runs agree, or 'nondeterministic'.
 */
export function compareRuns(first: RunOutcome, second: RunOutcome | undefined): ExecResult {
  if (!first.ok || !second) return toResult(first);
  if (!second.ok) {
    const { kind, message } = (second.result as Extract<ExecResult, { ok: false }>).error;
    return failure('nondeterministic', `the first run returned ${shorten(first.json)}, the second failed (${kind}: ${shorten(message)})`);
  }
  if (first.json !== second.json) {
    return failure('nondeterministic', `two runs returned different results: ${shorten(first.json)}, then ${shorten(second.json)}`);
  }
  return toResult(first);
}

/** Runs untrusted programs in QuickJS. Create one with `await Executor.create()`; `run` is synchronous. */
export class Executor {
  private disposed = false;

  private constructor(readonly limits: Required<ExecLimits>) {}

  /** Loads the QuickJS wasm module (in the sandbox worker) once; every run after that is synchronous. */
  static async create(limits?: ExecLimits): Promise<Executor> {
    const resolved = resolveLimits(DEFAULT_EXEC_LIMITS, limits);
    await acquireSandbox(resolved.memoryMb);
    return new Executor(Object.freeze(resolved));
  }

  /** Runs `program` (source that defines a function `f`) as f(...args) in a fresh context; synchronous. */
  run(program: string, args: readonly JsonValue[], limits?: ExecLimits): ExecResult {
    const outcomes = this.execute(program, args, limits, 1);
    return Array.isArray(outcomes) ? toResult(outcomes[0]) : outcomes;
  }

  /** Runs twice in two fresh contexts; kind 'nondeterministic' when the two results differ (JSON text compare). */
  runChecked(program: string, args: readonly JsonValue[], limits?: ExecLimits): ExecResult {
    const outcomes = this.execute(program, args, limits, 2);
    return Array.isArray(outcomes) ? compareRuns(outcomes[0], outcomes[1]) : outcomes;
  }

  /** Releases this executor's hold on the sandbox worker. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    releaseSandbox();
  }

  private execute(program: string, args: readonly JsonValue[], override: ExecLimits | undefined, runs: 1 | 2): RunOutcome[] | ExecResult {
    if (this.disposed) throw new Error('executor: this Executor has been disposed');
    if (typeof program !== 'string') throw new TypeError('executor: program must be a string of JavaScript source');
    const limits = override ? resolveLimits(this.limits, override) : this.limits;
    const programBytes = Buffer.byteLength(program);
    if (programBytes > MAX_PROGRAM_BYTES) {
      return failure('syntax', `the program is ${programBytes} bytes, over the ${MAX_PROGRAM_BYTES}-byte limit; it was not evaluated`);
    }
    const encoded = encodeArgs(args);
    if ('failure' in encoded) return encoded.failure;
    const { timeoutMs, memoryMb, maxOutputBytes, maxStackKb } = limits;
    const request = `${runs}|${timeoutMs}|${memoryMb}|${maxOutputBytes}|${maxStackKb}|${program.length}|${program}${encoded.text}`;
    const budget = runs * (timeoutMs + DESCRIBE_MS) + WATCHDOG_SLACK_MS;
    const response = callSandbox(memoryMb, request, budget);
    if (response === undefined) {
      return failure('timeout', `timed out: the program ran past the ${timeoutMs} ms limit (timeoutMs) and the sandbox had to be stopped`);
    }
    const outcomes = decode(response);
    if (outcomes.length === 0) return failure('runtime', 'the sandbox gave no answer');
    return outcomes;
  }
}
