import { z } from 'zod';
import { ConfigError, type Environment, type Game, type Rng } from '../../src/core/index.ts';
import type { EnvironmentEntry, EnvironmentOptions } from '../entry.ts';
import { checkOptions, numberOption } from '../options.ts';
import { readSnapshot } from '../readers.ts';
import { FAMILIES } from './families.ts';
import type { TaskFamily } from './family.ts';
import { creatorSolverGame, matchReturns, replay, type CreatorSolverAction, type CreatorSolverState } from './game.ts';
import { pairSchema, preferencePair, type PreferencePair } from './pairs.ts';
import { addToPool, entryKey, initialPool, poolSummary, selectParent, type PoolEntry } from './pool.ts';
import { scriptedCreator, scriptedSolver } from './scripted.ts';

export { FAMILIES, solveFromText } from './families.ts';
export type { ParamSpec, TaskFamily, TaskParams } from './family.ts';
export { creatorSolverGame, resolveProposal, type ChildTask, type CreatorSolverState } from './game.ts';
export { preferencePair, readPreferencePairs, writePreferencePairs, type PreferencePair } from './pairs.ts';
export { addToPool, proportionalIndex, selectParent, type PoolEntry } from './pool.ts';
export { informativeness } from './rewards.ts';
export { scriptedCreator, scriptedSolver } from './scripted.ts';

export interface CreatorSolverOptions {
  /** Solver seats per match: responses sampled per prompt (default 4, 2 to 64). */
  readonly samples?: number;
  /** The most prompts the pool keeps; the least informative is evicted (default 32). */
  readonly poolSize?: number;
  /** Added to every entry's informativeness when drawing a parent, so unmeasured entries can be drawn (default 0.05). */
  readonly epsilon?: number;
  /** The task families to start the pool from (default all: sum, sort, count-letter, gcd). */
  readonly families?: readonly string[];
}

/** The creator-solver environment, with its pool and preference pairs readable. */
export interface CreatorSolverEnvironment extends Environment {
  /** The preference pairs recorded so far (best and worst response of each prompt), in match order. */
  preferencePairs(): readonly PreferencePair[];
  /** The prompt pool as it stands. */
  pool(): readonly PoolEntry[];
}

const DEFAULTS = { samples: 4, poolSize: 32, epsilon: 0.05 } as const;

const count = z.number().int().nonnegative();
const snapshotShape = z
  .object({
    pool: z.array(z.object({ family: z.string(), params: z.record(z.string(), z.number()), informativeness: z.number(), measurements: count, updated: z.number().int() }).strict()).min(1),
    pairs: z.array(pairSchema),
    recorded: count,
    invalidProposals: count,
    clamped: count,
  })
  .strict();

const round = (x: number) => Math.round(x * 10_000) / 10_000;

function checkNumber(name: string, value: number, min: number, max: number, integer: boolean): void {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new ConfigError(`creator-solver: ${name} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, not ${value}`);
  }
}

function familiesNamed(names: readonly string[] | undefined): TaskFamily[] {
  if (names === undefined) return Object.values(FAMILIES);
  if (names.length === 0) throw new ConfigError('creator-solver: families must name at least one family');
  return [...new Set(names)].map((name) => {
    const family = FAMILIES[name];
    if (!family) throw new ConfigError(`creator-solver: no task family "${name}"; families: ${Object.keys(FAMILIES).join(', ')}`);
    return family;
  });
}

/**
 * eva-style creator and solver: a creator evolves prompts from a pool of
 * parameterised task families towards the ones most informative for the
 * solver (best of n sampled rewards minus their mean); each prompt's best and
 * worst responses become a preference pair.
 */
