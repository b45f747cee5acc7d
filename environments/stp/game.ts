import { z } from 'zod';
import { type ConjecturerInput, type ConjecturerOutput, defineGame, type Game, IllegalActionError, isMalformed, type Malformed, openTurns, ParseError, parseRoleReply, type ProverInput, type ProverOutput } from '../../src/core/index.ts';
import { readOrIllegal, shapeReader } from '../readers.ts';
import { checkProof, type CheckLimits } from './checker.ts';
import { AXIOMS, FormulaError, Formulas, isValidSequent, parseSequent, showSequent } from './logic.ts';

export type ConjecturerAction = ConjecturerOutput | Malformed;
export type ProverAction = ProverOutput | Malformed;
export type StpAction = ConjecturerAction | ProverAction;

/** What the provers are asked to prove. */
export interface Statement {
  /** The sequent, as the table prints it (one spelling per sequent). */
  readonly text: string;
  /** Whether it is the conjecturer's: false when the conjecture was unreadable or repeated the seed (the seed is proved then). */
  readonly conjectured: boolean;
  /** Whether it holds by truth table (an invalid sequent has no proof in a sound system). */
  readonly valid: boolean;
  readonly reason?: string;
}

export interface StpState {
  readonly statement: Statement | null;
  /** Per prover, in seat order: its steps when its proof checked, else why it did not. */
  readonly verdicts: readonly ({ readonly ok: true; readonly steps: number } | { readonly ok: false; readonly reason: string })[];
  readonly history: readonly StpAction[];
}

export interface StpMatchSetup {
  /** The seed theorem, a sequent. */
  readonly seed: string;
  readonly provers: number;
  /** The highest pass rate at which a conjecture still counts as barely provable. */
  readonly maxPassRate: number;
  readonly limits?: CheckLimits;
}

/** The system as the roles are shown it. */
export const SYSTEM: readonly string[] = [
  ...AXIOMS,
  'premise: any premise of the sequent',
  'MP i, j: from step i (A) and step j (A -> B), infer B',
  'Write one step per line: "N. formula [rule]", e.g. "3. q -> p [MP 2, 1]"; ~ is not, -> is implies (right-associative).',
];

const conjectureShape = z.object({ conjecture: z.string().min(1).max(2_000) }).strict();
const proofShape = z.object({ proof: z.string().max(1_000_000) }).strict();

export const readConjecture = shapeReader<ConjecturerOutput>(conjectureShape, 'the conjecturer\'s {"conjecture": "A, B |- C"}');
export const readProof = shapeReader<ProverOutput>(proofShape, 'the prover\'s {"proof": "1. ... [rule]\\n..."}');

/** The statement the provers get from a conjecture: the conjecture in canonical spelling, or the seed when it cannot be used. */
export function statementOf(seed: string, conjecture: ConjecturerAction): Statement {
  const table = new Formulas();
  const seedSequent = parseSequent(table, seed);
  const fallback = (reason: string): Statement => ({ text: showSequent(table, seedSequent), conjectured: false, valid: isValidSequent(table, seedSequent), reason });
  if (isMalformed(conjecture)) return fallback(`malformed: ${conjecture.malformed}`);
  try {
    const sequent = parseSequent(table, conjecture.conjecture);
    const text = showSequent(table, sequent);
    if (text === showSequent(table, seedSequent)) return fallback('the conjecture is the seed theorem itself');
    return { text, conjectured: true, valid: isValidSequent(table, sequent) };
  } catch (error) {
    if (error instanceof FormulaError) return fallback(`unreadable: ${error.message}`);
    throw error;
  }
}

/**
 * The conjecturer's reward: 1 when its conjecture was proved by some provers
 * but by no more than `maxPassRate` of them (barely provable, as STP selects
 * conjectures), else 0.
 */
export function conjecturerReward(statement: Statement, passed: number, provers: number, maxPassRate: number): number {
  return statement.conjectured && passed > 0 && passed / provers <= maxPassRate ? 1 : 0;
}

