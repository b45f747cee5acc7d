/**
 * The sandbox side of the code executor: the code that runs inside the worker
 * thread, where QuickJS (WebAssembly) evaluates untrusted programs.
 *
 * `sandboxWorker` is sent to the worker as source text (Function.prototype.toString),
 * so its body must not use anything from outside itself: no imported values
 * (type imports are fine, they vanish), no module-level constants, no
 * `import()` or `import.meta`. What it needs comes in `workerData`. (Coverage
 * tools that rewrite function bodies, like istanbul, must leave this file out.)
 */
import type * as QuickJSCore from 'quickjs-emscripten-core';
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core';

/** Layout of the shared control block (Int32 slots) between the host and the worker. */
export const CONTROL = {
  /** 0 idle, 1 a request is waiting, -1 stop. */
  request: 0,
  /** 0 pending, 1 the response is ready. */
  response: 1,
  /** UTF-8 bytes of the request in the data area. */
  requestBytes: 2,
  /** UTF-8 bytes of the response in the data area, or -1 when it came over the message port. */
  responseBytes: 3,
  /** 1 once QuickJS is loaded and the worker serves requests; -1 if it failed to load, -2 once it has quit. */
  ready: 4,
  slots: 8,
} as const;

/** Bytes of the shared block: the control slots, then the data area for requests and responses. */
export const SHARED_BYTES = 4 * 1024 * 1024;
export const CONTROL_BYTES = CONTROL.slots * 4;

export interface SandboxWorkerData {
  readonly shared: SharedArrayBuffer;
  readonly control: typeof CONTROL;
  /** Receives responses too large for the shared block. */
  readonly port: import('node:worker_threads').MessagePort;
  /** Absolute paths of the CommonJS builds of quickjs-emscripten-core and the release-sync variant. */
  readonly corePath: string;
  readonly variantPath: string;
  readonly prelude: string;
  readonly describe: string;
  /** Extra time and memory to describe a thrown value (its getters run in the sandbox too). */
  readonly describeMs: number;
  readonly describeExtraBytes: number;
  readonly maxMessageChars: number;
  /** How long to spin on the shared block before sleeping in Atomics.wait. */
  readonly spinMs: number;
  /** Maximum of the worker's WebAssembly memory: the real bound on what a program can allocate. */
  readonly heapMaxBytes: number;
  /** Heap held back while a program runs, freed when it stops: room to describe what it threw and to answer. */
  readonly reserveBytes: number;
  /** Deepest nesting of arrays and objects allowed in a result. */
  readonly maxDepth: number;
}

/**
 * Evaluated in each fresh context before the program (kept small: compiling it
 * is a good part of a run's cost). It removes the sources of nondeterminism
 * (Math.random, Date, WeakRef, FinalizationRegistry) and returns the driver, a
 * function the host holds a handle to and the program cannot reach. The driver
 * captures the intrinsics it uses before the program runs, so a program that
 * replaces JSON or Reflect only harms its own result.
 *
 * driver(argsText, maxChars) calls f(...JSON.parse(argsText)) and answers:
 *   'V' + JSON text | 'O' + length (over maxChars) | 'M' (no f) | 'F' + typeof f
 *   | 'P' (a Promise) | 'U' (no JSON form) | 'N' + [key as `length:key`] + what (not JSON)
 *   | 'Xf' / 'Xr' (f threw / converting the result threw; the value is in driver.thrown).
 * It sets driver.converting once f has returned, so that a timeout can say where it struck.
 */
