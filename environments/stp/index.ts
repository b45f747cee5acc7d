import { z } from 'zod';
import { ConfigError, replay, type Environment, type Game, type Rng } from '../../src/core/index.ts';
import type { EnvironmentEntry, EnvironmentOptions } from '../entry.ts';
import { checkOptions, numberOption } from '../options.ts';
import { readSnapshot } from '../readers.ts';
import type { CheckLimits } from './checker.ts';
import { conjecturerReward, stpGame, type StpAction, type StpState } from './game.ts';
import { FormulaError, Formulas, isValidSequent, parseSequent, showSequent } from './logic.ts';
import { scriptedConjecturer, scriptedProver } from './scripted.ts';

export { checkProof, type CheckLimits, type CheckResult } from './checker.ts';
export { conjecturerReward, readConjecture, readProof, statementOf, stpGame, SYSTEM, type Statement, type StpAction, type StpMatchSetup, type StpState } from './game.ts';
export { AXIOMS, axiomScheme, FormulaError, Formulas, isValidSequent, parseFormula, parseSequent, showSequent, type Sequent } from './logic.ts';
export { scriptedConjecturer, scriptedProver } from './scripted.ts';
export { searchProof, type SearchOptions } from './search.ts';

/** Classic theorems of the implicational-negation calculus, as sequents. */
export const SEED_THEOREMS: readonly string[] = [
  '|- p -> p',
  'p, p -> q |- q',
  'p |- q -> p',
  'p -> q, q -> r |- p -> r',
  'p -> q -> r |- q -> p -> r',
  'p -> q, p -> q -> r |- p -> r',
  '~p -> ~q |- q -> p',
  '~~p |- p',
  'p |- ~~p',
  '|- ~p -> p -> q',
];

export interface StpOptions {
  /** Prover seats per match (default 4, 1 to 64). */
  readonly provers?: number;
  /** The highest share of provers that may succeed for the conjecture to count as barely provable (default 0.25). */
  readonly maxPassRate?: number;
  /** The most theorems the pool keeps: the seeds, then the newest barely provable conjectures (default 64). */
  readonly poolSize?: number;
  /** The scripted prover's chance of seeing each axiom instance (default 0.5). */
  readonly proverKeep?: number;
  /** The seed theorems (default SEED_THEOREMS). */
  readonly seeds?: readonly string[];
  readonly limits?: CheckLimits;
}

/** What was proved: each statement's provers, passes and shortest checked proof in steps. */
export interface ProvedStatement {
  readonly statement: string;
  readonly attempts: number;
  readonly passes: number;
  readonly shortest: number;
  /** Whether it was a conjecture (not a seed) and barely provable in some match. */
  readonly barely: boolean;
}

export interface StpEnvironment extends Environment {
  /** Every statement some prover proved, most passes first. */
  proved(): readonly ProvedStatement[];
  /** The theorems conjectures are drawn near. */
  pool(): readonly string[];
}

const DEFAULTS = { provers: 4, maxPassRate: 0.25, poolSize: 64, proverKeep: 0.5 } as const;

const count = z.number().int().nonnegative();
const snapshotShape = z
  .object({
    pool: z.array(z.string()),
    proved: z.array(z.tuple([z.string(), z.object({ attempts: count, passes: count, shortest: count, barely: z.boolean() }).strict()])),
    counts: z.object({ matches: count, conjectures: count, unusable: count, invalid: count, provedConjectures: count, barely: count, attempts: count, passes: count }).strict(),
    lastBarely: z.string(),
  })
  .strict();

/**
 * STP (self-play theorem proving): a conjecturer proposes a sequent near a
 * seed theorem; provers try to prove it in a Hilbert system whose checker
 * decides; the conjecturer is rewarded for conjectures that are barely
 * provable, and those join the pool of theorems that later conjectures start from.
 */
