export { answerer } from './answerer.ts';
export { conjecturer } from './conjecturer.ts';
export { creator } from './creator.ts';
export { COMPACT_CRITIC_PROMPT, critic, CRITIC_VERDICTS } from './critic.ts';
export { helpfulProver } from './helpful-prover.ts';
export { proposer } from './proposer.ts';
export { prover } from './prover.ts';
export { reasoner } from './reasoner.ts';
export { environmentPlayers, scriptedAgent } from '../environment.ts';
export { roleAgent } from './agent.ts';
export { ask, defineRole, type Responder, type Role, type RoleAnswer, type RoleName, type RolePrompts, type RoleReply, type RoleSpec, type RoleTemplates } from './role.ts';
export { modelResponder } from './responder.ts';
export { sneakyGenerator } from './sneaky-generator.ts';
export { solver } from './solver.ts';
export { teacher } from './teacher.ts';
export type { AnswererInput, AnswererOutput, ConjecturerInput, ConjecturerOutput, CreatorInput, CreatorOutput, CriticInput, CriticOutput, HelpfulOutput, ProgramExample, ProposerInput, ProposerOutput, ProverInput, ProverOutput, QuestionAnswer, ReasonerInput, ReasonerOutput, SneakyInput, SneakyOutput, SolverInput, SolverOutput, TeacherInput, TeacherOutput } from '../../src/core/index.ts';

export { COMPACT_ROLE_PROMPTS, roles } from './registry.ts';
