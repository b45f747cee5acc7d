/**
 * Propositional logic over implication and negation, the language of the
 * `stp` environment's Hilbert system. Formulas are hash-consed in a table:
 * equal formulas have the same id, so comparing two is one integer
 * comparison, and matching an axiom scheme is a few.
 *
 * Syntax: variables are lower-case names (`p`, `q1`); `~A` (or `¬A`, `!A`) is
 * negation; `A -> B` (or `A → B`) is implication, right-associative, binding
 * looser than negation; parentheses group. Every routine here is iterative or
 * bounded by the table's depth limit, so hostile text cannot exhaust the stack.
 */

const VAR = 0;
const NOT = 1;
const IMP = 2;

/** Why a formula could not be read or built (a size or depth limit, or bad syntax). */
export class FormulaError extends Error {}

export interface FormulaLimits {
  /** The deepest a formula may nest (default 64). */
  readonly maxDepth?: number;
  /** The most formulas one table may hold (default 1,000,000). */
  readonly maxNodes?: number;
}

/** A table of formulas: ids for variables, negations and implications, each made once. */
export class Formulas {
  private readonly kinds: number[] = [];
  private readonly lefts: number[] = [];
  private readonly rights: number[] = [];
  private readonly depths: number[] = [];
  private readonly index = new Map<number, number>();
  private readonly names: string[] = [];
  private readonly nameIds = new Map<string, number>();
  readonly maxDepth: number;
  readonly maxNodes: number;

  constructor(limits: FormulaLimits = {}) {
    this.maxDepth = limits.maxDepth ?? 64;
    // Node ids and name ids each fit 21 bits, so that a node's key is one safe integer.
    this.maxNodes = Math.min(limits.maxNodes ?? 1_000_000, 2 ** 21 - 1);
  }

  get size(): number {
    return this.kinds.length;
  }

  variable(name: string): number {
    let id = this.nameIds.get(name);
    if (id === undefined) {
      if (this.names.length >= this.maxNodes) throw new FormulaError(`more than ${this.maxNodes} variable names`);
      id = this.names.length;
      this.names.push(name);
      this.nameIds.set(name, id);
    }
    return this.node(VAR, id, 0, 0);
  }

  not(a: number): number {
    return this.node(NOT, a, 0, this.depths[a] + 1);
  }

  imp(a: number, b: number): number {
    return this.node(IMP, a, b, Math.max(this.depths[a], this.depths[b]) + 1);
  }

  isNot(f: number): boolean {
    return this.kinds[f] === NOT;
  }

  isImp(f: number): boolean {
    return this.kinds[f] === IMP;
  }

  isVariable(f: number): boolean {
    return this.kinds[f] === VAR;
  }

  /** The negated formula of a negation, the antecedent of an implication. */
  left(f: number): number {
    return this.lefts[f];
  }

  /** The consequent of an implication. */
  right(f: number): number {
    return this.rights[f];
  }

  depth(f: number): number {
    return this.depths[f];
  }

  /** The variable names of `f`, sorted. */
  variables(f: number): string[] {
    const seen = new Set<string>();
    this.walk(f, (g) => {
      if (this.kinds[g] === VAR) seen.add(this.names[this.lefts[g]]);
    });
    return [...seen].sort();
  }

  /** Every distinct subformula of `f`, `f` included. */
  subformulas(f: number): number[] {
    const seen = new Set<number>();
    this.walk(f, (g) => seen.add(g));
    return [...seen];
  }

  /** The formula as text, with the fewest parentheses that read back to it. */
  show(f: number): string {
    const kind = this.kinds[f];
    if (kind === VAR) return this.names[this.lefts[f]];
    if (kind === NOT) {
      const a = this.lefts[f];
      return `~${this.kinds[a] === IMP ? `(${this.show(a)})` : this.show(a)}`;
    }
    const a = this.lefts[f];
    const left = this.kinds[a] === IMP ? `(${this.show(a)})` : this.show(a);
    return `${left} -> ${this.show(this.rights[f])}`;
  }