/** One match: the conjecturer states a conjecture near the seed, then each prover tries to prove it. */
export function stpGame(setup: StpMatchSetup): Game<StpState, StpAction> {
  const { seed, provers, maxPassRate } = setup;
  const seats = provers + 1;
  const conjecturer: ConjecturerInput = { theorem: seed, system: SYSTEM };
  const turn = (s: StpState) => (s.statement === null ? 0 : s.verdicts.length < provers ? 1 + s.verdicts.length : ('terminal' as const));
  const observe = (s: StpState, seat: number): ConjecturerInput | ProverInput => (seat === 0 ? conjecturer : { statement: s.statement?.text ?? '', system: SYSTEM });
  const own = (s: StpState, seat: number) => (seat === 0 ? s.history.slice(0, 1) : s.history.slice(seat, seat + 1));
  const passed = (s: StpState) => s.verdicts.filter((v) => v.ok).length;

  return defineGame<StpState, StpAction>({
    id: 'stp',
    params: { seed, provers, maxPassRate },
    description:
      `Self-play theorem proving (STP): a conjecturer states a conjecture near ${seed}; ${provers} provers each try to prove it in a Hilbert system. ` +
      `A prover earns 1 for a proof the checker accepts; the conjecturer earns 1 when some provers, but at most ${maxPassRate * 100}% of them, succeed.`,
    seats,
    maxLength: seats,
    utility: 'general-sum',
    returnRange: [0, 1],
    perfectInformation: false,
    initial: () => ({ statement: null, verdicts: [], history: [] }),
    ...openTurns(turn),
    apply: (s, action) => {
      const t = turn(s);
      if (t === 'terminal') throw new IllegalActionError('stp: the match is over');
      if (t === 0) {
        if (!isMalformed(action)) readOrIllegal('stp', readConjecture, action);
        return { statement: statementOf(seed, action as ConjecturerAction), verdicts: [], history: [action] };
      }
      if (!isMalformed(action)) readOrIllegal('stp', readProof, action);
      const verdict = isMalformed(action) ? { ok: false as const, reason: `malformed: ${action.malformed}` } : checkProof(s.statement!.text, (action as ProverOutput).proof, setup.limits);
      return { ...s, verdicts: [...s.verdicts, verdict.ok ? { ok: true, steps: verdict.steps } : { ok: false, reason: verdict.reason }], history: [...s.history, action] };
    },
    returns: (s) => {
      if (turn(s) !== 'terminal') return Array.from({ length: seats }, () => 0);
      return [conjecturerReward(s.statement!, passed(s), provers, maxPassRate), ...s.verdicts.map((v) => (v.ok ? 1 : 0))];
    },
    history: (s) => s.history,
    observe,
    infoKey: (s, seat) => JSON.stringify([seat, observe(s, seat), own(s, seat)]),
    stateKey: (s) => JSON.stringify(s.history),
    rules: (seat) =>
      seat === 0
        ? 'You are the conjecturer. State a new sequent near the seed theorem that the provers can prove, but only rarely: your reward is 1 when at least one prover and at most ' +
          `${maxPassRate * 100}% of them succeed.`
        : 'You are a prover. Prove the sequent in the Hilbert system; your reward is 1 when the checker accepts your proof.',
    observationText: (s, seat) =>
      seat === 0 ? `Seed theorem: ${seed}\nSystem:\n${SYSTEM.join('\n')}` : s.statement ? `Prove: ${s.statement.text}\nSystem:\n${SYSTEM.join('\n')}` : 'Waiting for the conjecture.',
    actionText: (_s, action) => JSON.stringify(action),
    parseAction: (s, text) => {
      const t = turn(s);
      if (t === 'terminal') throw new ParseError('the match is over: no action can be read');
      return t === 0 ? parseRoleReply(text, readConjecture, 'the conjecturer\'s {"conjecture": "..."}') : parseRoleReply(text, readProof, 'the prover\'s {"proof": "..."}');
    },
  });
}

