import { ConfigError, type Rng } from '../../src/core/index.ts';

/**
 * Multi-step arithmetic problems with a structured solution: each step is one
 * operation on constants and earlier steps' results, so that a changed step can
 * be re-executed through the rest of the chain.
 */

export type Op = '+' | '-' | '*';

/** A constant, or the result of an earlier step (`step` is 0-based). */
export type Operand = number | { readonly step: number };

export interface ChainStep {
  readonly op: Op;
  readonly left: Operand;
  readonly right: Operand;
}

export interface Problem {
  /** What the critic and the sneaky generator read, e.g. `Compute ((23 + 17) * 3) - 7 step by step, ...`. */
  readonly text: string;
  readonly steps: readonly ChainStep[];
  /** Each step's correct result. */
  readonly results: readonly number[];
  /** The correct solution, one text per step, e.g. `23 + 17 = 40`. */
  readonly solution: readonly string[];
  /** The last step's result. */
  readonly answer: number;
}

export interface ProblemOptions {
  /** Operations in the chain. */
  readonly steps: number;
  /** Size of the numbers, 1 (one digit) to 4. */
  readonly level: number;
}

export const MIN_STEPS = 2;
export const MAX_STEPS = 8;
export const MIN_LEVEL = 1;
export const MAX_LEVEL = 4;

/** The range of constants added or subtracted at each level, and the largest multiplier. */
const LEVELS: Readonly<Record<number, { readonly min: number; readonly max: number; readonly factor: number }>> = {
  1: { min: 1, max: 9, factor: 5 },
  2: { min: 2, max: 50, factor: 7 },
  3: { min: 10, max: 500, factor: 9 },
  4: { min: 100, max: 5000, factor: 11 },
};

export function applyOp(op: Op, a: number, b: number): number {
  return op === '+' ? a + b : op === '-' ? a - b : a * b;
}

/** One step's value, or a replacement for it. */
export interface Override {
  /** 0-based step index. */
  readonly step: number;
  readonly value: number;
}

/**
 * Every step's result, computed from the structure; with `override`, that
 * step's result is replaced by the claimed value and the later steps are
 * recomputed from it (the steps before it are unchanged).
 */
export function executeChain(steps: readonly ChainStep[], override?: Override): number[] {
  const results: number[] = [];
  const value = (operand: Operand) => (typeof operand === 'number' ? operand : results[operand.step]);
  steps.forEach((step, i) => {
    results.push(override && override.step === i ? override.value : applyOp(step.op, value(step.left), value(step.right)));
  });
  return results;
}

/** A number as it is written in a step: negative operands in parentheses. */
const operandText = (value: number) => (value < 0 ? `(${value})` : String(value));

/** `23 + 17 = 40`: step `index` of a chain whose results are `results`. */
export function writeStep(steps: readonly ChainStep[], results: readonly number[], index: number): string {
  const step = steps[index];
  const value = (operand: Operand) => (typeof operand === 'number' ? operand : results[operand.step]);
  return `${operandText(value(step.left))} ${step.op} ${operandText(value(step.right))} = ${results[index]}`;
}

/** The chain as one expression: earlier steps appear in parentheses where they are used. */
function expression(steps: readonly ChainStep[], index: number): string {
  const step = steps[index];
  const side = (operand: Operand) => (typeof operand === 'number' ? operandText(operand) : `(${expression(steps, operand.step)})`);
  return `${side(step.left)} ${step.op} ${side(step.right)}`;
}

/** Checks a chain's shape: integer constants, references to earlier steps only. */
function checkSteps(steps: readonly ChainStep[]): void {
  if (steps.length < 1) throw new ConfigError('self-play-critic: a problem needs at least one step');
  steps.forEach((step, i) => {
    if (step.op !== '+' && step.op !== '-' && step.op !== '*') throw new ConfigError(`self-play-critic: step ${i + 1} has the operation ${JSON.stringify(step.op)}; expected +, - or *`);
    for (const operand of [step.left, step.right]) {
      if (typeof operand === 'number') {
        if (!Number.isSafeInteger(operand)) throw new ConfigError(`self-play-critic: step ${i + 1} has the constant ${operand}; constants are integers`);
      } else if (!Number.isInteger(operand.step) || operand.step < 0 || operand.step >= i) {
        throw new ConfigError(`self-play-critic: step ${i + 1} refers to step index ${operand.step}; a step can only use earlier steps (0-based)`);
      }
    }
  });
}

/** A problem from a given chain (tests pin cases with it). */
export function problemFromSteps(steps: readonly ChainStep[]): Problem {
  checkSteps(steps);
  const results = executeChain(steps);
  if (!results.every(Number.isSafeInteger)) throw new ConfigError('self-play-critic: the chain leaves the safe integer range');
  const copy = steps.map((s) => ({ op: s.op, left: typeof s.left === 'number' ? s.left : { step: s.left.step }, right: typeof s.right === 'number' ? s.right : { step: s.right.step } }));
  return {
    text: `Compute ${expression(copy, copy.length - 1)} step by step, one operation per step.`,
    steps: copy,
    results,
    solution: copy.map((_, i) => writeStep(copy, results, i)),
    answer: results[results.length - 1],
  };
}

const between = (rng: Rng, min: number, max: number) => min + rng.int(max - min + 1);

/**
 * A random chain of `steps` operations: it starts with `a + b` (or `a * b`),
 * and each later step combines the previous result with a constant or, now
 * and then, with an earlier result. Every result is a positive integer.
 */
export function makeProblem(rng: Rng, options: ProblemOptions): Problem {
  const range = LEVELS[options.level];
  if (!range) throw new ConfigError(`self-play-critic: level must be ${MIN_LEVEL} to ${MAX_LEVEL}, not ${options.level}`);
  if (!Number.isInteger(options.steps) || options.steps < MIN_STEPS || options.steps > MAX_STEPS) {
    throw new ConfigError(`self-play-critic: steps must be ${MIN_STEPS} to ${MAX_STEPS}, not ${options.steps}`);
  }
  const constant = () => between(rng, range.min, range.max);
  const factor = () => between(rng, 2, range.factor);
  const steps: ChainStep[] = [];
  const results: number[] = [];
  const push = (step: ChainStep) => {
    steps.push(step);
    results.push(executeChain(steps)[steps.length - 1]);
  };
  push(rng.next() < 0.75 ? { op: '+', left: constant(), right: constant() } : { op: '*', left: constant(), right: factor() });
  while (steps.length < options.steps) {
    const i = steps.length;
    const prev = results[i - 1];
    const previous = { step: i - 1 };
    const u = rng.next();
    // An earlier result (not the previous one) as the other operand, for + and -.
    const earlier = i >= 2 && rng.next() < 0.2 ? rng.int(i - 1) : -1;
    if (u < 0.3) {
      push({ op: '*', left: previous, right: factor() });
    } else if (u < 0.6 && (earlier >= 0 ? results[earlier] < prev : prev > range.min)) {
      push({ op: '-', left: previous, right: earlier >= 0 ? { step: earlier } : between(rng, range.min, Math.min(range.max, prev - 1)) });
    } else {
      push({ op: '+', left: previous, right: earlier >= 0 ? { step: earlier } : constant() });
    }
  }
  return problemFromSteps(steps);
}
