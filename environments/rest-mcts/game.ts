import { z } from 'zod';
import { defineGame, type Game, IllegalActionError, isMalformed, type Malformed, MAX_STEP_CHARS, numberedSteps, openTurns, ParseError, parseRoleReply, type ReasonerInput, type ReasonerOutput } from '../../src/core/index.ts';
import { readOrIllegal, shapeReader } from '../readers.ts';
import type { Problem } from '../self-play-critic/problems.ts';
import { lastNumber } from '../self-play-critic/rules.ts';
import { type SearchOptions, StepSearch } from './search.ts';

export type ReasonerAction = ReasonerOutput | Malformed;

export interface RestMctsState {
  readonly history: readonly ReasonerAction[];
}

const stepShape = z.object({ step: z.string().trim().min(1).max(MAX_STEP_CHARS).regex(/^[^\n\r]*$/, 'a step is one line') }).strict();
export const readStep = shapeReader<ReasonerOutput>(stepShape, 'the reasoner\'s {"step": "one line"}');

/** A final answer: a step that starts with `Answer:`. */
export const isFinalStep = (step: string): boolean => /^\s*answer\s*:/i.test(step);

/** Whether a finished trace is right: its last step is a final answer whose number is `answer`. */
export const traceIsCorrect = (answer: number) => (steps: readonly string[]): boolean => {
  const last = steps.at(-1);
  return last !== undefined && isFinalStep(last) && lastNumber(last) === answer;
};

/** The search after a match's replies, rebuilt from them (a state is its history). */
export function replaySearch(answer: number, options: SearchOptions, history: readonly ReasonerAction[]): StepSearch {
  const search = new StepSearch(options, isFinalStep, traceIsCorrect(answer));
  for (const action of history) search.receive(isMalformed(action) ? action : { text: action.step.trim() });
  return search;
}

/**
 * One match is one ReST-MCTS* search on one problem: a single seat, the
 * reasoner (the policy), is asked for the next step of whatever partial
 * solution the search selects, until its iterations are spent. The return is
 * 1 when some trace reached the correct answer (the verified outcome the
 * search collects traces by), else 0.
 */
export function restMctsGame(problem: Problem, index: number, options: SearchOptions): Game<RestMctsState, ReasonerAction> {
  const searches = new WeakMap<RestMctsState, StepSearch>();
  const search = (s: RestMctsState) => {
    let found = searches.get(s);
    if (!found) searches.set(s, (found = replaySearch(problem.answer, options, s.history)));
    return found;
  };
  const turn = (s: RestMctsState) => (search(s).done ? ('terminal' as const) : 0);
  const observe = (s: RestMctsState): ReasonerInput => ({ problem: problem.text, steps: search(s).query() ?? [] });
  return defineGame<RestMctsState, ReasonerAction>({
    id: 'rest-mcts',
    params: { problem: index, answer: problem.answer, ...options },
    description:
      `ReST-MCTS*: a tree search over reasoning steps on "${problem.text}": ${options.iterations} iterations, each asking the reasoner for a new step at the node UCT selects ` +
      `(${options.branch} samples per node) and rolling out from it to a final answer; the return is 1 when some trace reached the right answer.`,
    seats: 1,
    maxLength: options.iterations * options.maxDepth,
    utility: 'general-sum',
    returnRange: [0, 1],
    perfectInformation: true,
    initial: () => ({ history: [] }),
    ...openTurns(turn),
    apply: (s, action) => {
      if (turn(s) === 'terminal') throw new IllegalActionError('rest-mcts: the search is over');
      if (!isMalformed(action)) readOrIllegal('rest-mcts', readStep, action);
      return { history: [...s.history, action] };
    },
    returns: (s) => [search(s).traces.some((t) => t.correct) ? 1 : 0],
    history: (s) => s.history,
    observe,
    infoKey: (s) => JSON.stringify([problem.text, search(s).query() ?? []]),
    stateKey: (s) => JSON.stringify(s.history),
    rules: () => 'You are the reasoner. Write the next step of the solution, one operation per line; finish with `Answer: <number>`.',
    observationText: (s) => {
      const steps = search(s).query();
      return `${problem.text}\nSteps so far:\n${steps === null ? '(the search is over)' : steps.length ? numberedSteps(steps) : '(none yet)'}`;
    },
    actionText: (_s, action) => JSON.stringify(action),
    parseAction: (s, text) => {
      if (turn(s) === 'terminal') throw new ParseError('the search is over: no action can be read');
      return parseRoleReply(text, readStep, 'the reasoner\'s {"step": "one line"}');
    },
  });
}
