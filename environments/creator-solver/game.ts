import { z } from 'zod';
import { type CreatorInput, type CreatorOutput, defineGame, type Game, IllegalActionError, isMalformed, type Malformed, openTurns, ParseError, parseRoleReply, Rng, type SolverInput, type SolverOutput } from '../../src/core/index.ts';
import { readOrIllegal, shapeReader } from '../readers.ts';
import { clampParams, type TaskFamily, type TaskParams } from './family.ts';
import type { PoolEntry } from './pool.ts';
import { creatorReward, solverReward } from './rewards.ts';

export type CreatorAction = CreatorOutput | Malformed;
export type SolverAction = SolverOutput | Malformed;
export type CreatorSolverAction = CreatorAction | SolverAction;

/** The task the solvers answer: the creator's proposal as the environment read it. */
export interface ChildTask {
  readonly params: TaskParams;
  /** Whether the proposal was used: false when it was malformed or named a parameter the family lacks (the parent's parameters are played then). */
  readonly valid: boolean;
  /** Whether a proposed value lay outside its bounds and was clamped to them. */
  readonly clamped: boolean;
  readonly reason?: string;
  readonly question: string;
  readonly truth: string;
}

export interface CreatorSolverState {
  /** Null until the creator has moved. */
  readonly child: ChildTask | null;
  /** The solvers' replies, in seat order. */
  readonly answers: readonly SolverAction[];
  readonly history: readonly CreatorSolverAction[];
}

export interface MatchSetup {
  readonly family: TaskFamily;
  readonly parent: PoolEntry;
  /** Solver seats. */
  readonly samples: number;
  /** Seeds the rendering of the child task (drawn from the match's rng). */
  readonly seed: number;
}

const creatorShape = z.object({ params: z.record(z.string(), z.number().int()) }).strict();
const solverShape = z.object({ answer: z.string() }).strict();

/** Reads a creator reply's value: `{"params": {"name": integer}}`; throws ParseError. */
export const readCreator = shapeReader<CreatorOutput>(creatorShape, 'the creator\'s {"params": {"name": integer, ...}}');
/** Reads a solver reply's value: `{"answer": "..."}`; throws ParseError. */
export const readSolver = shapeReader<SolverOutput>(solverShape, 'the solver\'s {"answer": "..."}');

/**
 * The child's parameters from a proposal: names the family lacks make it
 * invalid (the parent is played and the creator scores 0, as for a malformed
 * reply); missing names keep the parent's values; out-of-bounds values are clamped.
 */
export function resolveProposal(family: TaskFamily, parent: TaskParams, proposal: CreatorAction): { params: TaskParams; valid: boolean; clamped: boolean; reason?: string } {
  const fallback = clampParams(family.params, parent, parent);
  if (isMalformed(proposal)) return { params: fallback, valid: false, clamped: false, reason: `malformed: ${proposal.malformed}` };
  const known = new Set(family.params.map((s) => s.name));
  const unknown = Object.keys(proposal.params).filter((name) => !known.has(name));
  if (unknown.length) {
    return { params: fallback, valid: false, clamped: false, reason: `${family.name} has no parameter ${unknown.join(', ')} (its parameters: ${[...known].join(', ')})` };
  }
  const params = clampParams(family.params, proposal.params, fallback);
  const clamped = family.params.some((s) => proposal.params[s.name] !== undefined && proposal.params[s.name] !== params[s.name]);
  return { params, valid: true, clamped };
}

/** The creator's view: its role input. */
export function creatorInput(family: TaskFamily, parent: PoolEntry): CreatorInput {
  return {
    family: family.name,
    description: family.description,
    params: { ...parent.params },
    bounds: Object.fromEntries(family.params.map((s) => [s.name, [s.min, s.max] as const])),
    informativeness: parent.informativeness,
  };
}

/** Each seat's reward at the end: the creator's (seat 0) then each solver's. */
export function matchReturns(family: TaskFamily, state: CreatorSolverState): { creator: number; solvers: number[] } {
  if (!state.child) return { creator: 0, solvers: state.answers.map(() => 0) };
  const truth = state.child.truth;
  const solvers = state.answers.map((a) => solverReward(family, a, truth));
  return { creator: creatorReward(state.child.valid, solvers), solvers };
}

