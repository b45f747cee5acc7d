import { answerer } from './answerer.ts';
import { conjecturer } from './conjecturer.ts';
import { creator } from './creator.ts';
import { critic } from './critic.ts';
import { helpfulProver } from './helpful-prover.ts';
import { proposer } from './proposer.ts';
import { reasoner } from './reasoner.ts';
import { prover } from './prover.ts';
import { sneakyGenerator } from './sneaky-generator.ts';
import { solver } from './solver.ts';
import { teacher } from './teacher.ts';

/** The roles by name, each a factory taking optional template overrides. */
export const roles = { solver, critic, teacher, proposer, 'sneaky-generator': sneakyGenerator, creator, conjecturer, prover, 'helpful-prover': helpfulProver, answerer, reasoner } as const;