export const PRELUDE = `(function (global) {
  'use strict';
  var stringify = JSON.stringify, parse = JSON.parse, apply = Reflect.apply, finite = Number.isFinite;
  var PromiseClass = Promise, ErrorClass = Error, STOP = {}, what, where, top;
  function unavailable() {
    throw new ErrorClass('Math.random and Date are not available in the sandbox: programs must be deterministic');
  }
  Math.random = unavailable;
  unavailable.now = unavailable;
  global.Date = unavailable;
  delete global.WeakRef;
  delete global.FinalizationRegistry;
  function replacer(key, value) {
    var type = typeof value;
    if (type === 'number' ? !finite(value) : type === 'undefined' || type === 'function' || type === 'symbol' || type === 'bigint') {
      what = type === 'number' ? '' + value : type;
      where = top ? null : key;
      throw STOP;
    }
    top = false;
    return value;
  }
  return function driver(argsText, maxChars) {
    var fn, result;
    try { fn = f; } catch (error) { return 'M'; }
    if (typeof fn !== 'function') return 'F' + (fn === null ? 'null' : typeof fn);
    try { result = apply(fn, undefined, parse(argsText)); } catch (error) { driver.thrown = error; return 'Xf'; }
    if (result instanceof PromiseClass) return 'P';
    driver.converting = true;
    top = true;
    try { result = stringify(result, replacer); } catch (error) {
      if (error === STOP) return 'N' + (where === null ? '' : where.length + ':' + where) + what;
      driver.thrown = error;
      return 'Xr';
    }
    if (typeof result !== 'string') return 'U';
    return result.length > maxChars ? 'O' + result.length : 'V' + result;
  };
})(globalThis)`;

/**
 * Compiled only when something was thrown: describes the thrown value as three
 * length-prefixed fields (name, message, stack), so thrown text cannot forge
 * them. Never calls toString; the getters it reads run under a short deadline.
 */
export const DESCRIBE = `(function (thrown) {
  'use strict';
  var name = '', message, stack = '', type = typeof thrown, n, m, s;
  function cut(text, max) { return text.length > max ? text.substring(0, max) : text; }
  function field(text) { return text.length + ':' + text; }
  if (thrown === null) message = 'null';
  else if (type === 'object' || type === 'function') {
    try { n = thrown.name; m = thrown.message; s = thrown.stack; } catch (error) { /* a throwing getter or proxy trap */ }
    if (typeof m === 'string') {
      message = m;
      if (typeof n === 'string') name = n;
      if (typeof s === 'string') stack = s;
    } else message = type === 'function' ? 'a function' : 'an object that is not an Error';
  } else if (type === 'string') message = '"' + cut(thrown, 1000) + '"';
  else if (type === 'symbol') message = 'a symbol';
  else message = '' + thrown + (type === 'bigint' ? 'n' : '');
  return field(cut(name, 200)) + field(cut(message, 1000)) + field(cut(stack, 2000));
})`;

/**
 * The worker's entry point. Loads QuickJS, signals ready, then serves requests
 * from the shared block until told to stop (or until a run breaks the
 * WebAssembly instance, after which it answers, exits, and the host starts a
 * new worker for the next request).
 */
