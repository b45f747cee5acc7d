import type { Rng } from '../../src/core/index.ts';

/**
 * The checkable domain the teacher writes in: arithmetic ("What is 37 + 48 * 2?")
 * and linear equations ("Solve for x: 3x + 7 = x + 15"), each with levels 1..L.
 * The checker reads a question's text on its own, so a pair is verified
 * independently of the answer the teacher claims.
 */

export const SKILLS = ['arithmetic', 'linear'] as const;
export type Skill = (typeof SKILLS)[number];

/** A question with its correct answer, its skill and its level (a generated one, or a held-out item). */
export interface Problem {
  readonly question: string;
  readonly answer: string;
  readonly skill: Skill;
  readonly level: number;
}

/** What the checker makes of a question: its skill, level and correct answer, or why it cannot be read. */
export type Reading =
  | { readonly readable: true; readonly skill: Skill; readonly level: number; readonly answer: number }
  | { readonly readable: false; readonly reason: string };

/** The most numbers (or terms) a question may hold, and the most digits per number. */
const MAX_TERMS = 12;
const MAX_DIGITS = 6;

const unreadable = (reason: string): Reading => ({ readable: false, reason });

// ---------------------------------------------------------------- arithmetic

type Token = { readonly kind: 'number'; readonly value: number } | { readonly kind: 'op'; readonly op: string };

function tokenize(text: string): Token[] | string {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t') {
      i++;
    } else if (c >= '0' && c <= '9') {
      let j = i;
      while (j < text.length && text[j] >= '0' && text[j] <= '9') j++;
      if (j - i > MAX_DIGITS) return `a number has more than ${MAX_DIGITS} digits`;
      tokens.push({ kind: 'number', value: Number(text.slice(i, j)) });
      i = j;
    } else if ('+-*×()'.includes(c)) {
      tokens.push({ kind: 'op', op: c === '×' ? '*' : c });
      i++;
    } else {
      return `"${c}" is not part of an arithmetic expression`;
    }
  }
  return tokens;
}

/** Evaluates + - * and parentheses over whole numbers, with the usual precedence; counts the operators. */
function evaluate(tokens: readonly Token[]): { value: number; operators: number; numbers: number } | string {
  let pos = 0;
  let operators = 0;
  let numbers = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isOp = (op: string) => {
    const t = peek();
    return t !== undefined && t.kind === 'op' && t.op === op;
  };
  const factor = (depth: number): number | string => {
    const t = peek();
    if (t === undefined) return 'the expression ends too early';
    if (t.kind === 'number') {
      pos++;
      numbers++;
      return t.value;
    }
    if (t.op === '(') {
      if (depth > MAX_TERMS) return 'the parentheses nest too deeply';
      pos++;
      const inner = sum(depth + 1);
      if (typeof inner === 'string') return inner;
      if (!isOp(')')) return 'a parenthesis is not closed';
      pos++;
      return inner;
    }
    return `"${t.op}" where a number should be`;
  };
  const product = (depth: number): number | string => {
    let value = factor(depth);
    while (typeof value === 'number' && isOp('*')) {
      pos++;
      operators++;
      const right = factor(depth);
      if (typeof right === 'string') return right;
      value *= right;
    }
    return value;
  };
  const sum = (depth: number): number | string => {
    let value = product(depth);
    while (typeof value === 'number' && (isOp('+') || isOp('-'))) {
      const minus = isOp('-');
      pos++;
      operators++;
      const right = product(depth);
      if (typeof right === 'string') return right;
      value = minus ? value - right : value + right;
    }
    return value;
  };
  const value = sum(0);
  if (typeof value === 'string') return value;
  if (pos < tokens.length) return 'the expression has extra symbols at the end';
  if (!Number.isSafeInteger(value)) return 'the value is too large';
  return { value, operators, numbers };
}

const ARITHMETIC = /^\s*(?:what\s+is|compute|calculate|evaluate)\s+(.+?)\s*[?.]?\s*$/i;

