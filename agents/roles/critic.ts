import { numberedSteps, ParseError, type CriticInput, type CriticOutput } from '../../src/core/index.ts';
import { defineRole, type RoleTemplates } from './role.ts';
import { lastTag, shown } from './text.ts';

/** The critic's two whole answers: a small model's verdict can be sampled among these only (guided choice). */
export const CRITIC_VERDICTS = ['<Answer>Correct</Answer>', '<Answer>Incorrect</Answer>'] as const;

/**
 * The critic's prompt for a small model trained from scratch (the policy host's byte model, whose 256 tokens of
 * context the default prompt overflows, cutting the problem off): the problem, the steps and which step to judge.
 * It names no answer format, so it suits guided choice among CRITIC_VERDICTS only.
 */
export const COMPACT_CRITIC_PROMPT: RoleTemplates = { system: undefined, user: '{problem}\n{steps}\nStep {step}?' };

/** Judges one reasoning step (SPC's critic); answers `<Answer>Correct</Answer>` or `<Answer>Incorrect</Answer>`. */
export const critic = defineRole<CriticInput, CriticOutput, 'problem' | 'steps' | 'step' | 'step_text'>({
  name: 'critic',
  placeholders: ['problem', 'steps', 'step', 'step_text'],
  templates: {
    system: 'You are a careful critic of step-by-step solutions.',
    user:
      'Problem:\n{problem}\n\nSolution so far:\n{steps}\n\nIs step {step} correct? Check it carefully, reasoning step by step, ' +
      'then end with <Answer>Correct</Answer> or <Answer>Incorrect</Answer>.',
  },
  vars: (input) => {
    const step = input.step ?? input.steps.length;
    if (!Number.isInteger(step) || step < 1 || step > input.steps.length) {
      throw new RangeError(`critic: step ${step} is not one of the ${input.steps.length} steps (they are numbered from 1)`);
    }
    return { problem: input.problem, steps: numberedSteps(input.steps), step: String(step), step_text: input.steps[step - 1] };
  },
  parse: (text) => {
    const answer = lastTag(text, 'answer');
    if (answer === null) throw new ParseError('no verdict: expected <Answer>Correct</Answer> or <Answer>Incorrect</Answer>');
    const verdict = answer.trim().replace(/\.$/, '').toLowerCase();
    if (verdict === 'correct' || verdict === 'incorrect') return { verdict };
    throw new ParseError(`the verdict ${shown(answer)} is neither Correct nor Incorrect`);
  },
});
