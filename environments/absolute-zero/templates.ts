import type { Rng } from '../../src/core/index.ts';
import type { JsonValue } from './executor.ts';

/**
 * The scripted proposer's small grammar of programs: each template renders
 * JavaScript source from integer parameters and has the same function natively,
 * so the scripted solver can search it for an induction answer without running
 * anything. A test checks that source and native agree in the executor.
 */
export interface ProgramTemplate {
  readonly name: string;
  /** Parameter ranges, inclusive. */
  readonly params: readonly (readonly [number, number])[];
  source(p: readonly number[]): string;
  native(p: readonly number[]): (...args: any[]) => JsonValue;
  input(rng: Rng): JsonValue[];
}

const WORDS = ['apple', 'river', 'stone', 'cloud', 'tiger', 'lemon', 'piano', 'zebra'];
const between = (rng: Rng, [lo, hi]: readonly [number, number]) => lo + rng.int(hi - lo + 1);

export const TEMPLATES: readonly ProgramTemplate[] = [
  {
    name: 'linear',
    params: [[1, 9], [0, 9]],
    source: ([a, b]) => `function f(x) {\n  return x * ${a} + ${b};\n}`,
    native: ([a, b]) => (x: number) => x * a + b,
    input: (rng) => [rng.int(21)],
  },
  {
    name: 'digit-sum',
    params: [[2, 10]],
    source: ([a]) => `function f(n) {\n  let s = 0;\n  while (n > 0) {\n    s += n % ${a};\n    n = Math.floor(n / ${a});\n  }\n  return s;\n}`,
    native: ([a]) => (n: number) => {
      let s = 0;
      while (n > 0) {
        s += n % a;
        n = Math.floor(n / a);
      }
      return s;
    },
    input: (rng) => [rng.int(1000)],
  },
  {
    name: 'reverse-pad',
    params: [[0, 3], [0, 2]],
    source: ([a, c]) => `function f(s) {\n  return s.split('').reverse().join('') + '${'xyz'[c]}'.repeat(${a});\n}`,
    native: ([a, c]) => (s: string) => s.split('').reverse().join('') + 'xyz'[c].repeat(a),
    input: (rng) => [rng.pick(WORDS)],
  },
  {
    name: 'count-multiples',
    params: [[2, 7]],
    source: ([a]) => `function f(xs) {\n  return xs.filter((x) => x % ${a} === 0).length;\n}`,
    native: ([a]) => (xs: number[]) => xs.filter((x) => x % a === 0).length,
    input: (rng) => [Array.from({ length: 5 }, () => rng.int(30))],
  },
  {
    name: 'sum-squares',
    params: [[2, 5], [0, 1]],
    source: ([a, b]) => `function f(n) {\n  let s = 0;\n  for (let i = 0; i < n; i++) {\n    if (i % ${a} === ${b}) s += i * i;\n  }\n  return s;\n}`,
    native: ([a, b]) => (n: number) => {
      let s = 0;
      for (let i = 0; i < n; i++) if (i % a === b) s += i * i;
      return s;
    },
    input: (rng) => [rng.int(31)],
  },
  {
    name: 'record',
    params: [[1, 20]],
    source: ([a]) => `function f(name, age) {\n  return { name: name.toUpperCase(), next: age + ${a} };\n}`,
    native: ([a]) => (name: string, age: number) => ({ name: name.toUpperCase(), next: age + a }),
    input: (rng) => [rng.pick(WORDS), rng.int(90)],
  },
];

export const drawParams = (template: ProgramTemplate, rng: Rng): number[] => template.params.map((range) => between(rng, range));

/** Every parameter vector of a template, in order. */
export function* allParams(template: ProgramTemplate): Generator<number[]> {
  const walk = function* (i: number, prefix: number[]): Generator<number[]> {
    if (i === template.params.length) {
      yield prefix;
      return;
    }
    const [lo, hi] = template.params[i];
    for (let v = lo; v <= hi; v++) yield* walk(i + 1, [...prefix, v]);
  };
  yield* walk(0, []);
}
