import type { Environment } from '../src/core/index.ts';
import { absoluteZeroEntry } from './absolute-zero/index.ts';
import { creatorSolverEntry } from './creator-solver/index.ts';
import { selfPlayCriticEntry } from './self-play-critic/index.ts';
import { teacherStudentEntry } from './teacher-student/index.ts';

export { createAbsoluteZero, Executor, EXEC_ERROR_KINDS, type AbsoluteZeroEnvironment, type AbsoluteZeroOptions, type ExecLimits, type ExecResult, type JsonValue } from './absolute-zero/index.ts';
export { createCreatorSolver, readPreferencePairs, writePreferencePairs, type CreatorSolverEnvironment, type CreatorSolverOptions, type PreferencePair } from './creator-solver/index.ts';
export { createSelfPlayCritic, type SelfPlayCriticOptions } from './self-play-critic/index.ts';
export { createTeacherStudent, SimulatedStudent, type Student, type TeacherStudentEnvironment, type TeacherStudentOptions } from './teacher-student/index.ts';

/** Options from the command line (`--param key=value`), as strings; each environment reads and checks its own. */
export type EnvironmentOptions = Readonly<Record<string, string>>;

export interface EnvironmentEntry {
  readonly description: string;
  /** The options it reads, with their defaults, for `--help`. */
  readonly options: Readonly<Record<string, string>>;
  create(options: EnvironmentOptions): Environment | Promise<Environment>;
}

/** Environments by name. Adding one is a folder in environments/ and a line here. */
export const environments: Readonly<Record<string, EnvironmentEntry>> = {
  'absolute-zero': absoluteZeroEntry,
  'creator-solver': creatorSolverEntry,
  'self-play-critic': selfPlayCriticEntry,
  'teacher-student': teacherStudentEntry,
};