  /** Copies `f` of another table into this one. */
  copy(from: Formulas, f: number): number {
    const kind = from.kinds[f];
    if (kind === VAR) return this.variable(from.names[from.lefts[f]]);
    if (kind === NOT) return this.not(this.copy(from, from.lefts[f]));
    return this.imp(this.copy(from, from.lefts[f]), this.copy(from, from.rights[f]));
  }

  /** The truth value of `f` under `value` (by variable name). */
  evaluate(f: number, value: (name: string) => boolean): boolean {
    const kind = this.kinds[f];
    if (kind === VAR) return value(this.names[this.lefts[f]]);
    if (kind === NOT) return !this.evaluate(this.lefts[f], value);
    return !this.evaluate(this.lefts[f], value) || this.evaluate(this.rights[f], value);
  }

  private walk(f: number, visit: (g: number) => void): void {
    const stack = [f];
    while (stack.length) {
      const g = stack.pop()!;
      visit(g);
      if (this.kinds[g] === NOT) stack.push(this.lefts[g]);
      else if (this.kinds[g] === IMP) stack.push(this.lefts[g], this.rights[g]);
    }
  }

  private node(kind: number, left: number, right: number, depth: number): number {
    const key = (kind * 2 ** 21 + left) * 2 ** 21 + right;
    const known = this.index.get(key);
    if (known !== undefined) return known;
    if (depth > this.maxDepth) throw new FormulaError(`the formula nests deeper than ${this.maxDepth}`);
    if (this.kinds.length >= this.maxNodes) throw new FormulaError(`more than ${this.maxNodes} distinct subformulas`);
    const id = this.kinds.length;
    this.kinds.push(kind);
    this.lefts.push(left);
    this.rights.push(right);
    this.depths.push(depth);
    this.index.set(key, id);
    return id;
  }
}

const isLetter = (c: number) => c >= 97 && c <= 122;
const isNameChar = (c: number) => isLetter(c) || (c >= 48 && c <= 57) || c === 95;
const isSpace = (c: number) => c === 32 || c === 9;

/**
 * Reads a formula into `table`; throws FormulaError saying where and why.
 * Iterative (operator and operand stacks), so its cost is linear in the text.
 */
export function parseFormula(table: Formulas, text: string): number {
  const operands: number[] = [];
  // '(' opens a group, '~' negates what follows, '>' is a pending implication.
  const operators: string[] = [];
  let expectOperand = true;
  const negations = () => {
    while (operators.length && operators[operators.length - 1] === '~') {
      operators.pop();
      operands.push(table.not(operands.pop()!));
    }
  };
  const implications = () => {
    while (operators.length && operators[operators.length - 1] === '>') {
      operators.pop();
      const b = operands.pop()!;
      operands.push(table.imp(operands.pop()!, b));
    }
  };
  const fail = (at: number, why: string): never => {
    throw new FormulaError(`${why} at character ${at + 1} of "${text.length > 60 ? `${text.slice(0, 57)}...` : text}"`);
  };
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (expectOperand) {
      if (isLetter(c)) {
        let j = i + 1;
        while (j < text.length && isNameChar(text.charCodeAt(j))) j++;
        operands.push(table.variable(text.slice(i, j)));
        i = j;
        negations();
        expectOperand = false;
      } else if (c === 126 || c === 172 || c === 33) {
        operators.push('~');
        i++;
      } else if (c === 40) {
        operators.push('(');
        i++;
      } else {
        fail(i, `expected a variable, "~" or "(" but found "${text[i]}"`);
      }
      continue;
    }
    if (c === 45 && text.charCodeAt(i + 1) === 62) {
      operators.push('>');
      i += 2;
      expectOperand = true;
    } else if (c === 8594) {
      operators.push('>');
      i++;
      expectOperand = true;
    } else if (c === 41) {
      implications();
      if (operators.pop() !== '(') fail(i, 'a ")" closes nothing');
      i++;
      negations();
    } else {
      fail(i, `expected "->" or ")" but found "${text[i]}"`);
    }
  }
  if (expectOperand) fail(text.length, operands.length || operators.length ? 'the formula ends too early' : 'the formula is empty');
  implications();
  if (operators.length) fail(text.length, 'a "(" is never closed');
  return operands[0];
}

