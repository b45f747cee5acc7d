import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Executor, type ExecErrorKind, type ExecLimits, type ExecResult, type JsonValue } from '../../environments/absolute-zero/executor.ts';

/**
 * Hostile programs: each must end in its typed failure (or, for the escapes,
 * in a value showing that it reached nothing) within its time limit plus a
 * margin, and the host must stay healthy after many rounds of them.
 */
interface Hostile {
  readonly name: string;
  readonly program: string;
  /** The failure kind, or 'ok' with the value the program must return. */
  readonly expect: ExecErrorKind | { readonly ok: JsonValue };
  /** A pattern the failure message must match. */
  readonly message?: RegExp;
  readonly limits?: ExecLimits;
}

const LOOP = { timeoutMs: 200 };
/** Memory bombs get time to fill the heap on a slow machine; they must fail on memory, not time. */
const BOMB = { timeoutMs: 3000 };
/** The margin on top of a run's time limit (describing a thrown value, the watchdog, a noisy 2-core machine). */
const MARGIN_MS = 1300;

const HOST_NAMES = [
  'process', 'require', 'module', 'exports', 'fetch', 'setTimeout', 'setInterval', 'setImmediate', 'queueMicrotask',
  'XMLHttpRequest', 'WebSocket', 'Buffer', 'global', '__dirname', 'console', 'std', 'os', 'print', 'scriptArgs',
  'WebAssembly', 'Deno', 'Bun', 'performance', 'Intl', 'WeakRef', 'FinalizationRegistry',
];
const hostNames = JSON.stringify(HOST_NAMES);
const allUndefined = HOST_NAMES.map(() => 'undefined');

