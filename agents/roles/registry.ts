import { answerer } from './answerer.ts';
import { conjecturer } from './conjecturer.ts';
import { creator } from './creator.ts';
import { COMPACT_CRITIC_PROMPT, critic } from './critic.ts';
import { helpfulProver } from './helpful-prover.ts';
import { proposer } from './proposer.ts';
import { reasoner } from './reasoner.ts';
import type { RolePrompts } from './role.ts';
import { prover } from './prover.ts';
import { sneakyGenerator } from './sneaky-generator.ts';
import { solver } from './solver.ts';
import { teacher } from './teacher.ts';

/** The roles by name, each a factory taking optional template overrides. */
export const roles = { solver, critic, teacher, proposer, 'sneaky-generator': sneakyGenerator, creator, conjecturer, prover, 'helpful-prover': helpfulProver, answerer, reasoner } as const;

/**
 * Role prompts for the policy host's byte model: a shorter prompt where a role that model answers by guided choice
 * has one (the critic). The roles that write free text keep their own.
 */
export const COMPACT_ROLE_PROMPTS: RolePrompts = { critic: COMPACT_CRITIC_PROMPT };
