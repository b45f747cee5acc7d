import { ParseError, type ConjecturerInput, type ConjecturerOutput } from '../../src/core/index.ts';
import { defineRole } from './role.ts';
import { lastTag } from './text.ts';

/** States a conjecture near a seed theorem, for provers to prove (STP's conjecturer). */
export const conjecturer = defineRole<ConjecturerInput, ConjecturerOutput, 'theorem' | 'system'>({
  name: 'conjecturer',
  placeholders: ['theorem', 'system'],
  templates: {
    system: 'You are a mathematician who proposes conjectures in propositional logic.',
    user:
      'Seed theorem: {theorem}\n\nProofs use this Hilbert system:\n{system}\n\n' +
      'State a new sequent related to the seed theorem that is true and provable, but hard: it is worth most when only a few attempts at proving it succeed. ' +
      'Write it as premises, then |-, then the conclusion, e.g. <conjecture>p -> q, q -> r |- p -> r</conjecture>.',
  },
  vars: (input) => ({ theorem: input.theorem, system: input.system.join('\n') }),
  parse: (text) => {
    const conjecture = lastTag(text, 'conjecture')?.trim() ?? null;
    if (conjecture === null) throw new ParseError('no conjecture: expected <conjecture>premises |- conclusion</conjecture>');
    if (conjecture === '') throw new ParseError('the conjecture is empty');
    return { conjecture };
  },
});
