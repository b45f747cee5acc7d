export { critic, type CriticInput, type CriticOutput } from './critic.ts';
export { proposer, type ProgramExample, type ProposerInput, type ProposerOutput } from './proposer.ts';
export { ask, defineRole, type Responder, type Role, type RoleAnswer, type RoleName, type RoleReply, type RoleSpec, type RoleTemplates } from './role.ts';
export { modelResponder } from './responder.ts';
export { sneakyGenerator, type SneakyInput, type SneakyOutput } from './sneaky-generator.ts';
export { solver, type SolverInput, type SolverOutput } from './solver.ts';
export { teacher, type QuestionAnswer, type TeacherInput, type TeacherOutput } from './teacher.ts';

import { critic } from './critic.ts';
import { proposer } from './proposer.ts';
import { sneakyGenerator } from './sneaky-generator.ts';
import { solver } from './solver.ts';
import { teacher } from './teacher.ts';

/** The five roles by name, each a factory taking optional template overrides. */
export const roles = { solver, critic, teacher, proposer, 'sneaky-generator': sneakyGenerator } as const;
