import { MAX_STEP_CHARS, numberedSteps, ParseError, type ReasonerInput, type ReasonerOutput } from '../../src/core/index.ts';
import { defineRole } from './role.ts';

/** Writes the next step of a solution, one line (ReST-MCTS*'s policy, asked at every node of the tree search). */
export const reasoner = defineRole<ReasonerInput, ReasonerOutput, 'problem' | 'steps'>({
  name: 'reasoner',
  placeholders: ['problem', 'steps'],
  templates: {
    system: 'You solve arithmetic problems one step at a time.',
    user:
      '{problem}\n\nSteps so far:\n{steps}\n\n' +
      'Write only the next step, on one line: one operation and its result, e.g. `23 + 17 = 40`. ' +
      'When the last operation is done, write `Answer: <number>` instead.',
  },
  vars: (input) => ({ problem: input.problem, steps: input.steps.length ? numberedSteps(input.steps) : '(none yet)' }),
  parse: (text) => {
    const line = text.split('\n').map((l) => l.trim().replace(/^Step \d+:\s*/i, '').replace(/^`+|`+$/g, '').trim()).find((l) => l !== '');
    if (line === undefined) throw new ParseError('the reply has no step: expected one line, e.g. `23 + 17 = 40` or `Answer: 40`');
    if (line.length > MAX_STEP_CHARS) throw new ParseError(`the step is ${line.length} characters; a step is one line of at most ${MAX_STEP_CHARS}`);
    return { step: line };
  },
});
