import { ParseError, type ProverInput, type ProverOutput } from '../../src/core/index.ts';
import { defineRole } from './role.ts';
import { lastTag } from './text.ts';

/** Proves a sequent in a Hilbert system, one numbered step per line (STP's prover). */
export const prover = defineRole<ProverInput, ProverOutput, 'statement' | 'system'>({
  name: 'prover',
  placeholders: ['statement', 'system'],
  templates: {
    system: 'You are a careful logician who writes formal proofs.',
    user:
      'Prove: {statement}\n\nThe Hilbert system:\n{system}\n\n' +
      'Write the proof inside <proof>...</proof>, one step per line, the last step being the conclusion, e.g.\n' +
      '<proof>\n1. p [premise]\n2. p -> (q -> p) [A1]\n3. q -> p [MP 1, 2]\n</proof>',
  },
  vars: (input) => ({ statement: input.statement, system: input.system.join('\n') }),
  parse: (text) => {
    const proof = lastTag(text, 'proof');
    if (proof === null) throw new ParseError('no proof: expected the numbered steps inside <proof>...</proof>');
    if (proof.trim() === '') throw new ParseError('the proof is empty');
    return { proof };
  },
});
