import { z } from 'zod';
import { compile, type CompiledGame } from '../analysis/compile.ts';
import { policyFromStrategy, normalizeStrategy } from '../analysis/strategy.ts';
import { ConfigError, type Game, type Rng, type TabularPolicy } from '../core/index.ts';
import type { LocalPolicyBackend, PolicyChoice } from './backend.ts';
import { SampleBatch, type Sample } from './samples.ts';

export interface MmdOptions {
  /** Step size of the policy-gradient (mirror-descent) step, on advantages scaled by the largest return (default 2.5). */
  readonly stepSize?: number;
  /** Strength of the KL pull toward the magnet (default 0.5). */
  readonly magnetStrength?: number;
  /** How fast the magnet follows the policy, per update (default 0.02). */
  readonly magnetRate?: number;
}

export interface UpdateMetrics {
  readonly version: number;
  readonly samples: number;
  /** Mean entropy (nats) of the updated policy over the information states. */
  readonly entropy: number;
  readonly advantage: { readonly mean: number; readonly std: number; readonly min: number; readonly max: number };
}

const snapshotSchema = z.object({
  format: z.literal('selfplay.tabular-softmax'),
  version: z.number().int().min(0),
  game: z.string(),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  options: z.object({ stepSize: z.number(), magnetStrength: z.number(), magnetRate: z.number() }),
  logits: z.array(z.number()),
  logMagnet: z.array(z.number()),
  averageWeights: z.array(z.number()),
});
export type TabularSnapshot = z.infer<typeof snapshotSchema>;

/**
 * A tabular softmax policy (logits per information state and action, over a
 * compiled game) trained by magnetic mirror descent: each update is a
 * mirror-descent policy-gradient step on the estimated action values plus a
 * KL pull toward a magnet policy that itself moves slowly toward the policy.
 * Plain self-play gradient cycles in zero-sum games; the magnet makes it converge.
 * It also keeps the average policy (iteration t weighted by t).
 */
export class TabularSoftmax implements LocalPolicyBackend {
  readonly tree: CompiledGame;
  readonly options: Required<MmdOptions>;
  version = 0;
  readonly logits: Float64Array;
  readonly logMagnet: Float64Array;
  /** The current policy (softmax of the logits), per action slot. */
  readonly probabilities: Float64Array;
  private readonly averageWeights: Float64Array;
  private readonly sum: Float64Array;
  private readonly count: Float64Array;
  private readonly slotOf = new Map<string, number>();
  private scratch: SampleBatch | undefined;

  constructor(
    readonly game: Game,
    options: MmdOptions = {},
  ) {
    this.tree = compile(game);
    this.options = { stepSize: options.stepSize ?? 2.5, magnetStrength: options.magnetStrength ?? 0.5, magnetRate: options.magnetRate ?? 0.02 };
    for (const [name, value] of Object.entries(this.options)) {
      if (!(value >= 0 && Number.isFinite(value))) throw new ConfigError(`tabular-softmax: ${name} must be a number >= 0, not ${value}`);
    }
    const slots = this.tree.actionStart[this.tree.infosetCount];
    this.logits = new Float64Array(slots);
    this.logMagnet = new Float64Array(slots);
    this.probabilities = new Float64Array(slots);
    this.averageWeights = new Float64Array(slots);
    this.sum = new Float64Array(slots);
    this.count = new Float64Array(slots);
    this.softmax();
    this.logMagnet.set(this.probabilities.map(Math.log));
  }