const paramsText = (params: TaskParams) =>
  Object.entries(params)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');

/** One match: the creator proposes a child of `parent`, then `samples` solver seats answer the rendered task. */
export function creatorSolverGame(setup: MatchSetup): Game<CreatorSolverState, CreatorSolverAction> {
  const { family, parent, samples, seed } = setup;
  const seats = samples + 1;
  const input = creatorInput(family, parent);

  const turn = (s: CreatorSolverState) => (s.child === null ? 0 : s.answers.length < samples ? 1 + s.answers.length : ('terminal' as const));

  const observe = (s: CreatorSolverState, seat: number): CreatorInput | SolverInput => (seat === 0 ? input : { question: s.child?.question ?? '' });

  /** The seat's own actions so far (perfect recall). */
  const own = (s: CreatorSolverState, seat: number): readonly CreatorSolverAction[] => (seat === 0 ? s.history.slice(0, 1) : s.answers.slice(seat - 1, seat));

  return defineGame<CreatorSolverState, CreatorSolverAction>({
    id: 'creator-solver',
    params: { family: family.name, taskType: family.name, parent: paramsText(parent.params), parentInformativeness: parent.informativeness, samples },
    description:
      `Creator and solver (eva): the creator proposes parameters for a ${family.name} task, child of ${paramsText(parent.params)}; ` +
      `${samples} solvers answer it. Each solver earns its answer's score in [0, 1]; the creator earns the best score minus the mean.`,
    seats,
    maxLength: seats,
    utility: 'general-sum',
    returnRange: [0, 1],
    perfectInformation: false,
    initial: () => ({ child: null, answers: [], history: [] }),
    ...openTurns(turn),
    apply: (s, action) => {
      const t = turn(s);
      if (t === 'terminal') throw new IllegalActionError('creator-solver: the match is over');
      if (t === 0) {
        if (!isMalformed(action)) readOrIllegal('creator-solver', readCreator, action);
        const resolved = resolveProposal(family, parent.params, action as CreatorAction);
        const task = family.render(resolved.params, new Rng(seed));
        return { child: { ...resolved, question: task.prompt, truth: task.truth }, answers: [], history: [...s.history, action] };
      }
      if (!isMalformed(action)) readOrIllegal('creator-solver', readSolver, action);
      return { ...s, answers: [...s.answers, action as SolverAction], history: [...s.history, action] };
    },
    returns: (s) => {
      if (turn(s) !== 'terminal') return Array.from({ length: seats }, () => 0);
      const { creator, solvers } = matchReturns(family, s);
      return [creator, ...solvers];
    },
    history: (s) => s.history,
    observe,
    infoKey: (s, seat) => JSON.stringify([seat, observe(s, seat), own(s, seat)]),
    stateKey: (s) => JSON.stringify(s.history),
    rules: (seat) =>
      seat === 0
        ? `You are the creator. Propose integer parameters for a new ${family.name} task that is as informative as possible for the solvers: ` +
          'your reward is the best solver score minus the mean. Unknown parameter names forfeit the reward; out-of-range values are clamped.'
        : 'You are a solver. Answer the question; your reward is your answer\'s score in [0, 1].',
    observationText: (s, seat) => {
      if (seat !== 0) return s.child ? `Question: ${s.child.question}` : 'Waiting for the creator to propose a task.';
      const bounds = family.params.map((p) => `${p.name} ${p.min}-${p.max}`).join(', ');
      return `Family ${family.name}: ${family.description}\nParent parameters: ${paramsText(parent.params)} (bounds: ${bounds})\nParent informativeness: ${parent.informativeness}`;
    },
    actionText: (_s, action) => JSON.stringify(action),
    parseAction: (s, text) => {
      const t = turn(s);
      if (t === 'terminal') throw new ParseError('the match is over: no action can be read');
      return t === 0 ? parseRoleReply(text, readCreator, 'the creator\'s {"params": {...}}') : parseRoleReply(text, readSolver, 'the solver\'s {"answer": "..."}');
    },
  });
}

/** The final state of a finished match, replayed from its history. */
export const replay = (game: Game<CreatorSolverState, CreatorSolverAction>, history: readonly unknown[]): CreatorSolverState =>
  history.reduce<CreatorSolverState>((s, action) => game.apply(s, action as CreatorSolverAction), game.initial());
