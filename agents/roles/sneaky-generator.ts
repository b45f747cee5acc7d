import { numberedSteps, ParseError, type SneakyInput, type SneakyOutput } from '../../src/core/index.ts';
import { defineRole } from './role.ts';
import { lastTag, shown } from './text.ts';

const MAX_ERROR_TYPE = 200;

/** The placeholders of a role that writes one step of a given solution (the sneaky generator, the helpful prover). */
export function stepVars(role: string, input: SneakyInput): Record<'problem' | 'steps' | 'step' | 'step_text', string> {
  if (!Number.isInteger(input.step) || input.step < 1 || input.step > input.steps.length) {
    throw new RangeError(`${role}: step ${input.step} is not one of the ${input.steps.length} steps (they are numbered from 1)`);
  }
  return { problem: input.problem, steps: numberedSteps(input.steps), step: String(input.step), step_text: input.steps[input.step - 1] };
}

/** Rewrites a correct step into a subtly wrong one and names the error (SPC's sneaky generator). */
export const sneakyGenerator = defineRole<SneakyInput, SneakyOutput, 'problem' | 'steps' | 'step' | 'step_text'>({
  name: 'sneaky-generator',
  placeholders: ['problem', 'steps', 'step', 'step_text'],
  templates: {
    user:
      'Problem:\n{problem}\n\nA correct solution:\n{steps}\n\nRewrite step {step} so that it contains a subtle error that a careful reader could still miss, ' +
      'keeping its style and length. Say which kind of error you introduced (for example: calculation, logic, misread condition).\n' +
      'Answer with <Step>the rewritten step</Step> and <ErrorType>the kind of error</ErrorType>.',
  },
  vars: (input) => stepVars('sneaky-generator', input),
  parse: (text) => {
    const step = lastTag(text, 'step')?.trim();
    const errorType = lastTag(text, 'errortype')?.trim();
    if (step === undefined) throw new ParseError('no rewritten step: expected <Step>...</Step>');
    if (!step) throw new ParseError('the rewritten step is empty');
    if (errorType === undefined) throw new ParseError('no error type: expected <ErrorType>...</ErrorType>');
    if (!errorType) throw new ParseError('the error type is empty');
    if (errorType.length > MAX_ERROR_TYPE) throw new ParseError(`the error type ${shown(errorType)} is longer than ${MAX_ERROR_TYPE} characters; expected a short name`);
    return { step, errorType };
  },
});
