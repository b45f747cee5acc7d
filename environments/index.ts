import type { EnvironmentEntry } from './entry.ts';
import { absoluteZeroEntry } from './absolute-zero/index.ts';
import { creatorSolverEntry } from './creator-solver/index.ts';
import { restMctsEntry } from './rest-mcts/index.ts';
import { selfPlayCriticEntry } from './self-play-critic/index.ts';
import { spinEntry } from './spin/index.ts';
import { sppoEntry } from './sppo/index.ts';
import { stpEntry } from './stp/index.ts';
import { teacherStudentEntry } from './teacher-student/index.ts';

export { createAbsoluteZero, Executor, EXEC_ERROR_KINDS, type AbsoluteZeroEnvironment, type AbsoluteZeroOptions, type ExecLimits, type ExecResult, type JsonValue } from './absolute-zero/index.ts';
export { createCreatorSolver, readPreferencePairs, writePreferencePairs, type CreatorSolverEnvironment, type CreatorSolverOptions, type PreferencePair } from './creator-solver/index.ts';
export type { EnvironmentEntry, EnvironmentOptions } from './entry.ts';
export { createRestMcts, restMctsTargets, type RestMctsOptions } from './rest-mcts/index.ts';
export { createSelfPlayCritic, type SelfPlayCriticOptions } from './self-play-critic/index.ts';
export { builtinSpinData, createSpin, readSpinData, type SpinItem, type SpinOptions } from './spin/index.ts';
export { createSppo, winRates, type SppoOptions } from './sppo/index.ts';
export { checkProof, createStp, SEED_THEOREMS, type StpEnvironment, type StpOptions } from './stp/index.ts';
export { createTeacherStudent, SimulatedStudent, type Student, type TeacherStudentEnvironment, type TeacherStudentOptions } from './teacher-student/index.ts';

/** Environments by name. Adding one is a folder in environments/ and a line here. */
export const environments: Readonly<Record<string, EnvironmentEntry>> = {
  'absolute-zero': absoluteZeroEntry,
  'creator-solver': creatorSolverEntry,
  'rest-mcts': restMctsEntry,
  'self-play-critic': selfPlayCriticEntry,
  spin: spinEntry,
  sppo: sppoEntry,
  stp: stpEntry,
  'teacher-student': teacherStudentEntry,
};