function readArithmetic(expression: string, levels: number): Reading {
  const tokens = tokenize(expression);
  if (typeof tokens === 'string') return unreadable(tokens);
  const result = evaluate(tokens);
  if (typeof result === 'string') return unreadable(result);
  if (result.numbers > MAX_TERMS) return unreadable(`more than ${MAX_TERMS} numbers`);
  if (result.operators === 0) return unreadable('there is no operation to carry out');
  return { readable: true, skill: 'arithmetic', level: Math.min(result.operators, levels), answer: result.value };
}

// ---------------------------------------------------------------- linear equations

const LINEAR = /^\s*solve\s+for\s+x\s*:\s*([^=]+)=([^=]+?)\s*[.?]?\s*$/i;
const TERM = /^(\d{1,6})?\s*\*?\s*(x)?$/i;

/** A side of an equation as (coefficient of x, constant, number of terms), or why it cannot be read. */
function readSide(text: string): { x: number; c: number; terms: number } | string {
  const compact = text.trim();
  if (!compact) return 'a side of the equation is empty';
  let x = 0;
  let c = 0;
  let terms = 0;
  // Split into signed terms: "3x + 7 - 2x" -> ["3x", "+7", "-2x"].
  const parts = compact.match(/[+-]?[^+-]+/g) ?? [];
  if (parts.join('').replace(/\s/g, '') !== compact.replace(/\s/g, '')) return 'a side has a dangling sign';
  for (const raw of parts) {
    let body = raw.trim();
    let sign = 1;
    if (body.startsWith('+') || body.startsWith('-')) {
      sign = body.startsWith('-') ? -1 : 1;
      body = body.slice(1).trim();
    }
    const m = TERM.exec(body);
    const starred = body.includes('*');
    if (!m || (m[1] === undefined && m[2] === undefined) || (starred && (m[1] === undefined || m[2] === undefined))) return `"${raw.trim()}" is not a term like 3x or 7`;
    const number = m[1] === undefined ? 1 : Number(m[1]);
    if (m[2] !== undefined) x += sign * number;
    else c += sign * number;
    terms++;
  }
  return { x, c, terms };
}

function readLinear(left: string, right: string, levels: number): Reading {
  const l = readSide(left);
  if (typeof l === 'string') return unreadable(l);
  const r = readSide(right);
  if (typeof r === 'string') return unreadable(r);
  const terms = l.terms + r.terms;
  if (terms > MAX_TERMS) return unreadable(`more than ${MAX_TERMS} terms`);
  const a = l.x - r.x;
  const b = r.c - l.c;
  if (a === 0) return unreadable(b === 0 ? 'every x solves it' : 'no x solves it');
  if (b % a !== 0) return unreadable('the solution is not a whole number');
  const answer = b / a === 0 ? 0 : b / a; // no -0
  return { readable: true, skill: 'linear', level: Math.min(Math.max(1, terms - 2), levels), answer };
}

// ---------------------------------------------------------------- the checker

/**
 * Reads a question of either skill: `What is <expression>?` (whole numbers,
 * + - * and parentheses; level = number of operators) or
 * `Solve for x: <side> = <side>` (terms like 3x, -x, 7; one whole-number
 * solution; level = number of terms minus 2, at least 1). Levels above
 * `levels` count as `levels`.
 */
export function readQuestion(question: string, levels: number): Reading {
  if (typeof question !== 'string' || question.length > 400) return unreadable('the question is not short text');
  const linear = LINEAR.exec(question);
  if (linear) return readLinear(linear[1], linear[2], levels);
  const arithmetic = ARITHMETIC.exec(question);
  if (arithmetic) return readArithmetic(arithmetic[1], levels);
  return unreadable('neither "What is <expression>?" nor "Solve for x: <equation>"');
}

/**
 * Reads a whole-number answer: "17", "-3", "x = 17", "\boxed{17}", "17." are
 * all 17. Anything else is null (and so never a correct answer).
 */
