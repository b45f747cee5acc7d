import { ConfigError, type Environment, type Rng } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import type { Curriculum } from '../runtime/index.ts';
import { groupNormalizedAdvantages } from './advantages.ts';
import type { Sample } from './samples.ts';

export interface SecOptions {
  /** Step size of the TD(0) update of a category's value (default 0.5). */
  readonly alpha?: number;
  /** Temperature of the Boltzmann choice among categories (default 0.25; lower is greedier). */
  readonly temperature?: number;
}

/** A category's value, its choice probability, and how many matches it was chosen for. */
export interface SecArm {
  readonly value: number;
  readonly probability: number;
  readonly chosen: number;
}

/**
 * SEC, the self-evolving curriculum (Chen et al., 2025): which task category
 * to train on next is a non-stationary bandit. Each category's value Q moves
 * by TD(0) towards its reward, the mean absolute advantage of its samples in
 * the last batch (how much the policy still learns there: near 0 where it
 * always or never succeeds), `Q <- alpha * reward + (1 - alpha) * Q`; matches
 * are drawn in proportion to exp(Q / temperature). A category with no
 * samples in a batch keeps its value.
 */
export class SecCurriculum implements Curriculum {
  readonly alpha: number;
  readonly temperature: number;
  private readonly values: Map<string, number>;
  private readonly chosen: Map<string, number>;

  constructor(
    readonly categories: readonly string[],
    options: SecOptions = {},
  ) {
    this.alpha = options.alpha ?? 0.5;
    this.temperature = options.temperature ?? 0.25;
    if (categories.length === 0) throw new RangeError('SEC needs at least one category');
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new RangeError(`SEC's alpha must be in (0, 1], not ${this.alpha}`);
    if (!(this.temperature > 0 && Number.isFinite(this.temperature))) throw new RangeError(`SEC's temperature must be a positive number, not ${this.temperature}`);
    this.values = new Map(categories.map((c) => [c, 0]));
    this.chosen = new Map(categories.map((c) => [c, 0]));
  }

  /** The choice probabilities, in `categories` order. */
  probabilities(): number[] {
    const scaled = this.categories.map((c) => this.values.get(c)! / this.temperature);
    const top = Math.max(...scaled);
    const weights = scaled.map((x) => Math.exp(x - top));
    const total = weights.reduce((a, b) => a + b, 0);
    return weights.map((w) => w / total);
  }

  choose(rng: Rng): string {
    const category = this.categories[rng.weighted(this.probabilities())];
    this.chosen.set(category, this.chosen.get(category)! + 1);
    return category;
  }

  /** One TD(0) step for each category with advantages in `batch` (their absolute values count); the rewards used. */
  update(batch: ReadonlyMap<string, readonly number[]>): Record<string, number> {
    const rewards: Record<string, number> = {};
    for (const [category, magnitudes] of batch) {
      const value = this.values.get(category);
      if (value === undefined || magnitudes.length === 0) continue;
      const reward = magnitudes.reduce((a, b) => a + Math.abs(b), 0) / magnitudes.length;
      this.values.set(category, this.alpha * reward + (1 - this.alpha) * value);
      rewards[category] = reward;
    }
    return rewards;
  }

  arms(): Record<string, SecArm> {
    const p = this.probabilities();
    return Object.fromEntries(this.categories.map((c, i) => [c, { value: this.values.get(c)!, probability: p[i], chosen: this.chosen.get(c)! }]));
  }

  /** What a checkpoint keeps; `restore` takes it back. */
  save(): { values: Record<string, number>; chosen: Record<string, number> } {
    return { values: Object.fromEntries(this.values), chosen: Object.fromEntries(this.chosen) };
  }

  restore(saved: { values: Record<string, number>; chosen: Record<string, number> }): void {
    for (const c of this.categories) {
      this.values.set(c, saved.values[c] ?? 0);
      this.chosen.set(c, saved.chosen[c] ?? 0);
    }
  }
}

/** SEC over an environment's task categories; a ConfigError, naming `option`, when it has none or the options are out of range. */
export function secCurriculumFor(environment: Environment, options: SecOptions, option = '--curriculum sec'): SecCurriculum {
  if (!environment.categories?.length) throw new ConfigError(`${option}: ${environment.id} has no task categories to choose among (absolute-zero, creator-solver and sppo have)`);
  try {
    return new SecCurriculum(environment.categories, options);
  } catch (error) {
    if (error instanceof RangeError) throw new ConfigError(`${option}: ${error.message}`);
    throw error;
  }
}

const categoryOf = (episode: Episode): string | undefined => {
  const type = episode.game.params.taskType;
  return type === undefined ? undefined : String(type);
};

/** The absolute advantages of a batch's samples, by their episode's category (`params.taskType`). */
export function sampleMagnitudes(samples: readonly Sample[], episodes: readonly Episode[]): Map<string, number[]> {
  const category = new Map(episodes.map((e) => [e.id, categoryOf(e)]));
  const out = new Map<string, number[]>();
  for (const sample of samples) {
    const c = category.get(sample.episodeId);
    if (c !== undefined) out.set(c, [...(out.get(c) ?? []), Math.abs(sample.advantage)]);
  }
  return out;
}

/**
 * The absolute advantages of the seats of `role` in a batch of episodes, from
 * their returns normalised per category (TRR++'s advantages, without a
 * learner's samples): what SEC learns from when the role is played by an
 * agent that is not trained through samples (a scripted learner).
 */
export function returnMagnitudes(episodes: readonly Episode[], role: string): Map<string, number[]> {
  const rows: { category: string; reward: number }[] = [];
  for (const episode of episodes) {
    const category = categoryOf(episode);
    if (category === undefined || episode.outcome !== 'normal') continue;
    const acted = new Set(episode.steps.map((s) => s.seat));
    episode.players.forEach((player, seat) => {
      if (player.role === role && acted.has(seat)) rows.push({ category, reward: episode.returns[seat] });
    });
  }
  const advantages = groupNormalizedAdvantages(rows.map((r) => r.reward), rows.map((r) => r.category));
  const out = new Map<string, number[]>();
  rows.forEach((row, i) => out.set(row.category, [...(out.get(row.category) ?? []), Math.abs(advantages[i])]));
  return out;
}
