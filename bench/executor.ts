import { Executor, type JsonValue } from '../environments/absolute-zero/executor.ts';
import { median, rate, table } from './measure.ts';

const PROGRAMS: { name: string; source: string; args: JsonValue[] }[] = [
  { name: 'a * b + 1', source: 'function f(a, b) { return a * b + 1 }', args: [6, 7] },
  { name: 'loop summing 1..100', source: 'function f(n) { let s = 0; for (let i = 1; i <= n; i++) s += i; return s }', args: [100] },
  { name: 'string reverse', source: 'function f(s) { return s.split("").reverse().join("") }', args: ['the quick brown fox jumps over the lazy dog'] },
];

/**
 * Executions per second of small programs, each in a fresh QuickJS runtime and
 * context: `run`, and `runChecked` (two executions per call). The baseline
 * compiles and calls the same source natively with `new Function`, once per
 * execution, in this process.
 */
export async function benchExecutor(rounds = 5): Promise<string> {
  const executor = await Executor.create();
  try {
    // The worker's WebAssembly is compiled lazily and optimized while it runs: warm it up first.
    const warmUntil = performance.now() + 3000;
    while (performance.now() < warmUntil) executor.run(PROGRAMS[0].source, PROGRAMS[0].args);

    const rows: Record<string, string | number>[] = [];
    for (const { name, source, args } of PROGRAMS) {
      const expected = JSON.stringify(executor.run(source, args));
      if (!expected.startsWith('{"ok":true')) throw new Error(`benchmark program failed: ${expected}`);
      const runs: number[] = [];
      const checked: number[] = [];
      const natives: number[] = [];
      // Interleaved rounds, so that all three see the same machine load.
      for (let r = 0; r < rounds; r++) {
        runs.push(rate((n) => { for (let i = 0; i < n; i++) executor.run(source, args); }, 100, 0.4));
        checked.push(2 * rate((n) => { for (let i = 0; i < n; i++) executor.runChecked(source, args); }, 50, 0.4));
        natives.push(rate((n) => { for (let i = 0; i < n; i++) new Function(`${source}; return f`)()(...args); }, 1000, 0.2));
      }
      rows.push({
        program: name,
        'run/s': median(runs),
        'runChecked executions/s': median(checked),
        'runChecked calls/s': median(checked) / 2,
        'native (new Function)/s': median(natives),
        'native / run': median(natives) / median(runs),
        target: '>= 2,000',
      });
    }
    return `${table(rows)}\n\nEach execution: a fresh QuickJS runtime and context, the prelude, the program compiled and f called, the JSON result checked and returned, in one of the two sandbox worker threads. The native baseline benefits from V8's compilation cache.`;
  } finally {
    executor.dispose();
  }
}
