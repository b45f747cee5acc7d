export { policyAgent, type Agent, type Decision, type Player, type Policy, type PolicyContext, type PolicyRef } from './agent.ts';
export { runArena, seating, type ArenaOptions } from './arena.ts';
export { playEnvironmentMatch, runEnvironment, type Curriculum, type EnvironmentMatchOptions, type EnvironmentRunOptions } from './environment.ts';
export { INVALID_MOVE_PRESETS, parseInvalidMovePolicy, type InvalidMovePolicy } from './invalid-moves.ts';
export * from './messages.ts';
export { playMatch, type MatchOptions } from './referee.ts';
export { ResultTally, RoleTally, summarize, summarizeRoles, wilsonInterval, type AgentRecord, type RoleRecord } from './summary.ts';
export { pacedMatches, type Backpressure } from './backpressure.ts';