/** A sequent: premises and a conclusion, `A, B |- C` (or `⊢`; no turnstile: no premises). */
export interface Sequent {
  readonly premises: readonly number[];
  readonly conclusion: number;
}

/** Reads `A, B |- C` into `table`; throws FormulaError. */
export function parseSequent(table: Formulas, text: string): Sequent {
  const turnstile = text.includes('|-') ? '|-' : text.includes('⊢') ? '⊢' : null;
  if (turnstile === null) return { premises: [], conclusion: parseFormula(table, text.trim()) };
  const at = text.indexOf(turnstile);
  if (text.indexOf(turnstile, at + 1) >= 0) throw new FormulaError(`more than one "${turnstile}"`);
  const before = text.slice(0, at).trim();
  const premises = before === '' ? [] : before.split(',').map((p) => parseFormula(table, p.trim()));
  return { premises, conclusion: parseFormula(table, text.slice(at + turnstile.length).trim()) };
}

/** The sequent as text, in one spelling per sequent: its premises are a set, printed once each, sorted. */
export function showSequent(table: Formulas, s: Sequent): string {
  const premises = [...new Set(s.premises.map((p) => table.show(p)))].sort();
  return `${premises.join(', ')}${premises.length ? ' ' : ''}|- ${table.show(s.conclusion)}`;
}

/** Which of the three axiom schemes `f` is an instance of (1, 2 or 3), or 0. */
export function axiomScheme(t: Formulas, f: number): 0 | 1 | 2 | 3 {
  if (!t.isImp(f)) return 0;
  const a = t.left(f);
  const b = t.right(f);
  // A1: φ -> (ψ -> φ)
  if (t.isImp(b) && t.right(b) === a) return 1;
  // A2: (φ -> (ψ -> χ)) -> ((φ -> ψ) -> (φ -> χ))
  if (t.isImp(a) && t.isImp(t.right(a)) && t.isImp(b) && t.isImp(t.left(b)) && t.isImp(t.right(b))) {
    const phi = t.left(a);
    const psi = t.left(t.right(a));
    const chi = t.right(t.right(a));
    const phiPsi = t.left(b);
    const phiChi = t.right(b);
    if (t.left(phiPsi) === phi && t.right(phiPsi) === psi && t.left(phiChi) === phi && t.right(phiChi) === chi) return 2;
  }
  // A3: (~φ -> ~ψ) -> (ψ -> φ)
  if (t.isImp(a) && t.isNot(t.left(a)) && t.isNot(t.right(a)) && t.isImp(b) && t.left(b) === t.left(t.right(a)) && t.right(b) === t.left(t.left(a))) return 3;
  return 0;
}

/** The axiom schemes, as the prover role is shown them. */
export const AXIOMS = ['A1: A -> (B -> A)', 'A2: (A -> (B -> C)) -> ((A -> B) -> (A -> C))', 'A3: (~A -> ~B) -> (B -> A)'] as const;

/** Whether `s` is valid: its conclusion is true under every assignment that makes its premises true (at most `maxVariables` variables). */
export function isValidSequent(t: Formulas, s: Sequent, maxVariables = 16): boolean {
  const names = [...new Set([...s.premises, s.conclusion].flatMap((f) => t.variables(f)))];
  if (names.length > maxVariables) throw new FormulaError(`${names.length} variables is more than ${maxVariables} for a truth table`);
  const position = new Map(names.map((n, i) => [n, i]));
  for (let row = 0; row < 2 ** names.length; row++) {
    const value = (name: string) => ((row >> position.get(name)!) & 1) === 1;
    if (s.premises.every((p) => t.evaluate(p, value)) && !t.evaluate(s.conclusion, value)) return false;
  }
  return true;
}
