import { z } from 'zod';
import { defineGame, type Game, IllegalActionError, isMalformed, type Malformed, malformedTurn, ParseError, parseRoleReply } from '../../src/core/index.ts';
import type { JsonValue } from './executor.ts';
import { shapeReader } from '../readers.ts';
import { judgeAnswer, validateProposal, type CachedRunner, type Validation } from './judge.ts';
import { proposerReward, solverReward, type AbsoluteZeroRewards, type Verdict } from './rewards.ts';
import { PROPOSER_INSTRUCTIONS, question, shownPairs, type Task, type TaskType } from './tasks.ts';

export interface ProposalOutput {
  readonly program: string;
  readonly input: string;
  readonly language: string;
}
export interface AnswerOutput {
  readonly answer: string;
}
export type AbsoluteZeroAction = ProposalOutput | AnswerOutput | Malformed;

export interface AbsoluteZeroState {
  /** Set once the proposer has answered. */
  readonly proposal?: Validation | { readonly valid: false; readonly reason: string; readonly malformed: true };
  readonly verdicts: readonly Verdict[];
  readonly history: readonly AbsoluteZeroAction[];
}

/** What the proposer sees: the proposer role's input. */
export interface ProposerObservation {
  readonly language: 'javascript';
  readonly examples: readonly { readonly program: string; readonly input: string; readonly output: string }[];
  readonly instructions: string;
}

/** What a solver sees: the solver role's input, and the same task as data. */
export interface SolverObservation {
  readonly question: string;
  readonly type: TaskType;
  readonly program?: string;
  /** Deduction: the arguments; abduction: the output to reproduce. */
  readonly input?: readonly JsonValue[];
  readonly output?: JsonValue;
  /** Induction: the pairs shown. */
  readonly pairs?: readonly { readonly input: readonly JsonValue[]; readonly output: JsonValue }[];
}

const MAX_PROGRAM = 16 * 1024;
const proposalSchema = z.strictObject({ program: z.string().min(1).max(MAX_PROGRAM), input: z.string().min(1).max(MAX_PROGRAM), language: z.string().max(32) });
const answerSchema = z.strictObject({ answer: z.string().max(MAX_PROGRAM) });

const readProposal = shapeReader(proposalSchema, '{program, input, language}');
const readAnswer = shapeReader(answerSchema, '{answer}');

export interface MatchSetup {
  readonly type: TaskType;
  /** Reference tasks shown to the proposer. */
  readonly references: readonly Task[];
  /** Solver samples (seats 1..n). */
  readonly solvers: number;
  readonly rewards: AbsoluteZeroRewards;
  readonly runner: CachedRunner;
}

const example = (task: Task) =>
  task.type === 'induction'
    ? { program: task.program, input: JSON.stringify(task.inputs), output: JSON.stringify(task.outputs) }
    : { program: task.program, input: JSON.stringify(task.inputs[0]), output: JSON.stringify(task.outputs[0]) };

function solverObservation(task: Task): SolverObservation {
  const base = { question: question(task), type: task.type };
  if (task.type === 'deduction') return { ...base, program: task.program, input: task.inputs[0] };
  if (task.type === 'abduction') return { ...base, program: task.program, output: task.outputs[0] };
  return { ...base, pairs: task.inputs.slice(0, shownPairs(task)).map((input, i) => ({ input, output: task.outputs[i] })) };
}

/** One Absolute Zero match: seat 0 proposes a task of the setup's type, seats 1..n each try to solve it once. */
export function absoluteZeroGame(setup: MatchSetup): Game<AbsoluteZeroState, AbsoluteZeroAction> {
  const { type, references, solvers, rewards, runner } = setup;
  const seats = 1 + solvers;
  const valuesOf = Object.values(rewards);
  const proposerView: ProposerObservation = { language: 'javascript', examples: references.map(example), instructions: PROPOSER_INSTRUCTIONS[type] };

  const turn = (state: AbsoluteZeroState) => {
    if (!state.proposal) return 0;
    if (!state.proposal.valid || state.verdicts.length === solvers) return 'terminal' as const;
    return 1 + state.verdicts.length;
  };

  const game: Game<AbsoluteZeroState, AbsoluteZeroAction> = defineGame<AbsoluteZeroState, AbsoluteZeroAction>({
    id: 'absolute-zero',
    params: { taskType: type, references: references.length, solvers },
    description: `Absolute Zero (${type}): a proposer writes a JavaScript task, ${solvers} solver samples try it; the executor checks both.`,
    seats,
    maxLength: seats,
    utility: 'general-sum',
    returnRange: [Math.min(...valuesOf, 0), Math.max(...valuesOf, 1)],
    perfectInformation: false,
    initial: () => ({ verdicts: [], history: [] }),
    turn,
    openTurn: (state) => turn(state) !== 'terminal',
    failedTurnAction: malformedTurn,
    legalActions: () => [],
    apply: (state, action) => {
      const seat = turn(state);
      if (seat === 'terminal') throw new IllegalActionError('absolute-zero: the match is over');
      const history = [...state.history, action];
      if (seat === 0) {
        if (isMalformed(action)) return { ...state, history, proposal: { valid: false, reason: `badly formatted: ${action.malformed}`, malformed: true } };
        return { ...state, history, proposal: validateProposal(runner, type, readProposal(action)) };
      }
      const task = (state.proposal as { task: Task }).task;
      const verdict: Verdict = isMalformed(action) ? 'malformed' : judgeAnswer(runner, task, readAnswer(action).answer);
      return { ...state, history, verdicts: [...state.verdicts, verdict] };
    },
    returns: (state) => {
      if (!state.proposal) return new Array(seats).fill(0);
      if (!state.proposal.valid) return [rewards.invalid, ...new Array(solvers).fill(0)];
      const correct = state.verdicts.filter((v) => v === 'correct').length;
      return [proposerReward(correct / solvers, rewards), ...state.verdicts.map((v) => solverReward(v, rewards)), ...new Array(solvers - state.verdicts.length).fill(0)];
    },
    history: (state) => state.history,
    observe: (state, seat) => (seat === 0 ? proposerView : state.proposal?.valid ? solverObservation(state.proposal.task) : {}),
    infoKey: (state, seat) => (seat === 0 ? 'proposer' : JSON.stringify(game.observe(state, seat))),
    stateKey: (state) => JSON.stringify(state.history),
    rules: (seat) => (seat === 0 ? `Propose a ${type} task: a JavaScript function f and its input.` : 'Solve the task; put the final answer in \\boxed{}.'),
    observationText: (state, seat) => {
      const view = game.observe(state, seat) as Partial<ProposerObservation & SolverObservation>;
      if (seat === 0) return `${proposerView.instructions}\nReferences:\n${proposerView.examples.map((e) => `${e.program}\ninput: ${e.input}\noutput: ${e.output}`).join('\n\n')}`;
      return view.question ?? '(no task yet)';
    },
    actionText: (_state, action) => JSON.stringify(action),
    parseAction: (state, text) => (turn(state) === 0 ? parseRoleReply(text, readProposal, 'the proposer output {program, input, language}') : parseRoleReply(text, readAnswer, 'the solver output {answer}')),
  });
  return game;
}
