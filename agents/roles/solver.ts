import { extractAnswer, ParseError, type SolverInput, type SolverOutput } from '../../src/core/index.ts';
import { defineRole } from './role.ts';

/** Solves a task: reasons step by step and puts the final answer in \boxed{} (SPIRAL, Absolute Zero, SOAR's student). */
export const solver = defineRole<SolverInput, SolverOutput, 'question'>({
  name: 'solver',
  placeholders: ['question'],
  templates: { user: '{question}\n\nPlease reason step by step, and put your final answer within \\boxed{}.' },
  vars: (input) => ({ question: input.question }),
  parse: (text) => {
    const answer = extractAnswer(text);
    if (answer === null) throw new ParseError('no final answer: expected it within \\boxed{...} at the end');
    if (answer === '') throw new ParseError('the final answer is empty: expected something within \\boxed{...}');
    return { answer };
  },
});