  /** Updates from a batch of in-process samples (advantages already set). */
  private updateBatch(batch: SampleBatch): UpdateMetrics {
    const { sum, count } = this;
    sum.fill(0);
    count.fill(0);
    let total = 0;
    let squares = 0;
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < batch.length; i++) {
      const a = batch.advantage[i];
      sum[batch.slot[i]] += a;
      count[batch.slot[i]]++;
      total += a;
      squares += a * a;
      if (a < min) min = a;
      if (a > max) max = a;
    }
    this.step();
    const n = batch.length;
    const mean = n ? total / n : 0;
    return {
      version: this.version,
      samples: n,
      entropy: this.entropy(),
      advantage: { mean, std: n ? Math.sqrt(Math.max(0, squares / n - mean * mean)) : 0, min: n ? min : 0, max: n ? max : 0 },
    };
  }

  act(turn: { readonly infoKey: string; readonly legal: readonly string[] }, rng: Rng): PolicyChoice {
    const weights = turn.legal.map((text) => this.probabilities[this.slot(turn.infoKey, text)]);
    const index = rng.weighted(weights);
    return { action: turn.legal[index], probability: weights[index], version: this.version };
  }

  /** Updates from samples that name their information state and action by text (episodes from anywhere). */
  update(samples: readonly Sample[]): UpdateMetrics;
  update(batch: SampleBatch): UpdateMetrics;
  update(input: SampleBatch | readonly Sample[]): UpdateMetrics {
    return input instanceof SampleBatch ? this.updateBatch(input) : this.updateFromSamples(input);
  }

  private updateFromSamples(samples: readonly Sample[]): UpdateMetrics {
    const batch = (this.scratch ??= new SampleBatch(this.game.seats));
    batch.clear();
    for (const sample of samples) {
      if (sample.infoKey === undefined) throw new ConfigError('tabular-softmax learns from samples with an infoKey');
      batch.push(this.slot(sample.infoKey, sample.action), sample.seat, 0);
      batch.advantage[batch.length - 1] = sample.advantage;
    }
    return this.updateBatch(batch);
  }

  /** The action slot of an information state's action, by the game's texts. */
  slot(infoKey: string, action: string): number {
    if (this.slotOf.size === 0) {
      this.tree.infoKeys.forEach((key, i) => this.tree.actionTexts[i].forEach((text, k) => this.slotOf.set(`${key}\u0000${text}`, this.tree.actionStart[i] + k)));
    }
    const slot = this.slotOf.get(`${infoKey}\u0000${action}`);
    if (slot === undefined) throw new ConfigError(`${this.game.id}: no action ${action} in information state ${JSON.stringify(infoKey)}`);
    return slot;
  }

  /** The average policy so far as a flat strategy (iteration t weighted by t). */
  averageStrategy(): Float64Array {
    if (this.version === 0) return this.probabilities.slice();
    return normalizeStrategy(this.tree, this.averageWeights, new Float64Array(this.averageWeights.length));
  }

  policy(): TabularPolicy {
    return this.currentPolicy();
  }

  currentPolicy(): TabularPolicy {
    return policyFromStrategy(this.tree, this.probabilities);
  }

  averagePolicy(): TabularPolicy {
    return policyFromStrategy(this.tree, this.averageStrategy());
  }

  snapshot(): TabularSnapshot {
    return {
      format: 'selfplay.tabular-softmax',
      version: this.version,
      game: this.game.id,
      params: { ...this.game.params },
      options: { ...this.options },
      logits: Array.from(this.logits),
      logMagnet: Array.from(this.logMagnet),
      averageWeights: Array.from(this.averageWeights),
    };
  }

  /** Restores a snapshot of this game (checked), replacing the whole learner state. */
  load(data: unknown): void {
    const result = snapshotSchema.safeParse(data);
    if (!result.success) throw new ConfigError(`not a tabular-softmax snapshot: ${result.error.issues[0]?.path.join('.')}: ${result.error.issues[0]?.message}`);
    const s = result.data;
    if (s.game !== this.game.id || JSON.stringify(s.params) !== JSON.stringify({ ...this.game.params })) {
      throw new ConfigError(`this snapshot is for ${s.game} ${JSON.stringify(s.params)}, not ${this.game.id} ${JSON.stringify(this.game.params)}`);
    }
    if (s.logits.length !== this.logits.length) throw new ConfigError(`this snapshot has ${s.logits.length} action slots, the game ${this.logits.length}`);
    this.version = s.version;
    this.logits.set(s.logits);
    this.logMagnet.set(s.logMagnet);
    this.averageWeights.set(s.averageWeights);
    this.softmax();
  }

  /**
   * The mirror-descent step in closed form, per information state: with q the
   * mean advantage of each sampled action (the state's mean for unsampled ones),
   * eta the step size over the largest return and alpha the magnet strength,
   * logits <- (logits + eta * q + alpha * eta * log magnet) / (1 + alpha * eta).
   */
  private step(): void {
    const { tree, logits, logMagnet, sum, count, probabilities, averageWeights } = this;
    const { magnetStrength: alpha, magnetRate: beta } = this.options;
    // Advantages in units of the largest return, so one step size suits games of any stakes.
    const [low, high] = this.game.returnRange;
    const eta = this.options.stepSize / Math.max(Math.abs(low), Math.abs(high), 1e-12);
    const shrink = 1 / (1 + alpha * eta);
    for (let i = 0; i < tree.infosetCount; i++) {
      const first = tree.actionStart[i];
      const end = tree.actionStart[i + 1];
      let seen = 0;
      let total = 0;
      for (let s = first; s < end; s++) {
        seen += count[s];
        total += sum[s];
      }
      if (seen === 0) continue;
      const value = total / seen;
      for (let s = first; s < end; s++) {
        const q = count[s] > 0 ? sum[s] / count[s] : value;
        logits[s] = (logits[s] + eta * q + alpha * eta * logMagnet[s]) * shrink;
      }
    }
    this.softmax();
    this.version++;
    const weight = this.version;
    for (let s = 0; s < logits.length; s++) {
      logMagnet[s] = (1 - beta) * logMagnet[s] + beta * Math.log(probabilities[s]);
      averageWeights[s] += weight * probabilities[s];
    }
  }

  private softmax(): void {
    const { tree, logits, probabilities } = this;
    for (let i = 0; i < tree.infosetCount; i++) {
      const first = tree.actionStart[i];
      const end = tree.actionStart[i + 1];
      let top = -Infinity;
      for (let s = first; s < end; s++) if (logits[s] > top) top = logits[s];
      let z = 0;
      for (let s = first; s < end; s++) z += probabilities[s] = Math.exp(logits[s] - top);
      for (let s = first; s < end; s++) probabilities[s] /= z;
    }
  }

  private entropy(): number {
    const { tree, probabilities } = this;
    let total = 0;
    for (let i = 0; i < tree.infosetCount; i++) {
      for (let s = tree.actionStart[i]; s < tree.actionStart[i + 1]; s++) {
        const p = probabilities[s];
        if (p > 0) total -= p * Math.log(p);
      }
    }
    return tree.infosetCount ? total / tree.infosetCount : 0;
  }
}
