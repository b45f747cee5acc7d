import type { CriticInput, CriticOutput, HelpfulOutput, Rng, SneakyInput, SneakyOutput } from '../../src/core/index.ts';
import { applyOp, type Op } from './problems.ts';
import { lastNumber } from './rules.ts';

/**
 * Scripted stand-ins for SPC's two roles. They read only what the role reads
 * (the step texts), never the environment's structured solution.
 */

export const ERROR_TYPES = ['calculation slip', 'wrong operand', 'sign flip', 'off-by-one'] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

export interface ParsedStep {
  readonly left: number;
  readonly op: Op;
  readonly right: number;
  readonly result: number;
}

const OPS: Readonly<Record<string, Op>> = { '+': '+', '-': '-', '\u2212': '-', '*': '*', x: '*', '\u00d7': '*', '\u00b7': '*' };
const STEP = /\(?(-?\d+)\)?\s*([-+*x\u00d7\u00b7\u2212])\s*\(?(-?\d+)\)?\s*=\s*\(?(-?\d+)\)?\s*\.?\s*$/;

/** `a op b = r` read from a step's text (operands may be in parentheses), or null. */
export function parseStepText(text: string): ParsedStep | null {
  const m = STEP.exec(text);
  if (!m) return null;
  const [left, right, result] = [Number(m[1]), Number(m[3]), Number(m[4])];
  return { left, op: OPS[m[2]], right, result };
}

const operandText = (value: number) => (value < 0 ? `(${value})` : String(value));
const writeParsed = (s: ParsedStep) => `${operandText(s.left)} ${s.op} ${operandText(s.right)} = ${s.result}`;

/** A nonzero integer in ±[min, max]. */
const nudge = (rng: Rng, min: number, max: number) => (rng.next() < 0.5 ? -1 : 1) * (min + rng.int(max - min + 1));

/** Rewrites `step` with one error of the given type (sign flip needs + or -). */
export function plantError(step: ParsedStep, type: ErrorType, rng: Rng): ParsedStep {
  switch (type) {
    case 'calculation slip':
      return { ...step, result: step.result + nudge(rng, 2, 9) };
    case 'off-by-one':
      return { ...step, result: step.result + nudge(rng, 1, 1) };
    case 'sign flip': {
      const op: Op = step.op === '+' ? '-' : step.op === '-' ? '+' : step.op;
      return { ...step, op, result: op === step.op ? -step.result : applyOp(op, step.left, step.right) };
    }
    case 'wrong operand': {
      let right = step.right + nudge(rng, 1, 3);
      if (step.op === '*' && right < 1) right = step.right + 1 + rng.int(3);
      return { ...step, right, result: applyOp(step.op, step.left, right) };
    }
  }
}

/** The scripted sneaky generator: one of the four error types in the chosen step, named. */
export function scriptedSneaky(input: SneakyInput, rng: Rng): SneakyOutput {
  const text = input.steps[input.step - 1] ?? '';
  const parsed = parseStepText(text);
  if (!parsed) {
    // Not `a op b = r`: nudge the last number, the value the step claims.
    const value = lastNumber(text);
    if (value === null) return { step: text || '0', errorType: 'calculation slip' };
    return { step: `${text} (so ${value + 1})`, errorType: 'off-by-one' };
  }
  const types = ERROR_TYPES.filter((t) => t !== 'sign flip' || parsed.op !== '*');
  const errorType = rng.pick(types);
  return { step: writeParsed(plantError(parsed, errorType, rng)), errorType };
}

/**
 * The scripted helpful prover (prover-verifier mode): writes the step as the
 * correct solution has it, except with probability `errorRate` an honest
 * mistake (one of the sneaky generator's error types).
 */
export function scriptedHelpful(errorRate: number): (input: SneakyInput, rng: Rng) => HelpfulOutput {
  return (input, rng) => {
    const text = input.steps[input.step - 1] ?? '';
    if (rng.next() >= errorRate) return { step: text || '0' };
    return { step: scriptedSneaky(input, rng).step };
  };
}

/**
 * A scripted critic that checks the arithmetic of the judged step: with
 * probability `skill` it recomputes `a op b` and compares it with `r`,
 * otherwise (or when the step is not `a op b = r`) it guesses. It does not
 * check where the operands came from, so a wrong operand with right
 * arithmetic gets past its check.
 */
export function scriptedCritic(skill: number): (input: CriticInput, rng: Rng) => CriticOutput {
  return (input, rng) => {
    const text = input.steps[(input.step ?? input.steps.length) - 1] ?? '';
    const parsed = parseStepText(text);
    if (rng.next() < skill && parsed) {
      return { verdict: applyOp(parsed.op, parsed.left, parsed.right) === parsed.result ? 'correct' : 'incorrect' };
    }
    return { verdict: rng.next() < 0.5 ? 'correct' : 'incorrect' };
  };
}
