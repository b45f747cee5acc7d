import { z } from 'zod';
import { ConfigError, type Environment, type EnvironmentMatch, type Rng } from '../../src/core/index.ts';
import type { EnvironmentEntry, EnvironmentOptions } from '../entry.ts';
import { checkOptions, numberOption } from '../options.ts';
import { readSnapshot } from '../readers.ts';
import { Executor, type ExecLimits } from './executor.ts';
import { absoluteZeroGame, type AbsoluteZeroState } from './game.ts';
import { CachedRunner } from './judge.ts';
import { DEFAULT_REWARDS, type AbsoluteZeroRewards } from './rewards.ts';
import { scriptedProposer, scriptedSolver } from './scripted.ts';
import { seedTask, TASK_TYPES, type Task, type TaskType } from './tasks.ts';

export { absoluteZeroGame, type AbsoluteZeroState, type ProposerObservation, type SolverObservation } from './game.ts';
export { Executor, EXEC_ERROR_KINDS, type ExecErrorKind, type ExecLimits, type ExecResult, type JsonValue } from './executor.ts';
export { judgeAnswer, validateProposal, CachedRunner } from './judge.ts';
export { DEFAULT_REWARDS, proposerReward, solverReward, type AbsoluteZeroRewards, type Verdict } from './rewards.ts';
export { question, seedTask, TASK_TYPES, type Task, type TaskType } from './tasks.ts';

export interface AbsoluteZeroOptions {
  /** Solver samples per task, from which the solve rate is estimated (default 4). */
  readonly solvers?: number;
  /** Reference tasks shown to the proposer (default 3). */
  readonly references?: number;
  /** Task types drawn from, uniformly (default all three). */
  readonly types?: readonly TaskType[];
  /** Tasks kept per type, oldest dropped first; the identity seed stays (default 512). */
  readonly bufferSize?: number;
  readonly rewards?: Partial<AbsoluteZeroRewards>;
  /** Executor limits for every run (defaults: the executor's). */
  readonly limits?: ExecLimits;
  /** Scripted solver: chance of really trying (default 0.7), or per task type, asked at each attempt (a solver that improves with practice). */
  readonly solverSkill?: number | ((type: TaskType) => number);
  /** Scripted proposer: share of broken programs (default 0.1). */
  readonly brokenRate?: number;
  /** An executor to share; by default one is made (and loads QuickJS). */
  readonly executor?: Executor;
}

export interface AbsoluteZeroEnvironment extends Environment {
  /** The task buffers, per type. */
  readonly buffers: Readonly<Record<TaskType, readonly Task[]>>;
}

const taskShape = z.object({ type: z.enum(TASK_TYPES), program: z.string(), inputs: z.array(z.array(z.unknown())), outputs: z.array(z.unknown()) }).strict();
const count = z.number().int().nonnegative();
const snapshotShape = z
  .object({
    buffers: z.object({ deduction: z.array(taskShape).min(1), abduction: z.array(taskShape).min(1), induction: z.array(taskShape).min(1) }).strict(),
    counts: z.object({ matches: count, valid: count, solved: count, attempts: count }).strict(),
  })
  .strict();

