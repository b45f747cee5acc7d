import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareRuns,
  DEFAULT_EXEC_LIMITS,
  EXEC_ERROR_KINDS,
  Executor,
  MAX_ARGS_BYTES,
  MAX_PROGRAM_BYTES,
  resolveLimits,
  type ExecErrorKind,
  type ExecResult,
  type JsonValue,
} from '../../environments/absolute-zero/executor.ts';

let executor: Executor;
beforeAll(async () => {
  executor = await Executor.create();
});
afterAll(() => executor.dispose());

const IDENTITY = 'function f(x) { return x; }';

/** The failure's kind and message, or fails the test if the run succeeded. */
function failed(result: ExecResult): { kind: ExecErrorKind; message: string } {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.error;
}

describe('Executor values', () => {
  it('runs f on its arguments and returns the JSON value', () => {
    expect(executor.run('function f(a, b) { return a * b + 1 }', [6, 7])).toEqual({ ok: true, value: 43 });
    expect(executor.run('function f() { return "no args" }', [])).toEqual({ ok: true, value: 'no args' });
    expect(executor.run('function f(xs, o) { return { n: xs.length, k: Object.keys(o), s: xs.concat([o.a]) } }', [[1, 2], { a: 'x', b: null }])).toEqual({
      ok: true,
      value: { n: 2, k: ['a', 'b'], s: [1, 2, 'x'] },
    });
  });

  it('round-trips any JSON value through the identity function', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const result = executor.run(IDENTITY, [value as JsonValue]);
        // JSON itself maps -0 to 0: compare against the host's own JSON round trip.
        expect(result).toEqual({ ok: true, value: JSON.parse(JSON.stringify(value)) });
      }),
      { numRuns: 150, seed: 7 },
    );
  });

  it('round-trips strings with any characters, lone surrogates included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        expect(executor.run(IDENTITY, [text])).toEqual({ ok: true, value: JSON.parse(JSON.stringify(text)) });
      }),
      { numRuns: 100, seed: 3 },
    );
  });

  it('computes what the same functions compute natively', () => {
    const programs: { source: string; native: (...args: never[]) => unknown; args: fc.Arbitrary<JsonValue[]> }[] = [
      { source: 'function f(a, b) { return a * b + 1 }', native: (a: number, b: number) => a * b + 1, args: fc.tuple(fc.integer(), fc.integer()) },
      { source: 'function f(xs) { let s = 0; for (const x of xs) s += x; return s }', native: (xs: number[]) => xs.reduce((s, x) => s + x, 0), args: fc.tuple(fc.array(fc.integer({ min: -1e6, max: 1e6 }))) },
      { source: 'function f(s) { return s.split("").reverse().join("") }', native: (s: string) => s.split('').reverse().join(''), args: fc.tuple(fc.string()) },
      { source: 'const f = (xs) => [...xs].sort((a, b) => a - b).filter((x, i, a) => a.indexOf(x) === i)', native: (xs: number[]) => [...new Set(xs)].sort((a, b) => a - b), args: fc.tuple(fc.array(fc.integer({ min: 0, max: 20 }))) },
    ];
    for (const { source, native, args } of programs) {
      fc.assert(
        fc.property(args, (values) => {
          expect(executor.run(source, values)).toEqual({ ok: true, value: JSON.parse(JSON.stringify(native(...(values as never[])))) });
        }),
        { numRuns: 40, seed: 11 },
      );
    }
  });

  it('finds f however it is declared', () => {
    for (const source of ['function f(x) { return x + 1 }', 'var f = function (x) { return x + 1 }', 'let f = (x) => x + 1', 'const f = (x) => x + 1', 'globalThis.f = (x) => x + 1']) {
      expect(executor.run(source, [1]), source).toEqual({ ok: true, value: 2 });
    }
    expect(executor.run('const g = (x) => x * 2; function f(x) { return g(x) + helper }; var helper = 1', [5])).toEqual({ ok: true, value: 11 });
  });

  it('lets f use the ordinary built-ins', () => {
    const source = `function f(n) {
      const m = new Map([[1, 'a']]); const s = new Set([1, 1, 2]);
      const t = new Uint8Array([1, 2, 300]);
      return { m: [...m], s: s.size, t: Array.from(t), r: /b+/.exec('abbbc')[0], j: JSON.parse('[1]'), big: String(2n ** 70n),
               math: Math.max(1, n), sym: typeof Symbol(), p: typeof Proxy, norm: 'e\\u0301'.normalize('NFC').length };
    }`;
    expect(executor.run(source, [4])).toEqual({
      ok: true,
      value: { m: [[1, 'a']], s: 2, t: [1, 2, 44], r: 'bbb', j: [1], big: '1180591620717411303424', math: 4, sym: 'symbol', p: 'function', norm: 1 },
    });
  });

  it('starts every run from a fresh context: nothing carries over', () => {
    const counter = 'function f() { globalThis.count = (globalThis.count || 0) + 1; Array.prototype.extra = 1; return count; }';
    expect(executor.run(counter, [])).toEqual({ ok: true, value: 1 });
    expect(executor.run(counter, [])).toEqual({ ok: true, value: 1 });
    expect(executor.runChecked(counter, [])).toEqual({ ok: true, value: 1 });
    expect(executor.run('function f() { return [typeof count, [].extra === undefined] }', [])).toEqual({ ok: true, value: ['undefined', true] });
  });

  it('passes deterministic programs through runChecked', () => {
    const source = 'function f(n) { const out = []; for (let i = 0; i < n; i++) out.push(i * i % 7); return out }';
    expect(executor.runChecked(source, [10])).toEqual({ ok: true, value: [0, 1, 4, 2, 2, 4, 1, 0, 1, 4] });
    expect(failed(executor.runChecked('function f() { throw new Error("always") }', [])).kind).toBe('runtime');
  });

  it("compares two runs' JSON text", () => {
    const ok = (json: string) => ({ ok: true as const, json });
    expect(compareRuns(ok('[1]'), ok('[1]'))).toEqual({ ok: true, value: [1] });
    expect(compareRuns(ok('[1]'), undefined)).toEqual({ ok: true, value: [1] });
    const differ = failed(compareRuns(ok('{"a":1,"b":2}'), ok('{"b":2,"a":1}')));
    expect(differ.kind).toBe('nondeterministic');
    expect(differ.message).toMatch(/two runs returned different results: \{"a":1,"b":2\}, then \{"b":2,"a":1\}/);
    const second = failed(compareRuns(ok('1'), { ok: false, result: { ok: false, error: { kind: 'timeout', message: 'timed out' } } }));
    expect(second).toEqual({ kind: 'nondeterministic', message: 'the first run returned 1, the second failed (timeout: timed out)' });
    const first = { ok: false as const, result: { ok: false as const, error: { kind: 'syntax' as const, message: 'bad' } } };
    expect(compareRuns(first, undefined)).toEqual(first.result);
  });
});

