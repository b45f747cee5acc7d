/** A mean and its 95% interval (normal approximation; the mean itself below two values). */
export interface MeanInterval {
  readonly mean: number;
  readonly low: number;
  readonly high: number;
}

/** The mean of `n` values from their sum and sum of squares, with its 95% interval. */
export function meanInterval(sum: number, squares: number, n: number): MeanInterval {
  if (n === 0) return { mean: Number.NaN, low: Number.NaN, high: Number.NaN };
  const mean = sum / n;
  const variance = n > 1 ? Math.max(0, (squares - n * mean * mean) / (n - 1)) : 0;
  const half = 1.959964 * Math.sqrt(variance / n);
  return { mean, low: mean - half, high: mean + half };
}

/** meanInterval of a list of values. */
export function meanIntervalOf(values: readonly number[]): MeanInterval {
  let sum = 0;
  let squares = 0;
  for (const x of values) {
    sum += x;
    squares += x * x;
  }
  return meanInterval(sum, squares, values.length);
}