export function readAnswer(answer: string): number | null {
  if (typeof answer !== 'string') return null;
  let text = answer.trim();
  const boxed = /^\\boxed\{(.*)\}$/.exec(text);
  if (boxed) text = boxed[1].trim();
  text = text.replace(/^x\s*=\s*/i, '').replace(/\.$/, '').trim();
  if (!/^[+-]?\d{1,15}$/.test(text)) return null;
  const value = Number(text);
  return value === 0 ? 0 : value;
}

// ---------------------------------------------------------------- the generator

const between = (rng: Rng, lo: number, hi: number) => lo + rng.int(hi - lo + 1);
const signed = (rng: Rng, lo: number, hi: number) => between(rng, lo, hi) * (rng.next() < 0.5 ? -1 : 1);

function arithmetic(level: number, rng: Rng): Problem {
  // Level 1: two one-digit numbers added or subtracted; then two-digit numbers, and * by a one-digit number.
  const numbers = [level === 1 ? between(rng, 1, 9) : between(rng, 10, 99)];
  const ops: string[] = [];
  for (let i = 0; i < level; i++) {
    const op = rng.pick(level === 1 ? ['+', '-'] : ['+', '-', '*']);
    ops.push(op);
    numbers.push(level === 1 || op === '*' ? between(rng, 2, 9) : between(rng, 10, 99));
  }
  const expression = numbers.map((n, i) => (i === 0 ? `${n}` : `${ops[i - 1]} ${n}`)).join(' ');
  const question = `What is ${expression}?`;
  const value = (evaluate(tokenize(expression) as Token[]) as { value: number }).value;
  return { question, answer: String(value), skill: 'arithmetic', level };
}

const xTerm = (coefficient: number) => (Math.abs(coefficient) === 1 ? 'x' : `${Math.abs(coefficient)}x`);

function sideText(terms: readonly { x: boolean; value: number }[]): string {
  return terms
    .map((t, i) => {
      const body = t.x ? xTerm(t.value) : `${Math.abs(t.value)}`;
      if (i === 0) return t.value < 0 ? `-${body}` : body;
      return `${t.value < 0 ? '-' : '+'} ${body}`;
    })
    .join(' ');
}

function linear(level: number, rng: Rng): Problem {
  const total = level + 2;
  const leftSize = Math.ceil(total / 2);
  const rightSize = total - leftSize;
  for (;;) {
    const solution = level === 1 ? between(rng, 1, 10) : between(rng, -10, 10);
    const coefficient = () => (level === 1 ? between(rng, 1, 9) : signed(rng, 1, 9));
    const constant = () => (level === 1 ? between(rng, 1, 20) : signed(rng, 1, 20));
    // Left: x-term, constant, x-term...; right: ...x-term, constant, ending with the constant that makes `solution` the answer.
    const left = Array.from({ length: leftSize }, (_, i) => (i % 2 === 0 ? { x: true, value: coefficient() } : { x: false, value: constant() }));
    const right = Array.from({ length: rightSize }, (_, i) => ((rightSize - 1 - i) % 2 === 1 ? { x: true, value: coefficient() } : { x: false, value: i === rightSize - 1 ? 0 : constant() }));
    const sumOf = (terms: typeof left, x: boolean) => terms.filter((t) => t.x === x).reduce((s, t) => s + t.value, 0);
    if (sumOf(left, true) === sumOf(right, true)) continue;
    const last = sumOf(left, true) * solution + sumOf(left, false) - sumOf(right, true) * solution - sumOf(right, false);
    if (last === 0) continue;
    right[rightSize - 1] = { x: false, value: last };
    return { question: `Solve for x: ${sideText(left)} = ${sideText(right)}`, answer: String(solution), skill: 'linear', level };
  }
}

/** A question of `skill` at `level` (1 or more) with its correct answer, drawn from `rng`. */
export function generateProblem(skill: Skill, level: number, rng: Rng): Problem {
  if (!Number.isInteger(level) || level < 1) throw new RangeError(`a level is a whole number from 1, not ${level}`);
  return skill === 'arithmetic' ? arithmetic(level, rng) : linear(level, rng);
}
