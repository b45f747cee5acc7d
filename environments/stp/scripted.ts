import type { ConjecturerInput, ConjecturerOutput, ProverInput, ProverOutput, Rng } from '../../src/core/index.ts';
import { Formulas, parseSequent, showSequent, type Sequent } from './logic.ts';
import { searchProof } from './search.ts';

/** The mutations the scripted conjecturer applies to a seed, one per conjecture. */
const MUTATIONS = ['weaken', 'substitute', 'negate-variable', 'drop-premise', 'add-premise', 'premise-to-antecedent'] as const;

const VARIABLES = ['p', 'q', 'r', 's'];

/** Replaces every occurrence of variable `name` in `f` by `by`. */
function substitute(t: Formulas, f: number, name: number, by: number): number {
  if (f === name) return by;
  if (t.isNot(f)) return t.not(substitute(t, t.left(f), name, by));
  if (t.isImp(f)) return t.imp(substitute(t, t.left(f), name, by), substitute(t, t.right(f), name, by));
  return f;
}

/**
 * The scripted conjecturer: one random mutation of the seed sequent (weaken
 * the conclusion with an antecedent, substitute a variable, negate one, drop
 * or add a premise, or move a premise into the conclusion). Some results are
 * easier than the seed, some harder, some no longer valid.
 */
export function scriptedConjecturer(input: ConjecturerInput, rng: Rng): ConjecturerOutput {
  const t = new Formulas();
  const seed = parseSequent(t, input.theorem);
  const names = [...new Set([...seed.premises, seed.conclusion].flatMap((f) => t.variables(f)))];
  const pick = <T>(items: readonly T[]): T => items[rng.int(items.length)];
  const variable = () => t.variable(pick(VARIABLES));
  const own = () => t.variable(pick(names));
  let next: Sequent;
  switch (pick(MUTATIONS)) {
    case 'weaken':
      next = { premises: seed.premises, conclusion: t.imp(variable(), seed.conclusion) };
      break;
    case 'substitute': {
      const name = own();
      const by = rng.next() < 0.5 ? variable() : t.imp(variable(), variable());
      next = { premises: seed.premises.map((p) => substitute(t, p, name, by)), conclusion: substitute(t, seed.conclusion, name, by) };
      break;
    }
    case 'negate-variable': {
      const name = own();
      next = { premises: seed.premises.map((p) => substitute(t, p, name, t.not(name))), conclusion: substitute(t, seed.conclusion, name, t.not(name)) };
      break;
    }
    case 'drop-premise':
      next = seed.premises.length ? { premises: seed.premises.filter((_, i) => i !== rng.int(seed.premises.length)), conclusion: seed.conclusion } : { premises: [], conclusion: t.imp(variable(), seed.conclusion) };
      break;
    case 'add-premise':
      next = { premises: [...seed.premises, rng.next() < 0.5 ? variable() : t.imp(own(), variable())], conclusion: seed.conclusion };
      break;
    case 'premise-to-antecedent': {
      if (!seed.premises.length) {
        next = { premises: [], conclusion: t.imp(variable(), seed.conclusion) };
        break;
      }
      const i = rng.int(seed.premises.length);
      next = { premises: seed.premises.filter((_, j) => j !== i), conclusion: t.imp(seed.premises[i], seed.conclusion) };
      break;
    }
  }
  return { conjecture: showSequent(t, next) };
}

/**
 * The scripted prover: a bounded forward search that sees each axiom
 * instance with probability `keep` (see `searchProof`); an empty proof when it
 * finds none, which the checker rejects.
 */
export const scriptedProver =
  (keep: number) =>
  (input: ProverInput, rng: Rng): ProverOutput => ({ proof: searchProof(input.statement, rng, { keep }) ?? '' });