describe('Executor failures', () => {
  const kindOf = (source: string, args: JsonValue[] = [], limits = {}) => failed(executor.run(source, args, limits));

  it('reports a program that does not parse as a syntax error, with its position', () => {
    expect(kindOf('function f( {')).toEqual({ kind: 'syntax', message: expect.stringMatching(/^SyntaxError: .+ \(line 1, column \d+\)$/) });
    expect(kindOf('function f() {\n  return 1 +;\n}').message).toMatch(/line 2/);
    expect(kindOf('import fs from "fs"; function f() {}').kind).toBe('syntax');
    expect(kindOf('let a = 1; let a = 2; function f() {}').kind).toBe('syntax');
  });

  it('tells a SyntaxError thrown at run time from one in the source', () => {
    expect(kindOf('JSON.parse("{"); function f() {}')).toEqual({ kind: 'runtime', message: expect.stringMatching(/^SyntaxError: .*while evaluating the program's top level/) });
    expect(kindOf('function f() { return JSON.parse("{") }')).toEqual({ kind: 'runtime', message: expect.stringMatching(/^SyntaxError: /) });
  });

  it('requires a function named f', () => {
    expect(kindOf('function g() { return 1 }')).toEqual({ kind: 'runtime', message: expect.stringMatching(/^the program does not define f: .*function f\(x\)/) });
    expect(kindOf('')).toMatchObject({ kind: 'runtime', message: expect.stringMatching(/does not define f/) });
    expect(kindOf('var f = 3')).toEqual({ kind: 'runtime', message: expect.stringMatching(/^f is not a function \(it is number\)/) });
    expect(kindOf('var f = null').message).toMatch(/it is null/);
    expect(kindOf('class f {}').message).toMatch(/TypeError: class constructors must be invoked with 'new'/);
  });

  it('rejects results that are not JSON, saying what and where', () => {
    expect(kindOf('function f() {}')).toEqual({ kind: 'runtime', message: 'f returned undefined, which is not a JSON value' });
    expect(kindOf('function f() { return NaN }').message).toBe('f returned NaN, which is not a JSON value');
    expect(kindOf('function f() { return -1 / 0 }').message).toBe('f returned -Infinity, which is not a JSON value');
    expect(kindOf('function f() { return () => 1 }').message).toBe('f returned a function, which is not a JSON value');
    expect(kindOf('function f() { return 10n }').message).toBe('f returned a BigInt, which is not a JSON value');
    expect(kindOf('function f() { return Symbol() }').message).toBe('f returned a symbol, which is not a JSON value');
    expect(kindOf('function f() { return { a: [1, 2, NaN] } }').message).toBe('f\'s result is not JSON: it holds NaN at key "2"');
    expect(kindOf('function f() { return { a: { deep: undefined } } }').message).toBe('f\'s result is not JSON: it holds undefined at key "deep"');
    expect(kindOf('function f() { return [1, , 3] }').message).toMatch(/holds undefined at key "1"/);
    expect(kindOf('function f() { return { n: 1n } }').message).toMatch(/holds a BigInt at key "n"/);
    expect(kindOf('function f() { const o = {}; o.self = o; return o }')).toEqual({ kind: 'runtime', message: expect.stringMatching(/circular.*while converting f's result to JSON/) });
    expect(kindOf('async function f() { return 1 }').message).toMatch(/f returned a Promise/);
    // toJSON is honoured, like JSON.stringify does
    expect(executor.run('function f() { return { toJSON() { return [1, 2] } } }', [])).toEqual({ ok: true, value: [1, 2] });
  });

  it('names what f threw, with its position', () => {
    expect(kindOf('function f() {\n  null.x;\n}')).toEqual({ kind: 'runtime', message: expect.stringMatching(/^TypeError: .+ \(line 2, column \d+\)$/) });
    expect(kindOf('function f() { throw new RangeError("too far") }').message).toMatch(/^RangeError: too far \(line 1/);
    expect(kindOf('function f() { throw "plain text" }').message).toBe('uncaught exception: "plain text"');
    expect(kindOf('function f() { throw 42 }').message).toBe('uncaught exception: 42');
    expect(kindOf('function f() { throw undefined }').message).toBe('uncaught exception: undefined');
    expect(kindOf('function f() { throw { code: 1 } }').message).toBe('uncaught exception: an object that is not an Error');
    expect(kindOf('throw new Error("at load"); function f() {}').message).toMatch(/^Error: at load .*top level/);
    const long = kindOf('function f() { throw new Error("x".repeat(100000)) }');
    expect(long.message.length).toBeLessThanOrEqual(500);
    expect(long.message).toMatch(/\.\.\.$/);
  });

  it('enforces the time, memory, stack and output limits with their kinds', () => {
    expect(kindOf('function f() { for (;;) {} }', [], { timeoutMs: 100 })).toEqual({ kind: 'timeout', message: expect.stringMatching(/100 ms limit \(timeoutMs\)/) });
    expect(kindOf('function f() { const a = []; for (;;) a.push(new Array(1000).fill(1)) }', [], { memoryMb: 8 })).toEqual({ kind: 'memory', message: expect.stringMatching(/^out of memory: .*8 MB.*\(memoryMb\)/) });
    expect(executor.run('function f() { const a = []; for (let i = 0; i < 500; i++) a.push(new Array(1000).fill(1)); return a.length }', [], { memoryMb: 16 })).toEqual({ ok: true, value: 500 });
    expect(kindOf('function f() { let s = "ab"; for (;;) s += s }')).toEqual({ kind: 'memory', message: expect.stringMatching(/string too long/) });
    expect(kindOf('function f(n) { return f(n + 1) + 1 }', [0])).toEqual({ kind: 'memory', message: expect.stringMatching(/^stack overflow: .*512 KB .*\(maxStackKb\)/) });
    expect(kindOf('function f(n) { return "x".repeat(n) }', [1000], { maxOutputBytes: 100 })).toEqual({ kind: 'output-limit', message: expect.stringMatching(/1002 characters, over the 100-byte limit/) });
    // bytes, not characters: 40 three-byte characters are 122 bytes of JSON text
    expect(kindOf('function f() { return "€".repeat(40) }', [], { maxOutputBytes: 100 }).message).toMatch(/122 bytes, over the 100-byte limit/);
    expect(executor.run('function f() { return "€".repeat(40) }', [], { maxOutputBytes: 122 })).toEqual({ ok: true, value: '€'.repeat(40) });
  });

  it('lets recursion go about as deep as the stack allows', () => {
    const depth = 'function f(n) { return n === 0 ? 0 : 1 + f(n - 1) }';
    expect(executor.run(depth, [1000])).toEqual({ ok: true, value: 1000 });
    expect(failed(executor.run(depth, [1000], { maxStackKb: 64 })).kind).toBe('memory');
    expect(executor.run(depth, [10000], { maxStackKb: 4096 })).toEqual({ ok: true, value: 10000 });
  });

  it('returns large results through the side channel', () => {
    const big = executor.run('function f(n) { return "y".repeat(n) }', [5_000_000], { maxOutputBytes: 6_000_000, memoryMb: 64 });
    expect(big.ok && typeof big.value === 'string' && big.value.length).toBe(5_000_000);
    expect(executor.run('function f(x) { return x }', [7])).toEqual({ ok: true, value: 7 });
  });

  it('guards the host against huge programs and arguments, and arguments that are not JSON', () => {
    const huge = `function f() { return 1 }\n//${'x'.repeat(MAX_PROGRAM_BYTES)}`;
    expect(failed(executor.run(huge, []))).toEqual({ kind: 'syntax', message: expect.stringMatching(/over the 262144-byte limit; it was not evaluated/) });
    expect(failed(executor.run(IDENTITY, ['z'.repeat(MAX_ARGS_BYTES)]))).toEqual({ kind: 'memory', message: expect.stringMatching(/arguments' JSON text is \d+ bytes, over the 1048576-byte limit/) });
    expect(failed(executor.run(IDENTITY, [NaN]))).toEqual({ kind: 'runtime', message: 'the arguments are not JSON: they hold NaN at key "0"' });
    expect(failed(executor.run(IDENTITY, [{ a: undefined } as unknown as JsonValue])).message).toMatch(/hold undefined at key "a"/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(failed(executor.run(IDENTITY, [cyclic as JsonValue])).message).toMatch(/^the arguments are not JSON: .*circular/i);
    expect(() => executor.run(IDENTITY, 'not an array' as unknown as JsonValue[])).toThrow(TypeError);
  });

  it('uses only the six documented error kinds', () => {
    expect(EXEC_ERROR_KINDS).toEqual(['timeout', 'memory', 'syntax', 'runtime', 'output-limit', 'nondeterministic']);
  });
});

describe('Executor limits and lifetime', () => {
  it('has the documented defaults and merges per-run limits', () => {
    expect(DEFAULT_EXEC_LIMITS).toEqual({ timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 65536, maxStackKb: 512 });
    expect(executor.limits).toEqual(DEFAULT_EXEC_LIMITS);
    expect(resolveLimits(DEFAULT_EXEC_LIMITS, { timeoutMs: 50 })).toEqual({ ...DEFAULT_EXEC_LIMITS, timeoutMs: 50 });
  });

  it('rejects limits out of range with a RangeError naming them', () => {
    expect(() => resolveLimits(DEFAULT_EXEC_LIMITS, { timeoutMs: 0 })).toThrow(/timeoutMs must be a number from 1 to 600000, not 0/);
    expect(() => resolveLimits(DEFAULT_EXEC_LIMITS, { memoryMb: Number.NaN })).toThrow(RangeError);
    expect(() => resolveLimits(DEFAULT_EXEC_LIMITS, { maxStackKb: 1e9 })).toThrow(/maxStackKb/);
    expect(() => executor.run(IDENTITY, [1], { maxOutputBytes: -1 })).toThrow(/maxOutputBytes/);
  });

  it('shares one sandbox worker between executors; disposing one leaves the others working', async () => {
    const a = await Executor.create({ timeoutMs: 300 });
    const b = await Executor.create();
    expect(a.limits.timeoutMs).toBe(300);
    a.dispose();
    a.dispose(); // twice is harmless
    expect(() => a.run(IDENTITY, [1])).toThrow(/disposed/);
    expect(b.run(IDENTITY, [1])).toEqual({ ok: true, value: 1 });
    b.dispose();
    expect(executor.run(IDENTITY, [2])).toEqual({ ok: true, value: 2 });
  });
});
