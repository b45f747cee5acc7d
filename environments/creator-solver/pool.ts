import type { Rng } from '../../src/core/index.ts';
import type { TaskParams } from './family.ts';

/** A prompt in the creator's pool: a family's parameters and how informative its tasks were. */
export interface PoolEntry {
  readonly family: string;
  readonly params: TaskParams;
  /** The mean informativeness of its measurements (0 before any). */
  readonly informativeness: number;
  /** How many matches measured it (0 for the initial entries). */
  readonly measurements: number;
  /** The recorded match that last measured it (-1: initial); the older goes first among equally informative entries. */
  readonly updated: number;
}

/** Identifies a prompt: the family and its parameters in name order. */
export const entryKey = (family: string, params: TaskParams): string =>
  `${family}:${Object.keys(params)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join(',')}`;

/**
 * The index that `u` in [0, 1) lands on when [0, 1) is cut into pieces in
 * proportion to the weights (uniform when they sum to 0).
 */
export function proportionalIndex(weights: readonly number[], u: number): number {
  if (weights.length === 0) throw new RangeError('cannot choose from no weights');
  const total = weights.reduce((a, w) => a + w, 0);
  if (!(total > 0)) return Math.min(weights.length - 1, Math.floor(u * weights.length));
  let target = u * total;
  for (let i = 0; i < weights.length - 1; i++) {
    target -= weights[i];
    if (target < 0) return i;
  }
  return weights.length - 1;
}

/** Each entry's selection weight: its informativeness plus `epsilon`, so unmeasured and uninformative entries can still be drawn. */
export const selectionWeights = (pool: readonly PoolEntry[], epsilon: number): number[] => pool.map((e) => e.informativeness + epsilon);

/** A parent drawn with probability proportional to its informativeness plus `epsilon`. */
export function selectParent(pool: readonly PoolEntry[], epsilon: number, rng: Rng): PoolEntry {
  return pool[proportionalIndex(selectionWeights(pool, epsilon), rng.next())];
}

/** The initial pool: one unmeasured entry per family. */
export const initialPool = (families: readonly { name: string; start: TaskParams }[]): PoolEntry[] =>
  families.map((f) => ({ family: f.name, params: f.start, informativeness: 0, measurements: 0, updated: -1 }));

/**
 * The pool after one measurement of a child: an entry already there with the
 * same family and parameters takes the running mean, else the child joins;
 * then, while the pool is over `capacity`, the least informative entry (the
 * least recently measured among equals) is evicted, the child included.
 */
export function addToPool(
  pool: readonly PoolEntry[],
  child: { readonly family: string; readonly params: TaskParams; readonly informativeness: number },
  capacity: number,
  time: number,
): PoolEntry[] {
  const key = entryKey(child.family, child.params);
  const at = pool.findIndex((e) => entryKey(e.family, e.params) === key);
  let next: PoolEntry[];
  if (at >= 0) {
    const old = pool[at];
    const measurements = old.measurements + 1;
    const informativeness = old.informativeness + (child.informativeness - old.informativeness) / measurements;
    next = pool.map((e, i) => (i === at ? { ...old, informativeness, measurements, updated: time } : e));
  } else {
    next = [...pool, { family: child.family, params: { ...child.params }, informativeness: child.informativeness, measurements: 1, updated: time }];
  }
  while (next.length > capacity) {
    let worst = 0;
    for (let i = 1; i < next.length; i++) {
      const [a, b] = [next[i], next[worst]];
      if (a.informativeness < b.informativeness || (a.informativeness === b.informativeness && a.updated < b.updated)) worst = i;
    }
    next = next.filter((_, i) => i !== worst);
  }
  return next;
}

/** The pool's mean and largest informativeness (0 when empty). */
export function poolSummary(pool: readonly PoolEntry[]): { mean: number; max: number } {
  if (pool.length === 0) return { mean: 0, max: 0 };
  const values = pool.map((e) => e.informativeness);
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, max: Math.max(...values) };
}