export function createStp(options: StpOptions = {}): StpEnvironment {
  const provers = options.provers ?? DEFAULTS.provers;
  const maxPassRate = options.maxPassRate ?? DEFAULTS.maxPassRate;
  const poolSize = options.poolSize ?? DEFAULTS.poolSize;
  const proverKeep = options.proverKeep ?? DEFAULTS.proverKeep;
  const seeds = options.seeds ?? SEED_THEOREMS;
  if (!Number.isInteger(provers) || provers < 1 || provers > 64) throw new ConfigError(`stp: provers must be a whole number from 1 to 64, not ${provers}`);
  if (!(maxPassRate > 0 && maxPassRate <= 1)) throw new ConfigError(`stp: maxPassRate must be in (0, 1], not ${maxPassRate}`);
  if (!Number.isInteger(poolSize) || poolSize < seeds.length) throw new ConfigError(`stp: poolSize must be a whole number of at least the ${seeds.length} seeds, not ${poolSize}`);
  if (!(proverKeep > 0 && proverKeep <= 1)) throw new ConfigError(`stp: proverKeep must be in (0, 1], not ${proverKeep}`);
  if (seeds.length === 0) throw new ConfigError('stp: give at least one seed theorem');
  const canonical = seeds.map((seed) => {
    const table = new Formulas();
    try {
      const sequent = parseSequent(table, seed);
      if (!isValidSequent(table, sequent)) throw new ConfigError(`stp: the seed ${seed} is not a valid sequent (a truth-table row makes its premises true and its conclusion false)`);
      return showSequent(table, sequent);
    } catch (error) {
      if (error instanceof FormulaError) throw new ConfigError(`stp: the seed ${seed} cannot be read: ${error.message}`);
      throw error;
    }
  });

  let pool = [...new Set(canonical)];
  const proved = new Map<string, { attempts: number; passes: number; shortest: number; barely: boolean }>();
  const counts = { matches: 0, conjectures: 0, unusable: 0, invalid: 0, provedConjectures: 0, barely: 0, attempts: 0, passes: 0 };
  let lastBarely = '';

  return {
    id: 'stp',
    description: `STP: a conjecturer proposes sequents near ${seeds.length} seed theorems; ${provers} provers prove them in a Hilbert system; barely provable conjectures are rewarded`,
    roles: ['conjecturer', ...Array.from({ length: provers }, () => 'prover')],
    nextGame: (rng: Rng): Game => stpGame({ seed: pool[rng.int(pool.length)], provers, maxPassRate, limits: options.limits }),
    record(match) {
      if (match.outcome !== 'normal' || match.game.id !== 'stp') return;
      const state = replay(match.game as Game<StpState, StpAction>, match.history as StpAction[]);
      if (!state.statement || state.verdicts.length < provers) return;
      counts.matches++;
      const statement = state.statement;
      if (statement.conjectured) counts.conjectures++;
      else counts.unusable++;
      if (!statement.valid) counts.invalid++;
      const passes = state.verdicts.filter((v) => v.ok).length;
      counts.attempts += provers;
      counts.passes += passes;
      const barely = conjecturerReward(statement, passes, provers, maxPassRate) === 1;
      if (passes > 0) {
        const shortest = Math.min(...state.verdicts.map((v) => (v.ok ? v.steps : Infinity)));
        const entry = proved.get(statement.text) ?? { attempts: 0, passes: 0, shortest, barely: false };
        proved.set(statement.text, { attempts: entry.attempts + provers, passes: entry.passes + passes, shortest: Math.min(entry.shortest, shortest), barely: entry.barely || barely });
        if (statement.conjectured) counts.provedConjectures++;
      }
      if (barely) {
        counts.barely++;
        lastBarely = statement.text;
        const seeded = new Set(canonical).size;
        const added = pool.slice(seeded);
        if (!pool.includes(statement.text)) pool = [...pool.slice(0, seeded), ...[...added, statement.text].slice(Math.max(0, added.length + 1 - (poolSize - seeded)))];
      }
    },
    stats: () => ({
      matches: counts.matches,
      conjectures: counts.conjectures,
      unusableConjectures: counts.unusable,
      invalidStatements: counts.invalid,
      provedConjectures: counts.provedConjectures,
      barelyProvable: counts.barely,
      distinctProved: proved.size,
      proofRate: counts.attempts ? counts.passes / counts.attempts : 0,
      pool: pool.length,
      lastBarelyProvable: lastBarely,
    }),
    snapshot: () => ({ pool, proved: [...proved], counts, lastBarely }),
    restore(saved) {
      const state = readSnapshot('stp', snapshotShape, saved);
      const seeded = [...new Set(canonical)];
      if (state.pool.slice(0, seeded.length).join('\n') !== seeded.join('\n')) throw new ConfigError('stp: the saved pool does not start with this run\'s seed theorems');
      pool = state.pool;
      proved.clear();
      for (const [statement, entry] of state.proved) proved.set(statement, entry);
      Object.assign(counts, state.counts);
      lastBarely = state.lastBarely;
    },
    scripted: { conjecturer: scriptedConjecturer, prover: scriptedProver(proverKeep) },
    proved: () => [...proved].map(([statement, e]) => ({ statement, ...e })).sort((a, b) => b.passes - a.passes || a.statement.localeCompare(b.statement)),
    pool: () => pool.slice(),
  };
}

const OPTIONS = ['provers', 'max_pass_rate', 'pool_size', 'prover_keep'] as const;

/** The registry entry: options from the command line as strings. */
export const stpEntry: EnvironmentEntry = {
  description: 'STP self-play theorem proving: conjectures near seed theorems of propositional logic, proofs in a Hilbert system checked exactly, barely provable conjectures rewarded',
  options: {
    provers: 'prover seats per match, 1 to 64 (4)',
    max_pass_rate: 'highest share of provers that may succeed for a conjecture to be barely provable (0.25)',
    pool_size: 'theorems kept to conjecture near: the seeds, then the newest barely provable conjectures (64)',
    prover_keep: 'scripted prover: chance of seeing each axiom instance in its search (0.5)',
  },
  create: (raw: EnvironmentOptions) => {
    checkOptions('stp', raw, OPTIONS);
    return createStp({
      provers: numberOption('stp', raw, 'provers', DEFAULTS.provers, { min: 1, max: 64, integer: true }),
      maxPassRate: numberOption('stp', raw, 'max_pass_rate', DEFAULTS.maxPassRate, { min: 0.001, max: 1 }),
      poolSize: numberOption('stp', raw, 'pool_size', DEFAULTS.poolSize, { min: SEED_THEOREMS.length, max: 100_000, integer: true }),
      proverKeep: numberOption('stp', raw, 'prover_keep', DEFAULTS.proverKeep, { min: 0.001, max: 1 }),
    });
  },
};
