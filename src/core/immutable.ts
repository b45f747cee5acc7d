/** A copy of `items` with `item` added at the end; the fastest way V8 offers for short arrays. */
export function append<T>(items: readonly T[], item: T): T[] {
  const n = items.length;
  const out = new Array<T>(n + 1);
  for (let i = 0; i < n; i++) out[i] = items[i];
  out[n] = item;
  return out;
}
