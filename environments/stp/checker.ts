import { axiomScheme, FormulaError, Formulas, parseFormula, parseSequent, showSequent, type Sequent } from './logic.ts';

/**
 * The proof checker of the `stp` environment: Hilbert-style proofs in
 * propositional logic, one step per line,
 *
 *     1. p -> (q -> p)   [A1]
 *     2. p               [premise]
 *     3. q -> p          [MP 2, 1]
 *
 * A step is an instance of an axiom scheme (A1-A3), one of the sequent's
 * premises, or modus ponens from two earlier steps (`MP i, j`: one is A, the
 * other A -> B, and the step is B). The proof proves the sequent when every
 * step checks and the last one is its conclusion. Lines that are blank, or
 * that do not start with a number, are ignored (a model's prose around its
 * proof).
 *
 * Hostile proofs are refused by size before any parsing, and every other
 * check is linear in the proof's length, with a deadline besides.
 */
export interface CheckLimits {
  /** The longest proof text, in characters (default 1,000,000). */
  readonly maxChars?: number;
  /** The most steps (default 2,000). */
  readonly maxSteps?: number;
  /** The longest step line (default 2,000 characters). */
  readonly maxLineChars?: number;
  /** The deepest formula (default 64). */
  readonly maxDepth?: number;
  /** Wall time allowed, in milliseconds (default 100). */
  readonly timeBudgetMs?: number;
}

export type CheckResult =
  | { readonly ok: true; readonly steps: number }
  | { readonly ok: false; readonly reason: string; /** The failing step's line in the text, 1-based, when one failed. */ readonly line?: number };

const DEFAULTS = { maxChars: 1_000_000, maxSteps: 2_000, maxLineChars: 2_000, maxDepth: 64, timeBudgetMs: 100 };

interface Step {
  readonly number: number;
  readonly formula: string;
  readonly rule: string;
  readonly line: number;
}

/** A numbered step line: `N. formula [rule]`; null for a line that does not start with a number and a dot. */
function readStep(text: string, line: number): Step | null | string {
  let i = 0;
  while (i < text.length && (text[i] === ' ' || text[i] === '\t')) i++;
  const start = i;
  while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
  if (i === start || text[i] !== '.') return null;
  if (i - start > 6) return 'the step number is too long';
  const number = Number(text.slice(start, i));
  const open = text.lastIndexOf('[');
  const close = text.lastIndexOf(']');
  if (open < i || close < open) return 'expected the rule in brackets at the end, e.g. [A1], [premise] or [MP 1, 2]';
  if (text.slice(close + 1).trim() !== '') return 'text after the rule\'s closing "]"';
  return { number, formula: text.slice(i + 1, open).trim(), rule: text.slice(open + 1, close).trim(), line };
}

/** `MP i, j` (or `MP i j`): the two cited step numbers; null when the rule is not modus ponens. */
function readModusPonens(rule: string): [number, number] | null | string {
  if (!/^mp\b/i.test(rule)) return null;
  const parts = rule.slice(2).split(/[\s,]+/).filter((p) => p !== '');
  if (parts.length !== 2 || !parts.every((p) => /^\d{1,6}$/.test(p))) return `"${rule.slice(0, 40)}" must cite two step numbers, as in [MP 1, 2]`;
  return [Number(parts[0]), Number(parts[1])];
}

/** Checks `proof` of the sequent `goal` (its text, e.g. `p -> q, q -> r |- p -> r`). */
export function checkProof(goal: string, proof: string, limits: CheckLimits = {}): CheckResult {
  const { maxChars, maxSteps, maxLineChars, maxDepth, timeBudgetMs } = { ...DEFAULTS, ...limits };
  if (proof.length > maxChars) return { ok: false, reason: `the proof is ${proof.length.toLocaleString('en-US')} characters; at most ${maxChars.toLocaleString('en-US')}` };
  const deadline = performance.now() + timeBudgetMs;
  const table = new Formulas({ maxDepth, maxNodes: Math.max(4_096, 4 * proof.length + 4 * goal.length) });
  let sequent: Sequent;
  try {
    sequent = parseSequent(table, goal);
  } catch (error) {
    if (error instanceof FormulaError) return { ok: false, reason: `the statement cannot be read: ${error.message}` };
    throw error;
  }
  const premises = new Set(sequent.premises);
  const proved: number[] = [];
  const lines = proof.split('\n');
  for (let l = 0; l < lines.length; l++) {
    const line = l + 1;
    if ((l & 63) === 63 && performance.now() > deadline) return { ok: false, reason: `checking took longer than its ${timeBudgetMs} ms budget`, line };
    if (lines[l].length > maxLineChars) return { ok: false, reason: `line ${line} is ${lines[l].length.toLocaleString('en-US')} characters; at most ${maxLineChars.toLocaleString('en-US')}`, line };
    const step = readStep(lines[l], line);
    if (step === null) continue;
    const at = `step ${proved.length + 1} (line ${line})`;
    if (typeof step === 'string') return { ok: false, reason: `${at}: ${step}`, line };
    if (proved.length === maxSteps) return { ok: false, reason: `more than ${maxSteps} steps`, line };
    if (step.number !== proved.length + 1) return { ok: false, reason: `${at} is numbered ${step.number}; steps are numbered 1, 2, 3, ... in order`, line };
    let formula: number;
    try {
      formula = parseFormula(table, step.formula);
    } catch (error) {
      if (error instanceof FormulaError) return { ok: false, reason: `${at}: ${error.message}`, line };
      throw error;
    }
    const why = justify(table, step.rule, formula, proved, premises);
    if (why !== null) return { ok: false, reason: `${at}: ${why}`, line };
    proved.push(formula);
  }
  if (proved.length === 0) return { ok: false, reason: 'no steps: expected lines like "1. p -> (q -> p) [A1]"' };
  if (proved[proved.length - 1] !== sequent.conclusion) {
    return { ok: false, reason: `the last step is ${table.show(proved[proved.length - 1])}, not the conclusion ${table.show(sequent.conclusion)} of ${showSequent(table, sequent)}` };
  }
  return { ok: true, steps: proved.length };
}

/** Null when `formula` follows by `rule` from the steps so far; else why not. */
function justify(table: Formulas, rule: string, formula: number, proved: readonly number[], premises: ReadonlySet<number>): string | null {
  const scheme = /^a([123])$/i.exec(rule);
  if (scheme) {
    const found = axiomScheme(table, formula);
    if (found === Number(scheme[1])) return null;
    return `${table.show(formula)} is not an instance of axiom A${scheme[1]}${found ? ` (it is one of A${found})` : ''}`;
  }
  if (/^(premise|hyp|hypothesis)$/i.test(rule)) return premises.has(formula) ? null : `${table.show(formula)} is not one of the premises`;
  const cited = readModusPonens(rule);
  if (typeof cited === 'string') return cited;
  if (cited === null) return `unknown rule "${rule.slice(0, 40)}"; the rules are A1, A2, A3, premise and MP i, j`;
  const n = proved.length + 1;
  for (const i of cited) {
    if (i < 1 || i >= n) return `MP cites step ${i}, which does not come before step ${n}`;
  }
  const [a, b] = [proved[cited[0] - 1], proved[cited[1] - 1]];
  const implies = (x: number, y: number) => table.isImp(y) && table.left(y) === x && table.right(y) === formula;
  if (implies(a, b) || implies(b, a)) return null;
  return `MP ${cited[0]}, ${cited[1]} does not give ${table.show(formula)}: neither step is the other's formula followed by -> ${table.show(formula)}`;
}
