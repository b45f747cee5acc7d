import type { Rng } from '../core/index.ts';

/** The indices 0..count-1 in an order `rng` shuffles, cut into minibatches of `size` (the last one may hold fewer). */
export function shuffledMinibatches(count: number, size: number, rng: Rng): number[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`a minibatch holds a whole number of items, 1 or more, not ${size}`);
  const order = rng.shuffle(Array.from({ length: count }, (_, i) => i));
  const minibatches: number[][] = [];
  for (let first = 0; first < order.length; first += size) minibatches.push(order.slice(first, first + size));
  return minibatches;
}
