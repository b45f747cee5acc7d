import { z } from 'zod';
import { append, type ChanceOutcome, type CriticInput, type CriticOutput, defineGame, type Game, type GameParams, IllegalActionError, isMalformed, type Malformed, malformedTurn, numberedSteps, ParseError, parseRoleReply, type SneakyInput, type SneakyOutput, type Turn } from '../../src/core/index.ts';
import type { Problem } from './problems.ts';
import { confrontationReturns, judgeAttack, VOID_ATTACK_RETURNS, type AttackJudgment, type Branch, type Verdict } from './rules.ts';

export const SPC_ID = 'self-play-critic';
export const SPC_ROLES = ['sneaky-generator', 'critic'] as const;
export const SNEAKY = 0;
export const CRITIC = 1;

export type SpcAction = Branch | SneakyOutput | CriticOutput | Malformed;

export interface SpcState {
  readonly history: readonly SpcAction[];
  /** Drawn by the chance node at the start; null before it. */
  readonly branch: Branch | null;
  /** The sneaky generator's reply (attack branch only). */
  readonly rewrite: SneakyOutput | Malformed | null;
  /** Whether the rewrite changes the final answer; null when there is no readable rewrite. */
  readonly judgment: AttackJudgment | null;
  readonly verdict: Verdict | null;
  readonly over: boolean;
}

const BRANCHES: readonly Branch[] = Object.freeze(['attack', 'clean']);
const BRANCH_OUTCOMES: readonly ChanceOutcome<Branch>[] = Object.freeze([
  { action: 'attack', probability: 1 / 2 },
  { action: 'clean', probability: 1 / 2 },
]);
const NONE: readonly never[] = Object.freeze([]);

const sneakySchema = z.object({ step: z.string().min(1), errorType: z.string().min(1).max(200) }).strict();
const criticSchema = z.object({ verdict: z.enum(['correct', 'incorrect']) }).strict();

const issueText = (error: z.ZodError) => error.issues.map((i) => `${i.path.join('.') || 'reply'}: ${i.message}`).join('; ');

/** A sneaky generator's output `{step, errorType}`; throws ParseError on another shape. */
export function readSneaky(value: unknown): SneakyOutput {
  const parsed = sneakySchema.safeParse(value);
  if (!parsed.success) throw new ParseError(`expected the sneaky generator's {"step": "the rewritten step", "errorType": "its kind"}: ${issueText(parsed.error)}`);
  return parsed.data;
}

/** A critic's output `{verdict}`; throws ParseError on another shape. */
export function readCritic(value: unknown): CriticOutput {
  const parsed = criticSchema.safeParse(value);
  if (!parsed.success) throw new ParseError(`expected the critic's {"verdict": "correct"} or {"verdict": "incorrect"}: ${issueText(parsed.error)}`);
  return parsed.data;
}

export interface SpcGameOptions {
  /** Recorded in the params (the number size the problem was drawn at). */
  readonly level?: number;
}

/** The final state of a history, for `record` and tests. */
export function replay(game: Game<SpcState, SpcAction>, history: readonly unknown[]): SpcState {
  return history.reduce<SpcState>((state, action) => game.apply(state, action as SpcAction), game.initial());
}

/**
 * One SPC match on a given problem: a chance node draws the branch (attack or
 * clean, 1/2 each); in the attack branch the sneaky generator (seat 0) rewrites
 * step `target` (0-based) and, if the rewrite changes the final answer, the
 * critic (seat 1) judges the rewritten step after the correct steps before it;
 * in the clean branch the critic judges the correct step `target`.
 */
