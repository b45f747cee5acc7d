import { ParseError, type AnswererInput, type AnswererOutput } from '../../src/core/index.ts';
import { defineRole } from './role.ts';

/** Answers a prompt as it is, the whole reply being the answer (SPIN's opponent, answering a data set's prompts). */
export const answerer = defineRole<AnswererInput, AnswererOutput, 'prompt'>({
  name: 'answerer',
  placeholders: ['prompt'],
  templates: { user: '{prompt}' },
  vars: (input) => ({ prompt: input.prompt }),
  parse: (text) => {
    const answer = text.trim();
    if (answer === '') throw new ParseError('the answer is empty');
    return { answer };
  },
});