/** Absolute Zero: a proposer writes JavaScript tasks of three types, solvers solve them, a QuickJS sandbox verifies both. */
export async function createAbsoluteZero(options: AbsoluteZeroOptions = {}): Promise<AbsoluteZeroEnvironment> {
  const solvers = options.solvers ?? 4;
  const referenceCount = options.references ?? 3;
  const types = options.types ?? TASK_TYPES;
  const bufferSize = options.bufferSize ?? 512;
  if (!Number.isInteger(solvers) || solvers < 1) throw new ConfigError(`absolute-zero: solvers must be a whole number >= 1, not ${solvers}`);
  if (types.length === 0 || types.some((t) => !TASK_TYPES.includes(t))) throw new ConfigError(`absolute-zero: types must be some of ${TASK_TYPES.join(', ')}`);
  const rewards = { ...DEFAULT_REWARDS, ...options.rewards };
  const executor = options.executor ?? (await Executor.create(options.limits));
  const limits = options.limits ?? {};
  const buffers: Record<TaskType, Task[]> = { deduction: [seedTask('deduction')], abduction: [seedTask('abduction')], induction: [seedTask('induction')] };
  const counts = { matches: 0, valid: 0, solved: 0, attempts: 0 };

  const references = (type: TaskType, rng: Rng): Task[] => {
    const pool = [...buffers[type]];
    const chosen: Task[] = [];
    while (chosen.length < referenceCount && pool.length) chosen.push(pool.splice(rng.int(pool.length), 1)[0]);
    return chosen;
  };

  return {
    id: 'absolute-zero',
    description: 'Absolute Zero: a proposer writes JavaScript tasks (deduction, abduction, induction) that are hard but solvable; n solver samples try each; a QuickJS sandbox checks tasks and answers.',
    roles: ['proposer', ...new Array<string>(solvers).fill('solver')],
    buffers,
    categories: types,
    nextGame: (rng, category) => {
      if (category !== undefined && !(types as readonly string[]).includes(category)) throw new ConfigError(`absolute-zero: no task type "${category}" in this run; its types: ${types.join(', ')}`);
      const type = (category as TaskType | undefined) ?? rng.pick(types);
      return absoluteZeroGame({ type, references: references(type, rng), solvers, rewards, runner: new CachedRunner(executor, limits) });
    },
    record: ({ game, history, outcome }: EnvironmentMatch) => {
      counts.matches++;
      if (outcome !== 'normal') return;
      let state = game.initial() as AbsoluteZeroState;
      for (const action of history) state = game.apply(state, action);
      if (!state.proposal?.valid) return;
      const task = (state.proposal as { task: Task }).task;
      counts.valid++;
      counts.attempts += state.verdicts.length;
      counts.solved += state.verdicts.filter((v) => v === 'correct').length;
      const buffer = buffers[task.type];
      buffer.push(task);
      if (buffer.length > bufferSize) buffer.splice(1, 1);
    },
    stats: () => ({
      matches: counts.matches,
      'valid tasks': counts.valid,
      'solve rate': counts.attempts ? Math.round((counts.solved / counts.attempts) * 1000) / 1000 : 0,
      ...Object.fromEntries(TASK_TYPES.map((t) => [`${t} buffer`, buffers[t].length])),
    }),
    snapshot: () => ({ buffers, counts }),
    restore: (saved) => {
      const state = readSnapshot('absolute-zero', snapshotShape, saved);
      for (const type of TASK_TYPES) buffers[type].splice(0, buffers[type].length, ...(state.buffers[type] as Task[]));
      Object.assign(counts, state.counts);
    },
    scripted: { proposer: scriptedProposer(options.brokenRate ?? 0.1), solver: scriptedSolver(executor, options.solverSkill ?? 0.7) },
  };
}

function parseTypes(raw: string | undefined): TaskType[] | undefined {
  if (raw === undefined) return undefined;
  const types = raw.split('+').map((t) => t.trim());
  const bad = types.filter((t) => !(TASK_TYPES as readonly string[]).includes(t));
  if (bad.length) throw new ConfigError(`absolute-zero: unknown task type ${bad.map((t) => `"${t}"`).join(', ')}; types: ${TASK_TYPES.join(', ')} (join several with +)`);
  return types as TaskType[];
}

export const absoluteZeroEntry: EnvironmentEntry = {
  description: 'proposer/solver with a QuickJS code executor (Absolute Zero)',
  options: {
    solvers: 'solver samples per task (4)',
    references: 'reference tasks shown to the proposer (3)',
    types: 'task types, joined with + (deduction+abduction+induction)',
    timeout_ms: 'executor time limit per run (1000)',
    memory_mb: 'executor memory limit (32)',
    solver_skill: 'scripted solver: chance of really trying (0.7)',
  },
  create: (options: EnvironmentOptions) => {
    checkOptions('absolute-zero', options, Object.keys(absoluteZeroEntry.options));
    const name = 'absolute-zero';
    return createAbsoluteZero({
      solvers: numberOption(name, options, 'solvers', 4, { min: 1, max: 64, integer: true }),
      references: numberOption(name, options, 'references', 3, { min: 0, max: 32, integer: true }),
      types: parseTypes(options.types),
      limits: { timeoutMs: numberOption(name, options, 'timeout_ms', 1000, { min: 1, max: 60_000, integer: true }), memoryMb: numberOption(name, options, 'memory_mb', 32, { min: 1, max: 1024, integer: true }) },
      solverSkill: numberOption(name, options, 'solver_skill', 0.7, { min: 0, max: 1 }),
    });
  },
};