export function createSpcGame(problem: Problem, target: number, options: SpcGameOptions = {}): Game<SpcState, SpcAction> {
  if (!Number.isInteger(target) || target < 0 || target >= problem.steps.length) {
    throw new RangeError(`self-play-critic: step index ${target} is not one of the ${problem.steps.length} steps (0-based)`);
  }
  const before = problem.solution.slice(0, target);
  const stepNumber = target + 1;
  const params: GameParams = { steps: problem.steps.length, ...(options.level === undefined ? {} : { level: options.level }), step: stepNumber };

  const turn = (s: SpcState): Turn => {
    if (s.over) return 'terminal';
    if (s.branch === null) return 'chance';
    if (s.branch === 'attack' && s.rewrite === null) return SNEAKY;
    return CRITIC;
  };

  const sneakyInput: SneakyInput = { problem: problem.text, steps: problem.solution, step: stepNumber };

  /** The step the critic judges, once it is there: the correct one, or a rewrite that counts. */
  const judgedStep = (s: SpcState): string | null => {
    if (s.branch === 'clean') return problem.solution[target];
    if (s.branch === 'attack' && s.judgment?.counts && s.rewrite && !isMalformed(s.rewrite)) return s.rewrite.step;
    return null;
  };

  /** The critic's input: the steps before the judged one, and the judged one once it is there. Never the branch or the error. */
  const criticInput = (s: SpcState): CriticInput => {
    const last = judgedStep(s);
    return last === null ? { problem: problem.text, steps: before } : { problem: problem.text, steps: [...before, last], step: stepNumber };
  };

  const observe = (s: SpcState, seat: number): SneakyInput | CriticInput => (seat === SNEAKY ? sneakyInput : criticInput(s));

  const ownActions = (s: SpcState, seat: number) => {
    const start = 1; // after the chance node
    const sneakyMoves = s.branch === 'attack' ? 1 : 0;
    const moves = s.history.slice(start);
    return seat === SNEAKY ? moves.slice(0, sneakyMoves) : moves.slice(sneakyMoves);
  };

  const apply = (s: SpcState, action: SpcAction): SpcState => {
    const who = turn(s);
    if (who === 'terminal') throw new IllegalActionError(`${SPC_ID}: the match is over; ${JSON.stringify(action)} cannot be played`);
    const history = append(s.history, action);
    if (who === 'chance') {
      if (action !== 'attack' && action !== 'clean') throw new IllegalActionError(`${SPC_ID}: the chance node draws "attack" or "clean", not ${JSON.stringify(action)}`);
      return { ...s, history, branch: action };
    }
    if (who === SNEAKY) {
      if (isMalformed(action)) return { ...s, history, rewrite: { malformed: action.malformed }, judgment: null, over: true };
      const parsed = sneakySchema.safeParse(action);
      if (!parsed.success) throw new IllegalActionError(`${SPC_ID}: the sneaky generator plays {"step", "errorType"}, not ${JSON.stringify(action)}`);
      const judgment = judgeAttack(problem, target, parsed.data.step);
      return { ...s, history, rewrite: parsed.data, judgment, over: !judgment.counts };
    }
    if (isMalformed(action)) return { ...s, history, verdict: 'malformed', over: true };
    const parsed = criticSchema.safeParse(action);
    if (!parsed.success) throw new IllegalActionError(`${SPC_ID}: the critic plays {"verdict": "correct" | "incorrect"}, not ${JSON.stringify(action)}`);
    return { ...s, history, verdict: parsed.data.verdict, over: true };
  };

  const returns = (s: SpcState): readonly number[] => {
    if (!s.over || s.branch === null) return [0, 0];
    if (s.branch === 'attack' && !s.judgment?.counts) return VOID_ATTACK_RETURNS;
    return confrontationReturns(s.branch, s.verdict ?? 'malformed');
  };

  const observationText = (s: SpcState, seat: number): string => {
    if (seat === SNEAKY) {
      return (
        `Problem:\n${problem.text}\n\nA correct solution:\n${numberedSteps(problem.solution)}\n\n` +
        `Rewrite step ${stepNumber} with a subtle error that changes the final answer. ` +
        'Reply with {"step": "the rewritten step", "errorType": "the kind of error"}.'
      );
    }
    const input = criticInput(s);
    const shown = input.steps.length ? numberedSteps(input.steps) : '(no steps yet)';
    const ask = input.step === undefined ? `Step ${stepNumber} is not written yet.` : `Is step ${stepNumber} correct? Reply with {"verdict": "correct"} or {"verdict": "incorrect"}.`;
    return `Problem:\n${problem.text}\n\nSolution so far:\n${shown}\n\n${ask}`;
  };

  return defineGame<SpcState, SpcAction>({
    id: SPC_ID,
    params,
    description: `SPC on a ${problem.steps.length}-step arithmetic chain: a sneaky generator plants an error in step ${stepNumber}, a critic judges the step (or the untouched step).`,
    seats: 2,
    maxLength: 3,
    utility: 'zero-sum',
    returnRange: [-1, 1],
    perfectInformation: false,
    initial: () => ({ history: [], branch: null, rewrite: null, judgment: null, verdict: null, over: false }),
    turn,
    openTurn: (s) => typeof turn(s) === 'number',
    failedTurnAction: malformedTurn,
    legalActions: (s) => (turn(s) === 'chance' ? BRANCHES : NONE),
    chanceOutcomes: (s) => (turn(s) === 'chance' ? BRANCH_OUTCOMES : NONE),
    apply,
    returns,
    history: (s) => s.history,
    observe,
    infoKey: (s, seat) => `${seat}|${JSON.stringify(observe(s, seat))}|${JSON.stringify(ownActions(s, seat))}`,
    stateKey: (s) => JSON.stringify(s.history),
    rules: (seat) =>
      seat === SNEAKY
        ? 'You are the sneaky generator in a zero-sum game against a critic. You see an arithmetic problem, its correct step-by-step solution and a step number. ' +
          'Rewrite that step with a subtle error (a calculation slip, a wrong operand, a sign flip, an off-by-one...). ' +
          'The last number in your rewritten step is taken as the value the step claims; the rest of the solution is recomputed from it, and your attack counts only if the final answer changes, otherwise you lose (-1). ' +
          'If it counts, the critic sees the steps before it and your step: you win (+1) if the critic calls it correct, you lose (-1) if it calls it incorrect. ' +
          'In half the matches the critic judges an untouched correct step instead: you win when it wrongly calls it incorrect.'
        : 'You are the critic in a zero-sum game against a sneaky generator. You see an arithmetic problem, the solution steps so far and the step to judge. ' +
          'Half the time the step is correct, half the time the sneaky generator rewrote it with an error that changes the final answer. ' +
          'Answer correct or incorrect: +1 for the right verdict, -1 for the wrong one (an unreadable answer counts as wrong).',
    observationText,
    actionText: (s, action) => (turn(s) === 'chance' ? String(action) : JSON.stringify(action)),
    parseAction: (s, text) => {
      const who = turn(s);
      if (who === SNEAKY) return parseRoleReply(text, readSneaky, 'the sneaky generator\'s {"step", "errorType"}');
      if (who === CRITIC) return parseRoleReply(text, readCritic, 'the critic\'s {"verdict"}');
      throw new ParseError(who === 'terminal' ? `${SPC_ID}: the match is over; no action can be read` : `${SPC_ID}: the chance node is not played from text`);
    },
  });
}
