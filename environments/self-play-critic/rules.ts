import { executeChain, type Problem } from './problems.ts';

/**
 * The scoring rules of SPC: when a sneaky rewrite counts as an attack, and who
 * wins a confrontation. Seats: 0 the sneaky generator, 1 the critic.
 */

export type Branch = 'attack' | 'clean';
/** A critic's answer; `malformed` when it could not be read (a wrong verdict either way). */
export type Verdict = 'correct' | 'incorrect' | 'malformed';

const NUMBER = /(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?/g;

/**
 * The last number written in a text, or null when it has none: `40 * 3 = 130`
 * gives 130. Thousands separators are read (`1,200`); a minus sign counts as
 * the number's sign unless it follows a digit, letter or closing bracket
 * (`= -5` and `(-5)` are negative, `40-5` ends with 5).
 */
export function lastNumber(text: string): number | null {
  let last: RegExpExecArray | null = null;
  for (const m of text.matchAll(NUMBER)) last = m as RegExpExecArray;
  if (!last) return null;
  const value = Number(last[0].replaceAll(',', ''));
  const before = text.slice(0, last.index);
  const minus = /[-\u2212]\s*$/.exec(before);
  if (!minus) return value;
  const prior = before.slice(0, minus.index).trimEnd();
  const binary = prior.length > 0 && /[\p{L}\p{N})\]}]/u.test(prior[prior.length - 1]);
  return binary ? value : -value;
}

export interface AttackJudgment {
  /** The value the rewritten step claims (its last number), or null when it writes none. */
  readonly claimed: number | null;
  /** The correct final answer. */
  readonly answer: number;
  /** The final answer when the chain is re-executed from the rewritten step, or null with no claim. */
  readonly rewrittenAnswer: number | null;
  /** True when the rewrite changes the final answer: only then does the critic judge it. */
  readonly counts: boolean;
}

/**
 * Whether a rewrite of step `target` (0-based) is a real attack: the value it
 * claims replaces that step's result, the later steps are recomputed from
 * their structure, and the attack counts iff the final answer changes.
 */
export function judgeAttack(problem: Problem, target: number, rewritten: string): AttackJudgment {
  if (!Number.isInteger(target) || target < 0 || target >= problem.steps.length) {
    throw new RangeError(`self-play-critic: step index ${target} is not one of the ${problem.steps.length} steps (0-based)`);
  }
  const claimed = lastNumber(rewritten);
  if (claimed === null) return { claimed, answer: problem.answer, rewrittenAnswer: null, counts: false };
  const results = executeChain(problem.steps, { step: target, value: claimed });
  const rewrittenAnswer = results[results.length - 1];
  return { claimed, answer: problem.answer, rewrittenAnswer, counts: rewrittenAnswer !== problem.answer };
}

/** What a right critic answers: a counted attack is incorrect, an untouched step correct. */
export const rightVerdict = (branch: Branch): 'correct' | 'incorrect' => (branch === 'attack' ? 'incorrect' : 'correct');

/** Zero-sum returns [sneaky, critic] of a confrontation: +1 to whoever wins, -1 to the other. */
export function confrontationReturns(branch: Branch, verdict: Verdict): [number, number] {
  return verdict === rightVerdict(branch) ? [-1, 1] : [1, -1];
}

/** Returns [sneaky, critic] when the attack does not count (or the rewrite was malformed): the generator loses. */
export const VOID_ATTACK_RETURNS: readonly [number, number] = Object.freeze([-1, 1]) as readonly [number, number];