const corpus: Hostile[] = [
  // endless loops
  { name: 'while (true) {}', program: 'function f() { while (true) {} }', expect: 'timeout', message: /200 ms limit \(timeoutMs\)/, limits: LOOP },
  { name: 'for (;;);', program: 'function f() { for (;;); }', expect: 'timeout', limits: LOOP },
  { name: 'loop at the top level', program: 'for (;;) {} function f() {}', expect: 'timeout', message: /top level/, limits: LOOP },
  { name: 'recursion in a loop', program: 'function f() { const r = (n) => (n ? r(n - 1) : 0); for (;;) r(1000); }', expect: 'timeout', limits: LOOP },
  { name: 'stack overflows caught in a loop', program: 'function f() { const r = () => r(); for (;;) { try { r(); } catch (e) {} } }', expect: 'timeout', limits: LOOP },
  { name: 'recursion through try/finally (the watchdog stops it)', program: 'function f() { function r() { try { r(); } finally { r(); } } r(); }', expect: 'timeout', limits: LOOP },
  { name: 'loop in finally after the interrupt', program: 'function f() { try { for (;;) {} } finally { for (;;) {} } }', expect: 'timeout', limits: LOOP },
  { name: 'sort with a looping comparator', program: 'function f() { return [3, 1, 2].sort(() => { for (;;) {} }); }', expect: 'timeout', limits: LOOP },
  { name: 'async function that loops', program: 'async function f() { for (;;) {} }', expect: 'timeout', limits: LOOP },
  { name: 'catastrophic regex', program: 'function f() { return /(a+)+$/.test("a".repeat(40) + "b"); }', expect: 'timeout', limits: LOOP },
  { name: 'getter that loops while the result is converted', program: 'function f() { return { get x() { for (;;) {} } }; }', expect: 'timeout', message: /converting f's result to JSON/, limits: LOOP },
  { name: 'toJSON that loops', program: 'function f() { return { toJSON() { for (;;) {} } }; }', expect: 'timeout', limits: LOOP },
  { name: 'proxy result whose ownKeys trap loops', program: 'function f() { return new Proxy({}, { ownKeys() { for (;;) {} } }); }', expect: 'timeout', limits: LOOP },
  { name: 'promise jobs never run', program: 'function f() { Promise.resolve().then(() => { for (;;) {} }); return 1; }', expect: { ok: 1 }, limits: LOOP },

  // memory and stack
  { name: 'deep recursion', program: 'function f(n) { return f(n + 1) + 1; }', expect: 'memory', message: /^stack overflow: .*\(maxStackKb\)/ },
  { name: 'array growth', program: 'function f() { const a = []; for (;;) a.push(new Array(1000).fill(1)); }', expect: 'memory', message: /^out of memory: .*32 MB/, limits: BOMB },
  { name: 'array growth at the top level', program: 'const a = []; for (;;) a.push({ n: a.length }); function f() {}', expect: 'memory', limits: BOMB },
  { name: 'string doubling', program: 'function f() { let s = "ab"; for (;;) s += s; }', expect: 'memory', limits: BOMB },
  { name: 'string doubling, flattened', program: 'function f() { let s = "ab"; for (;;) { s += s; s.charCodeAt(s.length - 1); } }', expect: 'memory', limits: BOMB },
  { name: 'huge string', program: 'function f() { return "x".repeat(2 ** 29).length; }', expect: 'memory', limits: BOMB },
  { name: 'huge typed array', program: 'function f() { return new Uint8Array(1e9).length; }', expect: 'memory', limits: BOMB },
  { name: 'huge ArrayBuffer', program: 'function f() { return new ArrayBuffer(1e9).byteLength; }', expect: 'memory', limits: BOMB },
  { name: 'many typed arrays, each under the limit', program: 'function f() { const a = []; for (let i = 0; i < 200; i++) a.push(new Float64Array(2e6)); return a.length; }', expect: 'memory', limits: BOMB },
  { name: 'a bomb caught, then thrown past', program: 'function f() { const a = []; try { for (;;) a.push(new Array(1000)); } catch (e) { throw null; } }', expect: 'memory', limits: BOMB },
  { name: 'deeply nested JSON text', program: 'function f() { return JSON.parse("[".repeat(1e6)); }', expect: 'memory', message: /stack overflow/, limits: BOMB },
  { name: 'deeply nested source', program: 'function f() { return eval("(".repeat(1e5) + "1" + ")".repeat(1e5)); }', expect: 'memory', limits: BOMB },
  { name: 'deeply nested result (JSON.stringify is quadratic in depth)', program: 'function f() { let o = []; for (let i = 0; i < 1e5; i++) o = [o]; return o; }', expect: 'timeout', message: /converting f's result to JSON/ },
  { name: 'nested result deeper than the host may walk', program: 'function f() { let o = []; for (let i = 0; i < 2000; i++) o = [o]; return o; }', expect: 'output-limit', message: /nested 2001 levels deep, over the 1000-level limit/ },

  // huge outputs
  { name: 'huge string output', program: 'function f() { return "x".repeat(1e6); }', expect: 'output-limit', message: /over the 65536-byte limit/ },
  { name: 'huge array output', program: 'function f() { return [...Array(1e5).keys()]; }', expect: 'output-limit' },

  // reaching for the host
  { name: 'constructor.constructor("return this")()', program: `function f() { const g = f.constructor.constructor("return this")(); return [g === globalThis, ${hostNames}.map((n) => typeof g[n])]; }`, expect: { ok: [true, allUndefined] } },
  { name: '({}).constructor.constructor', program: `function f() { const g = ({}).constructor.constructor("return this")(); return ${hostNames}.map((n) => typeof g[n]); }`, expect: { ok: allUndefined } },
  { name: 'indirect eval of this', program: `function f() { const g = (0, eval)("this"); return ${hostNames}.map((n) => eval("typeof " + n)).concat([g === globalThis]); }`, expect: { ok: [...allUndefined, true] } },
  { name: 'require', program: 'function f() { return require("fs").readFileSync("/etc/passwd", "utf8"); }', expect: 'runtime', message: /ReferenceError: 'require' is not defined/ },
  { name: 'process.exit', program: 'function f() { process.exit(1); }', expect: 'runtime', message: /'process' is not defined/ },
  { name: 'dynamic import', program: 'function f() { return import("fs"); }', expect: 'runtime', message: /f returned a Promise/ },
  { name: 'dynamic import, ignored', program: 'function f() { import("fs").then((m) => (globalThis.fs = m)); return typeof fs; }', expect: { ok: 'undefined' } },
  { name: 'import statement', program: 'import fs from "fs"; function f() { return fs.readFileSync("/etc/passwd"); }', expect: 'syntax' },
  { name: 'import namespace', program: 'import * as os from "os"; function f() {}', expect: 'syntax' },
  { name: 'export', program: 'export function f() { return 1; }', expect: 'syntax' },
  { name: 'Function to reach Date', program: 'function f() { return Function("return Date.now()")(); }', expect: 'runtime', message: /Math\.random and Date are not available/ },
  { name: 'eval to reach Math.random', program: 'function f() { return (0, eval)("Math.random")(); }', expect: 'runtime', message: /not available in the sandbox/ },

  // what is thrown
  { name: 'throw 42', program: 'function f() { throw 42; }', expect: 'runtime', message: /^uncaught exception: 42$/ },
  { name: 'throw null', program: 'function f() { throw null; }', expect: 'runtime', message: /^uncaught exception: null$/ },
  { name: 'throw an object whose toString loops', program: 'function f() { throw { toString() { for (;;) {} } }; }', expect: 'runtime', message: /an object that is not an Error/ },
  { name: 'throw an error whose message getter loops', program: 'function f() { throw { get message() { for (;;) {} } }; }', expect: 'runtime', message: /could not be described/ },
  { name: 'throw an Error subclass whose name getter loops', program: 'class E extends Error { get name() { for (;;) {} } } function f() { throw new E("x"); }', expect: 'runtime' },
  { name: 'throw a Proxy whose get trap loops', program: 'function f() { throw new Proxy({}, { get() { for (;;) {} } }); }', expect: 'runtime', message: /could not be described/ },
  { name: 'throw a Proxy whose get trap throws', program: 'function f() { throw new Proxy({}, { get() { throw new Error("trap"); } }); }', expect: 'runtime' },
  { name: 'throw a symbol', program: 'function f() { throw Symbol("s"); }', expect: 'runtime', message: /a symbol/ },
  { name: 'throw a function', program: 'function f() { throw f; }', expect: 'runtime', message: /a function/ },

  // nondeterminism
  { name: 'Math.random()', program: 'function f() { return Math.random(); }', expect: 'runtime', message: /^Error: Math\.random and Date are not available in the sandbox: programs must be deterministic/ },
  { name: 'Date.now()', program: 'function f() { return Date.now(); }', expect: 'runtime', message: /not available in the sandbox/ },
  { name: 'new Date()', program: 'function f() { return new Date().getTime(); }', expect: 'runtime', message: /not available in the sandbox/ },
  { name: 'Date()', program: 'function f() { return Date(); }', expect: 'runtime', message: /not available in the sandbox/ },
  { name: 'WeakRef', program: 'function f() { return new WeakRef({}); }', expect: 'runtime', message: /ReferenceError: 'WeakRef' is not defined/ },
];

let executor: Executor;
beforeAll(async () => {
  executor = await Executor.create();
});
afterAll(() => executor.dispose());

function runTimed(hostile: Hostile): { result: ExecResult; ms: number } {
  const start = performance.now();
  const result = executor.run(hostile.program, [], hostile.limits);
  return { result, ms: performance.now() - start };
}

function check(hostile: Hostile, { result, ms }: { result: ExecResult; ms: number }): void {
  const limit = hostile.limits?.timeoutMs ?? executor.limits.timeoutMs;
  expect(ms, `${hostile.name} took ${ms.toFixed(0)} ms`).toBeLessThan(limit + MARGIN_MS);
  if (typeof hostile.expect === 'object') {
    expect(result, hostile.name).toEqual({ ok: true, value: hostile.expect.ok });
    return;
  }
  expect(result.ok, `${hostile.name}: ${JSON.stringify(result)}`).toBe(false);
  if (result.ok) return;
  expect(result.error.kind, `${hostile.name}: ${result.error.message}`).toBe(hostile.expect);
  if (hostile.message) expect(result.error.message, hostile.name).toMatch(hostile.message);
}

const NORMAL = 'function f(xs) { return xs.map((x) => x * 2).reduce((a, b) => a + b, 0); }';

describe('hostile programs', () => {
  it.each(corpus.map((hostile) => [hostile.name, hostile] as const))('%s', (_name, hostile) => {
    check(hostile, runTimed(hostile));
    // and the sandbox still works
    expect(executor.run(NORMAL, [[1, 2, 3]])).toEqual({ ok: true, value: 12 });
  });

  it('lets nothing leak from one run into the next', () => {
    const polluter = `function f() {
      globalThis.secret = 42; var leaked = 1;
      Object.prototype.polluted = 1; Array.prototype.map = null; JSON.stringify = () => '"hacked"';
      Math.random = () => 4; Math.PI = 3; Object.freeze(Object.prototype);
      return 1;
    }`;
    expect(executor.run(polluter, [])).toEqual({ ok: true, value: 1 });
    const probe = 'function f() { return [typeof secret, typeof leaked, "polluted" in {}, typeof [].map, JSON.stringify([1]), Math.PI, Object.isFrozen(Object.prototype)]; }';
    expect(executor.run(probe, [])).toEqual({ ok: true, value: ['undefined', 'undefined', false, 'function', '[1]', Math.PI, false] });
    expect(failed(executor.run('function f() { return Math.random(); }', [])).kind).toBe('runtime');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(typeof [].map).toBe('function');
  });

  it('keeps a program that replaces JSON and Reflect from forging its result', () => {
    const forger = 'function f() { JSON.stringify = () => "not json"; Reflect.apply = () => 7; JSON.parse = () => [1]; return { real: true }; }';
    expect(executor.run(forger, [])).toEqual({ ok: true, value: { real: true } });
    expect(executor.run('function f(a) { JSON.parse = null; return a; }', [{ x: [1] }])).toEqual({ ok: true, value: { x: [1] } });
  });

  it('stays healthy over rounds of the whole corpus', () => {
    const measure = () => {
      const { rss, heapUsed } = process.memoryUsage();
      return { rss: rss / 2 ** 20, heapUsed: heapUsed / 2 ** 20 };
    };
    const rounds: { rss: number; heapUsed: number }[] = [];
    for (let round = 0; round < 5; round++) {
      for (const hostile of corpus) check(hostile, runTimed(hostile));
      rounds.push(measure());
    }
    // after round 2 (everything warmed up) against after round 5, in MiB
    expect(rounds[4].rss - rounds[1].rss, JSON.stringify(rounds)).toBeLessThan(64);
    expect(rounds[4].heapUsed - rounds[1].heapUsed, JSON.stringify(rounds)).toBeLessThan(16);
    expect(executor.run(NORMAL, [[5, 6]])).toEqual({ ok: true, value: 22 });
    expect(executor.runChecked(NORMAL, [[5, 6]])).toEqual({ ok: true, value: 22 });
  }, 180_000);
});

function failed(result: ExecResult): { kind: ExecErrorKind; message: string } {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.error;
}
