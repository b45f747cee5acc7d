import { ParseError, type HelpfulOutput, type SneakyInput } from '../../src/core/index.ts';
import { defineRole } from './role.ts';
import { stepVars } from './sneaky-generator.ts';
import { lastTag } from './text.ts';

/** Writes a step of a solution out so that a verifier can check it (the helpful prover of prover-verifier games). */
export const helpfulProver = defineRole<SneakyInput, HelpfulOutput, 'problem' | 'steps' | 'step' | 'step_text'>({
  name: 'helpful-prover',
  placeholders: ['problem', 'steps', 'step', 'step_text'],
  templates: {
    user:
      'Problem:\n{problem}\n\nA correct solution:\n{steps}\n\nWrite step {step} out so that a verifier can check it easily, ending with the value it gives. ' +
      'Answer with the step alone, as <Step>the step</Step>.',
  },
  vars: (input) => stepVars('helpful-prover', input),
  parse: (text) => {
    const step = lastTag(text, 'step')?.trim();
    if (step === undefined) throw new ParseError('no step: expected <Step>...</Step>');
    if (!step) throw new ParseError('the step is empty');
    return { step };
  },
});
