/**
 * Advantage estimators: small pure functions from returns to advantages, as the
 * self-play literature defines them.
 */

/** SPIRAL's decay for the role-conditioned baseline. */
export const RAE_DECAY = 0.95;

/**
 * Role-conditioned advantage estimation (SPIRAL): one baseline per (game, role),
 * an exponential moving average of that role's returns starting at 0. For each
 * finished game and role, read the baseline b, then fold the return R into it;
 * the advantage of every turn that role played in that game is R - b.
 */
export class RoleBaselines {
  private readonly values = new Map<string, number>();

  constructor(readonly decay = RAE_DECAY) {
    if (!(decay >= 0 && decay < 1)) throw new RangeError(`the baseline decay must lie in [0, 1), not ${decay}`);
  }

  /** R - b for this game and role, then b <- decay * b + (1 - decay) * R. */
  advantage(game: string, role: string | number, ret: number): number {
    const key = `${game}\u0000${role}`;
    const baseline = this.values.get(key) ?? 0;
    this.values.set(key, this.decay * baseline + (1 - this.decay) * ret);
    return ret - baseline;
  }

  /** `advantage` for a run of games in order, for one role: out[i] gets returns[i] - b before game i. */
  advantagesInOrder(game: string, role: string | number, returns: ArrayLike<number>, out: { [i: number]: number }): void {
    const key = `${game}\u0000${role}`;
    let baseline = this.values.get(key) ?? 0;
    for (let i = 0; i < returns.length; i++) {
      out[i] = returns[i] - baseline;
      baseline = this.decay * baseline + (1 - this.decay) * returns[i];
    }
    this.values.set(key, baseline);
  }

  baseline(game: string, role: string | number): number {
    return this.values.get(`${game}\u0000${role}`) ?? 0;
  }

  toJSON(): { decay: number; baselines: Record<string, number> } {
    return { decay: this.decay, baselines: Object.fromEntries(this.values) };
  }

  static fromJSON(data: { decay: number; baselines: Record<string, number> }): RoleBaselines {
    const restored = new RoleBaselines(data.decay);
    for (const [key, value] of Object.entries(data.baselines)) restored.values.set(key, value);
    return restored;
  }
}

function mean(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** Sample standard deviation (n - 1 in the denominator), 0 for fewer than two values. */
function std(values: ArrayLike<number>, m: number): number {
  if (values.length < 2) return 0;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (values[i] - m) ** 2;
  return Math.sqrt(sum / (values.length - 1));
}

export interface GrpoOptions {
  /** Divide by the group's standard deviation (GRPO's default); Dr. GRPO leaves it out. */
  readonly scaleByStd?: boolean;
  /** A group whose returns spread less than this carries no signal: all its advantages are 0. */
  readonly epsilon?: number;
}

/** GRPO: each return minus its group's mean, optionally over the group's standard deviation. */
export function grpoAdvantages(returns: ArrayLike<number>, options: GrpoOptions = {}): number[] {
  if (returns.length === 0) return [];
  const m = mean(returns);
  const s = std(returns, m);
  if (s < (options.epsilon ?? 1e-8)) return Array.from(returns, () => 0);
  const scale = options.scaleByStd ?? true ? s : 1;
  return Array.from(returns, (r) => (r - m) / scale);
}

/** RLOO: each return minus the mean of the other returns of its group (0 for a group of one). */
export function rlooAdvantages(returns: ArrayLike<number>): number[] {
  const n = returns.length;
  if (n < 2) return Array.from(returns, () => 0);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += returns[i];
  return Array.from(returns, (r) => r - (sum - r) / (n - 1));
}

/**
 * REINFORCE++ normalised per group, as Absolute Zero's task-relative variant
 * (TRR++) does with one group per (task type, role): each return minus its
 * group's mean over the group's standard deviation (0 where the spread is 0).
 */
export function groupNormalizedAdvantages(returns: readonly number[], groups: readonly string[], epsilon = 1e-8): number[] {
  if (returns.length !== groups.length) throw new RangeError(`${returns.length} returns but ${groups.length} group keys`);
  const members = new Map<string, number[]>();
  groups.forEach((g, i) => {
    const list = members.get(g);
    if (list) list.push(i);
    else members.set(g, [i]);
  });
  const out = new Array<number>(returns.length).fill(0);
  for (const indices of members.values()) {
    const values = indices.map((i) => returns[i]);
    const m = mean(values);
    const s = std(values, m);
    if (s < epsilon) continue;
    for (const i of indices) out[i] = (returns[i] - m) / s;
  }
  return out;
}

/** Keeps the items whose advantage is not 0: they carry no gradient (DAPO's dynamic sampling). */
export function dropZeroAdvantages<T extends { readonly advantage: number }>(items: readonly T[]): T[] {
  return items.filter((item) => item.advantage !== 0);
}
