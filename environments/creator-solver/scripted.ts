import type { CreatorInput, CreatorOutput, Rng, SolverInput, SolverOutput } from '../../src/core/index.ts';
import { FAMILIES, solveFromText } from './families.ts';

/** The scripted creator: one random mutation operator applied to the parent's parameters. */
export function scriptedCreator(input: CreatorInput, rng: Rng): CreatorOutput {
  const family = FAMILIES[input.family];
  return { params: family ? family.mutate(input.params, rng) : { ...input.params } };
}

/**
 * The scripted solver: reads the task back from the question's text, and
 * answers it right with probability 1 - difficulty, else with a plausible
 * mistake (a wrong digit, a swapped pair, off by one). So tasks of middling
 * difficulty are the informative ones.
 */
export function scriptedSolver(input: SolverInput, rng: Rng): SolverOutput {
  const solved = solveFromText(input.question);
  if (!solved) return { answer: 'I do not know' };
  const wrong = rng.next() < solved.family.difficulty(solved.params);
  return { answer: wrong ? solved.family.corrupt(solved.answer, rng) : solved.answer };
}