export function sandboxWorker(require: NodeJS.Require, workerData: SandboxWorkerData): void {
  const data = workerData;
  const Slot = data.control;
  const control = new Int32Array(data.shared, 0, Slot.slots);
  const area = Buffer.from(data.shared, Slot.slots * 4);
  const MiB = 1024 * 1024;
  const core = require(data.corePath) as typeof QuickJSCore;
  const variant = require(data.variantPath) as { default: QuickJSCore.QuickJSSyncVariant };
  const intrinsics = { ...core.DefaultIntrinsics, Date: false };

  type Kind = 'timeout' | 'memory' | 'syntax' | 'runtime' | 'output-limit';
  type Limits = { timeoutMs: number; memoryMb: number; maxOutputBytes: number; maxStackKb: number };
  /** One run's outcome: 'V' with the result's JSON text, or an error kind's letter with the message. */
  type Outcome = { code: string; text: string };
  class HeapExhausted extends Error {}
  /** Set when the WebAssembly instance can no longer be trusted: this worker answers, then exits. */
  let broken = false;

  const LETTER: Record<Kind, string> = { timeout: 't', memory: 'm', syntax: 's', runtime: 'r', 'output-limit': 'o' };
  const fail = (kind: Kind, message: string): Outcome => ({
    code: LETTER[kind],
    text: message.length > data.maxMessageChars ? `${message.slice(0, data.maxMessageChars - 3)}...` : message,
  });

  const outOfMemory = (limits: Limits, during: string): Outcome =>
    fail('memory', `out of memory: the program needs more than the ${limits.memoryMb} MB limit (memoryMb)${during}`);

  /** Reads length-prefixed fields (`5:hello`); undefined if the text is malformed. */
  const fields = (text: string): string[] | undefined => {
    const out: string[] = [];
    let at = 0;
    while (at < text.length) {
      const colon = text.indexOf(':', at);
      const length = Number(text.slice(at, colon));
      if (colon < 0 || !Number.isInteger(length) || length < 0 || colon + 1 + length > text.length) return undefined;
      out.push(text.slice(colon + 1, colon + 1 + length));
      at = colon + 1 + length;
    }
    return out;
  };

  /** How deeply arrays and objects nest in a JSON text. */
  const nesting = (json: string): number => {
    let depth = 0;
    let deepest = 0;
    let inString = false;
    for (let i = 0; i < json.length; i++) {
      const c = json.charCodeAt(i);
      if (inString) {
        if (c === 92) i++; // backslash: skip the escaped character
        else if (c === 34) inString = false;
      } else if (c === 34) inString = true;
      else if (c === 91 || c === 123) deepest = Math.max(deepest, ++depth);
      else if (c === 93 || c === 125) depth--;
    }
    return deepest;
  };

  /** `(line 3, column 7)` from the first frame in the program, if any. */
  const where = (stack: string): string => {
    const match = /program\.js:(\d+)(?::(\d+))?/.exec(stack);
    if (!match) return '';
    return match[2] ? ` (line ${match[1]}, column ${match[2]})` : ` (line ${match[1]})`;
  };

  const PHASE: Record<string, string> = {
    program: "while evaluating the program's top level",
    f: '',
    result: "while converting f's result to JSON",
  };

  /** A fresh runtime and context with the prelude evaluated, ready for one program. */
  interface Sandbox {
    readonly runtime: QuickJSRuntime;
    readonly context: QuickJSContext;
    readonly driver: QuickJSHandle;
    /** Every handle made for this run, disposed before the context. */
    readonly handles: QuickJSHandle[];
    deadline: number;
    interrupted: boolean;
    /** The reserved block (a pointer), 0 once freed. */
    reserve: number;
  }

  /** The Emscripten module's allocator, for the reserve. */
  const heapOf = (qjs: QuickJSWASMModule) => (qjs as unknown as { module: { _malloc(bytes: number): number; _free(pointer: number): void } }).module;
  /** Set when the heap could not grow past its maximum during the current run. */
  let heapFull = false;

  const freeReserve = (qjs: QuickJSWASMModule, sandbox: Sandbox): void => {
    if (sandbox.reserve) heapOf(qjs)._free(sandbox.reserve);
    sandbox.reserve = 0;
  };

  const prepare = (qjs: QuickJSWASMModule): Sandbox => {
    const runtime = qjs.newRuntime();
    const context = runtime.newContext({ intrinsics });
    const prelude = context.evalCode(data.prelude, '<sandbox>', { type: 'global' });
    if (prelude.error) {
      prelude.error.dispose();
      context.dispose();
      runtime.dispose();
      throw new Error('the sandbox prelude failed to evaluate');
    }
    const reserve = heapOf(qjs)._malloc(data.reserveBytes);
    if (!reserve) throw new HeapExhausted();
    const sandbox: Sandbox = { runtime, context, driver: prelude.value, handles: [prelude.value], deadline: Infinity, interrupted: false, reserve };
    runtime.setInterruptHandler(() => {
      if (performance.now() <= sandbox.deadline) return false;
      sandbox.interrupted = true;
      return true;
    });
    return sandbox;
  };

  const release = (qjs: QuickJSWASMModule, sandbox: Sandbox): void => {
    freeReserve(qjs, sandbox);
    for (const handle of sandbox.handles) if (handle.alive) handle.dispose();
    sandbox.context.dispose();
    sandbox.runtime.dispose();
  };

  /** Runs the program once in `sandbox` (which it uses up: release it afterwards, unless the instance broke). */
  const runOnce = (qjs: QuickJSWASMModule, sandbox: Sandbox, program: string, argsText: string, limits: Limits): Outcome => {
    const { runtime, context: ctx, driver } = sandbox;
    const keep = (handle: QuickJSHandle): QuickJSHandle => {
      // A null pointer means the bindings' own malloc failed (the heap is full): their state can no longer be trusted.
      if (handle.value === 0) throw new HeapExhausted();
      sandbox.handles.push(handle);
      return handle;
    };
    const memoryBytes = Math.floor(limits.memoryMb * MiB);
    const during = (phase: string): string => (PHASE[phase] ? ` ${PHASE[phase]}` : '');
    const timedOut = (phase: string): Outcome => {
      // An interrupt while f's result was being converted to JSON surfaces from the driver as f's own.
      if (phase === 'f' && ctx.dump(keep(ctx.getProp(driver, 'converting'))) === true) phase = 'result';
      return fail('timeout', `timed out: the program ran longer than the ${limits.timeoutMs} ms limit (timeoutMs)${during(phase)}`);
    };

    /** Classifies a thrown value; its getters run with a short deadline of their own and a little extra memory. */
    const thrown = (phase: string, value: QuickJSHandle): Outcome => {
      keep(value);
      if (sandbox.interrupted) return timedOut(phase);
      // Whatever was thrown after the heap filled up (QuickJS may not even manage to make its error) is a memory failure.
      if (heapFull) return outOfMemory(limits, during(phase));
      sandbox.deadline = performance.now() + data.describeMs;
      runtime.setMemoryLimit(memoryBytes + data.describeExtraBytes);
      const couldNot = fail('runtime', `uncaught exception${during(phase)}: a value that could not be described (reading it failed or ran out of time)`);
      const describe = ctx.evalCode(data.describe, '<sandbox>', { type: 'global' });
      if (describe.error) return keep(describe.error), couldNot;
      const described = ctx.callFunction(keep(describe.value), ctx.undefined, value);
      if (described.error) return keep(described.error), couldNot;
      const parts = fields(ctx.getString(keep(described.value)));
      if (!parts || parts.length !== 3) return couldNot;
      const [name, message, stack] = parts;
      if (message === 'stack overflow' && (name === 'InternalError' || name === 'SyntaxError' || name === 'RangeError')) {
        return fail('memory', `stack overflow: nesting deeper than the ${limits.maxStackKb} KB stack allows (maxStackKb)${during(phase)}`);
      }
      if (name === 'InternalError' && message.startsWith('out of memory')) return outOfMemory(limits, during(phase));
      if (name === 'InternalError' && message === 'string too long') {
        return fail('memory', `out of memory: string too long (QuickJS strings hold at most 2^30 - 1 characters)${during(phase)}`);
      }
      // The program's own SyntaxError comes from the compiler, whose stack is the one position in the
      // source; one thrown while the program runs (JSON.parse, eval, new Function) has frames.
      if (phase === 'program' && name === 'SyntaxError' && /^\s*at program\.js:\d+:\d+\s*$/.test(stack)) {
        return fail('syntax', `SyntaxError: ${message}${where(stack)}`);
      }
      if (name === '') return fail('runtime', `uncaught exception${during(phase)}: ${message}${where(stack)}`);
      return fail('runtime', `${name}: ${message}${where(stack)}${PHASE[phase] ? ` (${PHASE[phase]})` : ''}`);
    };

    const argsHandle = keep(ctx.newString(argsText));
    const maxChars = keep(ctx.newNumber(limits.maxOutputBytes));
    runtime.setMaxStackSize(Math.floor(limits.maxStackKb * 1024));
    runtime.setMemoryLimit(memoryBytes);
    heapFull = false;
    sandbox.deadline = performance.now() + limits.timeoutMs;
    const evaluated = ctx.evalCode(program, 'program.js', { type: 'global' });
    if (evaluated.error) {
      freeReserve(qjs, sandbox);
      return thrown('program', evaluated.error);
    }
    keep(evaluated.value);
    const called = ctx.callFunction(driver, ctx.undefined, argsHandle, maxChars);
    freeReserve(qjs, sandbox);
    if (called.error) return thrown('f', called.error);
    const answer = ctx.getString(keep(called.value));
    sandbox.deadline = Infinity;
    // An async f turns the interrupt into a rejected promise and returns normally: still a timeout.
    if (sandbox.interrupted) return timedOut('f');
    const tag = answer[0];
    if (tag === 'V') {
      const json = answer.slice(1);
      const bytes = Buffer.byteLength(json);
      if (bytes > limits.maxOutputBytes) {
        return fail('output-limit', `the result's JSON text is ${bytes} bytes, over the ${limits.maxOutputBytes}-byte limit (maxOutputBytes)`);
      }
      const depth = nesting(json);
      if (depth > data.maxDepth) {
        return fail('output-limit', `the result is nested ${depth} levels deep, over the ${data.maxDepth}-level limit (the host's own JSON code recurses)`);
      }
      return { code: 'V', text: json };
    }
    if (tag === 'O') {
      return fail('output-limit', `the result's JSON text is ${answer.slice(1)} characters, over the ${limits.maxOutputBytes}-byte limit (maxOutputBytes)`);
    }
    if (tag === 'X') return thrown(answer[1] === 'r' ? 'result' : 'f', ctx.getProp(driver, 'thrown'));
    if (tag === 'N') {
      // 'N' + what (f's value itself), or 'N' + `length:key` + what (a value inside it)
      const keyed = /^N(\d+):/.exec(answer);
      const key = keyed ? answer.slice(keyed[0].length, keyed[0].length + Number(keyed[1])) : '';
      const what = keyed ? answer.slice(keyed[0].length + key.length) : answer.slice(1);
      const shown = /^(undefined|NaN|-?Infinity)$/.test(what) ? what : what === 'bigint' ? 'a BigInt' : `a ${what}`;
      if (!keyed) return fail('runtime', `f returned ${shown}, which is not a JSON value`);
      return fail('runtime', `f's result is not JSON: it holds ${shown} at key ${JSON.stringify(key.slice(0, 100))}`);
    }
    const fix = 'the program must define a function f, e.g. function f(x) { return x; }';
    if (tag === 'M') return fail('runtime', `the program does not define f: ${fix}`);
    if (tag === 'F') return fail('runtime', `f is not a function (it is ${answer.slice(1)}): ${fix}`);
    if (tag === 'P') return fail('runtime', 'f returned a Promise: async functions are not supported, f must return a JSON value');
    return fail('runtime', "f's result has no JSON form");
  };

  /** Runs a request's program once or twice; `used` collects the sandboxes to release after answering. */
  const serve = (qjs: QuickJSWASMModule, request: string, first: Sandbox | undefined, used: Sandbox[]): Outcome[] => {
    // Request: `runs|timeoutMs|memoryMb|maxOutputBytes|maxStackKb|programLength|` + program + argsText.
    const numbers: number[] = [];
    let at = 0;
    for (let i = 0; i < 6; i++) {
      const bar = request.indexOf('|', at);
      numbers.push(Number(request.slice(at, bar)));
      at = bar + 1;
    }
    const [runs, timeoutMs, memoryMb, maxOutputBytes, maxStackKb, programLength] = numbers;
    const program = request.slice(at, at + programLength);
    const argsText = request.slice(at + programLength);
    const limits = { timeoutMs, memoryMb, maxOutputBytes, maxStackKb };
    const outcomes: Outcome[] = [];
    for (let i = 0; i < runs; i++) {
      const sandbox = i === 0 && first ? first : prepare(qjs);
      used.push(sandbox);
      let outcome: Outcome;
      try {
        outcome = runOnce(qjs, sandbox, program, argsText, limits);
      } catch (error) {
        // The host side of QuickJS failed: most likely the worker's own stack overflowed inside
        // WebAssembly, which leaves the instance in an unknown state. Answer, then retire this worker.
        broken = true;
        outcome =
          error instanceof HeapExhausted
            ? outOfMemory(limits, '')
            : error instanceof RangeError
              ? fail('memory', `stack overflow: the program nested too deeply for the sandbox (maxStackKb ${limits.maxStackKb})`)
              : fail('runtime', `the sandbox failed (${String(error).slice(0, 200)}); it was restarted`);
      }
      outcomes.push(outcome);
      if (broken || outcome.code !== 'V') break; // a failed first run is the answer: no second run
      // The second run must find the heap as the first did: free the first run's context now.
      if (i + 1 < runs) release(qjs, used.pop() as Sandbox);
    }
    return outcomes;
  };

  const respond = (response: string): void => {
    const bytes = Buffer.byteLength(response);
    if (bytes <= area.length) {
      area.write(response, 0, 'utf8');
      control[Slot.responseBytes] = bytes;
    } else {
      data.port.postMessage(response);
      control[Slot.responseBytes] = -1;
    }
    Atomics.store(control, Slot.response, 1);
    Atomics.notify(control, Slot.response);
  };

  const loop = (qjs: QuickJSWASMModule): void => {
    // The next run's sandbox is made while the worker would otherwise wait: a run then costs
    // only the program's own compile and call. Used sandboxes are released after answering.
    let next: Sandbox | undefined = prepare(qjs);
    Atomics.store(control, Slot.ready, 1);
    Atomics.notify(control, Slot.ready);
    for (;;) {
      // Spin briefly before sleeping: back-to-back runs then skip the futex round trip.
      const spinUntil = performance.now() + data.spinMs;
      while (Atomics.load(control, Slot.request) === 0 && performance.now() < spinUntil);
      Atomics.wait(control, Slot.request, 0);
      const state = Atomics.load(control, Slot.request);
      if (state === -1) return;
      if (state !== 1) continue;
      Atomics.store(control, Slot.request, 0);
      const request = area.toString('utf8', 0, control[Slot.requestBytes]);
      const used: Sandbox[] = [];
      let response: string;
      try {
        response = serve(qjs, request, next, used)
          .map((o) => `${o.code}${o.text.length}:${o.text}`)
          .join('');
      } catch (error) {
        broken = true;
        const message = `the sandbox failed: ${String(error).slice(0, 200)}`;
        response = `r${message.length}:${message}`;
      }
      next = undefined;
      respond(broken ? `!${response}` : response);
      if (broken) return;
      try {
        for (const sandbox of used) release(qjs, sandbox);
        next = prepare(qjs);
      } catch {
        // The instance is unusable: say so (the host starts a new worker before its next request) and exit.
        Atomics.store(control, Slot.ready, -2);
        return;
      }
    }
  };

  // A memory of our own, so that its maximum caps what QuickJS can allocate (the build's default is 2 GiB).
  // The module needs at least 16 MiB to start; a smaller cap is made up with ballast, allocated once.
  const MIN_BYTES = 16 * MiB;
  const maxBytes = Math.max(MIN_BYTES, Math.ceil(data.heapMaxBytes / 65536) * 65536);
  const { WebAssembly: Wasm } = globalThis as unknown as { WebAssembly: { Memory: new (descriptor: { initial: number; maximum: number }) => unknown } };
  const wasmMemory = new Wasm.Memory({ initial: MIN_BYTES / 65536, maximum: maxBytes / 65536 }) as { grow(pages: number): number };
  const grow = wasmMemory.grow.bind(wasmMemory);
  wasmMemory.grow = (pages: number): number => {
    try {
      return grow(pages);
    } catch (error) {
      heapFull = true; // the allocator asked for more than the maximum: malloc is about to fail
      throw error;
    }
  };
  core.newQuickJSWASMModuleFromVariant(core.newVariant(variant.default ?? variant, { wasmMemory: wasmMemory as never })).then(
    (qjs) => {
      const ballast = maxBytes - data.heapMaxBytes;
      if (ballast > 0) (qjs as unknown as { module: { _malloc(bytes: number): number } }).module._malloc(ballast);
      loop(qjs);
      data.port.close();
    },
    () => {
      Atomics.store(control, Slot.ready, -1);
      Atomics.notify(control, Slot.ready);
      data.port.close();
    },
  );
}
