export { creator, type CreatorInput, type CreatorOutput } from './creator.ts';
export { critic, type CriticInput, type CriticOutput } from './critic.ts';
export { proposer, type ProgramExample, type ProposerInput, type ProposerOutput } from './proposer.ts';
export { environmentPlayers, scriptedAgent } from '../environment.ts';
export { roleAgent } from './agent.ts';
export { ask, defineRole, type Responder, type Role, type RoleAnswer, type RoleName, type RoleReply, type RoleSpec, type RoleTemplates } from './role.ts';
export { modelResponder } from './responder.ts';
export { sneakyGenerator, type SneakyInput, type SneakyOutput } from './sneaky-generator.ts';
export { solver, type SolverInput, type SolverOutput } from './solver.ts';
export { teacher, type QuestionAnswer, type TeacherInput, type TeacherOutput } from './teacher.ts';

export { roles } from './registry.ts';
