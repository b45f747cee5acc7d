/**
 * Seeded, splittable pseudo-random numbers: sfc32 seeded through splitmix32.
 * Every random choice in selfplay comes from an Rng, so a seed fixes a run.
 */

function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export type Seed = number | string;

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: Seed = 0) {
    const s = typeof seed === 'number' ? seed >>> 0 ^ Math.floor(seed / 0x100000000) : hashString(seed);
    this.a = splitmix32(s);
    this.b = splitmix32(this.a);
    this.c = splitmix32(this.b);
    this.d = splitmix32(this.c);
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** A uniform integer in [0, 2^32). */
  nextUint32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** A uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A copy of `items` in a uniformly random order (Fisher-Yates). */
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  /** A uniform element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** An index drawn with the given (non-negative, summing to ~1) weights. */
  weighted(probabilities: readonly number[]): number {
    let u = this.next();
    const last = probabilities.length - 1;
    for (let i = 0; i < last; i++) {
      u -= probabilities[i];
      if (u < 0) return i;
    }
    return last;
  }

  /** The generator's whole state, to save in a checkpoint and `Rng.restore` later. */
  save(): [number, number, number, number] {
    return [this.a, this.b, this.c, this.d];
  }

  /** A generator that continues exactly where a saved one stood. */
  static restore(state: readonly number[]): Rng {
    if (state.length !== 4 || !state.every((x) => Number.isInteger(x))) throw new TypeError('an Rng state is four integers');
    const rng = new Rng(0);
    [rng.a, rng.b, rng.c, rng.d] = state.map((x) => x | 0);
    return rng;
  }

  /**
   * An independent generator derived from this one's current state and a label,
   * without advancing this one: `split(i)` gives match i its own stream.
   */
  split(label: Seed = 0): Rng {
    const l = typeof label === 'number' ? label >>> 0 : hashString(label);
    const child = new Rng(0);
    child.a = splitmix32(this.a ^ l);
    child.b = splitmix32(this.b ^ child.a);
    child.c = splitmix32(this.c ^ child.b);
    child.d = splitmix32(this.d ^ child.c);
    for (let i = 0; i < 12; i++) child.nextUint32();
    return child;
  }
}