export function createCreatorSolver(options: CreatorSolverOptions = {}): CreatorSolverEnvironment {
  const samples = options.samples ?? DEFAULTS.samples;
  const poolSize = options.poolSize ?? DEFAULTS.poolSize;
  const epsilon = options.epsilon ?? DEFAULTS.epsilon;
  checkNumber('samples', samples, 2, 64, true);
  checkNumber('poolSize', poolSize, 1, 100_000, true);
  checkNumber('epsilon', epsilon, 1e-6, 10, false);
  const families = familiesNamed(options.families);

  let pool: PoolEntry[] = initialPool(families);
  const pairs: PreferencePair[] = [];
  let recorded = 0;
  let invalidProposals = 0;
  let clamped = 0;

  return {
    id: 'creator-solver',
    description: `eva-style creator and solver: the creator evolves prompts from ${families.map((f) => f.name).join(', ')} towards those most informative for ${samples} solver samples`,
    roles: ['creator', ...Array.from({ length: samples }, () => 'solver')],

    categories: families.map((f) => f.name),

    nextGame(rng: Rng, category?: string): Game {
      if (category !== undefined && !families.some((f) => f.name === category)) throw new ConfigError(`creator-solver: no task family "${category}" in this run; its families: ${families.map((f) => f.name).join(', ')}`);
      // A family the pool has lost (every entry evicted) starts again from its first task.
      const candidates = category === undefined ? pool : pool.filter((e) => e.family === category);
      const parent = selectParent(candidates.length ? candidates : initialPool([FAMILIES[category!]]), epsilon, rng.split('parent'));
      const family = FAMILIES[parent.family];
      return creatorSolverGame({ family, parent, samples, seed: rng.split('task').nextUint32() });
    },

    record(match) {
      if (match.outcome !== 'normal') return;
      const family = FAMILIES[String(match.game.params.family)];
      if (!family) return;
      const state = replay(match.game as Game<CreatorSolverState, CreatorSolverAction>, match.history);
      if (!state.child || state.answers.length === 0) return;
      recorded++;
      const { creator, solvers } = matchReturns(family, state);
      if (state.child.valid) {
        pool = addToPool(pool, { family: family.name, params: state.child.params, informativeness: creator }, poolSize, recorded);
        if (state.child.clamped) clamped++;
      } else {
        invalidProposals++;
      }
      // A model's whole reply is the better training text; scripted solvers have only their answer.
      const firstAnswer = match.history.length - state.answers.length;
      const responses = state.answers.map((a, i) => ({ text: match.replies?.[firstAnswer + i] ?? ('answer' in a ? a.answer : null), reward: solvers[i] }));
      const pair = preferencePair(state.child.question, family.name, responses);
      if (pair) pairs.push(pair);
    },

    stats() {
      const { mean, max } = poolSummary(pool);
      const best = pool.reduce<PoolEntry | undefined>((b, e) => (b === undefined || e.informativeness > b.informativeness ? e : b), undefined);
      return {
        matches: recorded,
        pool: pool.length,
        meanInformativeness: round(mean),
        maxInformativeness: round(max),
        best: best ? entryKey(best.family, best.params) : '',
        pairs: pairs.length,
        invalidProposals,
        clampedProposals: clamped,
      };
    },

    snapshot: () => ({ pool, pairs, recorded, invalidProposals, clamped }),

    restore(saved) {
      const state = readSnapshot('creator-solver', snapshotShape, saved);
      const unknown = state.pool.find((e) => !FAMILIES[e.family]);
      if (unknown) throw new ConfigError(`creator-solver: the saved pool has a task of family "${unknown.family}", which does not exist`);
      pool = state.pool;
      pairs.splice(0, pairs.length, ...state.pairs);
      ({ recorded, invalidProposals, clamped } = state);
    },

    scripted: { creator: scriptedCreator, solver: scriptedSolver },

    preferencePairs: () => pairs.slice(),
    pool: () => pool.slice(),
  };
}

/** The registry entry: options from the command line as strings. */
export const creatorSolverEntry: EnvironmentEntry = {
  description: 'eva-style creator and solver: prompts evolved towards the most informative for the solver, with preference pairs for DPO',
  options: {
    samples: 'solver samples per prompt, 2 to 64 (4)',
    pool_size: 'prompts the pool keeps, the least informative evicted (32)',
    epsilon: 'added to informativeness when drawing a parent (0.05)',
    families: `task families, comma-separated (${Object.keys(FAMILIES).join(',')})`,
  },
  create: (options: EnvironmentOptions) => {
    checkOptions('creator-solver', options, ['samples', 'pool_size', 'epsilon', 'families']);
    return createCreatorSolver({
      samples: numberOption('creator-solver', options, 'samples', DEFAULTS.samples, { min: 2, max: 64, integer: true }),
      poolSize: numberOption('creator-solver', options, 'pool_size', DEFAULTS.poolSize, { min: 1, max: 100_000, integer: true }),
      epsilon: numberOption('creator-solver', options, 'epsilon', DEFAULTS.epsilon, { min: 1e-6, max: 10 }),
      ...(options.families === undefined ? {} : { families: options.families.split(',').map((f) => f.trim()).filter((f) => f !== '') }),
    });
  },
};
