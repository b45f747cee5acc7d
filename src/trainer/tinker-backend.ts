import type { PolicyHostClient } from '../../agents/hosted/host-client.ts';
import { completionDatum, type TinkerClient, type TinkerModel } from '../../agents/hosted/tinker-client.ts';
import type { VllmAdapters } from '../../agents/hosted/vllm.ts';
import { ConfigError } from '../core/index.ts';
import type { BackendMetrics, PolicyBackend } from './backend.ts';
import type { SequenceObjective, TokenObjective, TokenSequence } from './sequence-objectives.ts';
import type { TinkerSampling } from './model-player.ts';
import type { Sample } from './samples.ts';

export type TinkerLoss = 'importance_sampling' | 'ppo';

export interface TinkerBackendOptions {
  /** Default importance_sampling. */
  readonly loss?: TinkerLoss;
  /** Default 1e-3. */
  readonly learningRate?: number;
  /** PPO clips each token's ratio to [1 - clipEpsilon, 1 + clipEpsilon] (default 0.2). */
  readonly clipEpsilon?: number;
  /** KL penalty to the model's reference weights (default 0: none; the reference host's loss_fn_config extension). */
  readonly klCoef?: number;
  /** Truncates each token's importance weight at this value (none by default; the reference host's extension). */
  readonly ratioCap?: number;
  /** Training steps on each batch before publishing (PPO's epochs; default 1). */
  readonly epochs?: number;
  /** Gradient norm clip (default 1). */
  readonly maxGradNorm?: number;
  /** When inference runs on vLLM: each publish also saves the LoRA adapter and loads it there. */
  readonly vllm?: VllmAdapters;
  /** Games sample over the Tinker API with the model's chat template and tokenizer (a server without an OpenAI API). */
  readonly sampling?: Omit<TinkerSampling, 'client'>;
}

/** What an update took: the step's figures as means over the trained tokens. */
export interface TinkerStep {
  readonly loss: number;
  readonly entropy: number;
  readonly kl_sampler: number;
  readonly kl: number | null;
  readonly clip_fraction: number;
  readonly truncated_fraction: number;
  readonly grad_norm: number;
  readonly tokens: number;
  readonly ms: number;
}

export interface TinkerMetrics extends BackendMetrics {
  /** The model name that now plays, `<model id>@<version>`. */
  readonly model: string;
  readonly step: TinkerStep;
}

export interface Published {
  readonly model: string;
  readonly version: number;
}

/** The samples that carry token ids and sampling logprobs (a model's turns): what the host trains on; a clear error when none do. */
export function modelTurns(samples: readonly Sample[]): Sample[] {
  const turns = samples.filter((sample) => sample.tokens !== undefined);
  if (turns.length === 0) {
    throw new ConfigError(`none of the ${samples.length} samples has token ids and logprobs: play the policy with an llm agent that records them (token_ids=true, logprobs=true, the defaults)`);
  }
  return turns;
}

/** What an update that takes no step reports: the weights and version stay as they are. */
export function noStep(backend: Pick<TinkerBackend, 'version' | 'policy'>): TinkerMetrics {
  const step = { loss: NaN, entropy: NaN, kl_sampler: 0, kl: null, clip_fraction: 0, truncated_fraction: 0, grad_norm: NaN, tokens: 0, ms: 0 };
  return { version: backend.version, model: backend.policy(), samples: 0, step };
}

/** A sampled completion's logprob (the sum of its tokens'), under the version that sampled it. */
export const sampledLogprob = (tokens: { readonly logprobs: readonly number[] }): number => tokens.logprobs.reduce((a, b) => a + b, 0);

/**
 * A language model trained over the Tinker API as the trainer's backend: each update is forward_backward and
 * optim_step (per epoch) on the samples' tokens, then sampler weights agents play. Games sample through an
 * OpenAI-compatible API (the reference host's own, which serves sampler weights as `<model id>@<version>`, or
 * vLLM with the adapters loaded into it), or over the Tinker API itself with token-id prompts (`sampling`):
 * then a version's name is its tinker:// sampler path or sampling session id.
 */
export class TinkerBackend implements PolicyBackend {
  version: number;
  private current: string;
  private saves = 0;
  /** Sampler weights saved only for vLLM, by model name: deleted once vLLM unloads them (league members are kept). */
  private readonly forVllm = new Map<string, string>();
  /** Optimizer steps since the weights of `version` (for servers that do not number versions). */
  private steps = 0;

  constructor(
    readonly model: TinkerModel,
    /** The reference host's OpenAI side (sampling, exact choice probabilities, health). */
    readonly host: PolicyHostClient,
    /**
     * What episodes name as the policy (with the version that played): stable across the models a run creates
     * (a resumed run trains a new model, and still trains on the matches its first one played).
     */
    readonly policyId: string,
    published: Published,
    private readonly options: TinkerBackendOptions = {},
  ) {
    this.version = published.version;
    this.current = published.model;
  }

  /**
   * A new model from `baseModel` (LoRA of `loraRank`, or full fine-tuning with 0), its starting weights published;
   * episodes name it `policyId` (default: the base model's name).
   */
  static async start(client: TinkerClient, host: PolicyHostClient, base: { readonly baseModel: string; readonly loraRank?: number; readonly policyId?: string }, options: TinkerBackendOptions = {}): Promise<TinkerBackend> {
    const model = await client.createModel({ baseModel: base.baseModel, loraRank: base.loraRank ?? 0 });
    const backend = new TinkerBackend(model, host, base.policyId ?? base.baseModel, { model: '', version: 0 }, options);
    await backend.publish();
    return backend;
  }

  /** The OpenAI API root that samples the published versions: vLLM's when it serves them, else the host's. */
  get samplingBase(): string {
    return this.options.vllm?.baseURL ?? this.host.apiBase;
  }

  /** The model name that plays the current version (`model_0a1b2c3d@3`). */
  policy(): string {
    return this.current;
  }

  /**
   * The current weights become the version agents play. A pinned version (a league member) is saved by name and
   * kept; the others are kept while they are among the host's newest.
   */
  async publish(pin = false): Promise<Published> {
    const vllm = this.options.vllm;
    // vLLM loads an adapter from the folder named sampler weights are written to; those it no longer serves are deleted.
    const saved = await this.model.saveWeightsForSampler(pin || vllm ? `${pin ? 'pinned' : 'vllm'}-${this.saves++}` : undefined);
    const model = this.options.sampling ? (saved.path ?? saved.sampling_session_id) : saved.model;
    if (!model) {
      throw new ConfigError(`the Tinker server at ${this.model.client.url} does not name the sampler weights it saved with an OpenAI model name (only selfplay's reference host does): sample the games over the Tinker API with the model's tokenizer (--tokenizer DIR)`);
    }
    if (vllm) {
      if (!pin) this.forVllm.set(model, saved.path!);
      for (const gone of await vllm.load(model, saved.adapter_dir)) {
        const path = this.forVllm.get(gone);
        this.forVllm.delete(gone);
        if (path) await this.model.client.deleteCheckpoint(path.replace(/^(tinker:\/\/[^/]+)\//, '$1/sampler_weights/'));
      }
    }
    this.version = saved.version ?? this.version + this.steps;
    this.steps = 0;
    this.current = model;
    return { model, version: this.version };
  }

  /** How games sample this model over the Tinker API, when they do. */
  get tinkerSampling(): TinkerSampling | undefined {
    return this.options.sampling && { client: this.model.client, ...this.options.sampling };
  }

  /** The weights now loaded are those of `version` (a restored checkpoint, on a server that does not number versions). */
  loadedVersion(version: number): void {
    this.version = version;
    this.steps = 0;
  }

  /** Moves the KL reference toward the training weights: reference <- (1 - mix) reference + mix weights (the reference host's extension). */
  async moveReference(mix: number): Promise<void> {
    await this.model.client.submit('selfplay/move_reference', { model_id: this.model.id, mix, seq_id: this.model.client.nextSeq(this.model.id) });
  }

  /**
   * Steps on a loss of whole sequences' logprobs (`objective`, e.g. SPPO's), `epochs` times: each computes the
   * sequences' summed completion logprobs now (forward), the loss's derivative with respect to each, and
   * forward_backward with cross_entropy weighted by minus those derivatives (which gives the loss's gradient), then
   * optim_step; then the weights are published. A step whose derivatives are all 0 is skipped.
   */
  trainSequences(sequences: readonly TokenSequence[], objective: SequenceObjective): Promise<TinkerMetrics> {
    return this.trainTokens(sequences, perToken(objective));
  }

  /**
   * Steps on a loss of the sequences' completion token logprobs (`objective`), `epochs` times: each computes those
   * logprobs now (forward), the loss's derivative with respect to each token's, and forward_backward with
   * cross_entropy weighted, token by token, by minus those derivatives (which gives the loss's gradient), then
   * optim_step; then the weights are published. A step whose derivatives are all 0 is skipped.
   */
  trainTokens(sequences: readonly TokenSequence[], objective: TokenObjective): Promise<TinkerMetrics> {
    return this.trainParts([{ sequences, objective }]);
  }

  /**
   * trainTokens over a loss that is a sum of parts, one optimizer step per part: `epochs` passes, each taking the
   * parts in order, then the weights are published. Minibatches, where one step over the whole batch moves the
   * model too little for its cost. The step's loss and entropy are the parts' means in the last pass.
   */
  async trainParts(parts: readonly { readonly sequences: readonly TokenSequence[]; readonly objective: TokenObjective }[]): Promise<TinkerMetrics> {
    if (parts.length === 0 || parts.some((part) => part.sequences.length === 0)) throw new ConfigError('no sequences to train on');
    const started = performance.now();
    const tokens = parts.reduce((n, part) => n + part.sequences.reduce((m, s) => m + s.completion.length, 0), 0);
    const adam = this.adam();
    let step: TinkerStep | undefined;
    for (let epoch = 0; epoch < (this.options.epochs ?? 1); epoch++) {
      let loss = 0;
      let entropy = 0;
      let gradNorm = 0;
      for (const { sequences, objective } of parts) {
        const out = objective(await this.tokenLogprobs(sequences));
        loss += out.loss / parts.length;
        entropy += (out.entropy ?? NaN) / parts.length;
        if (out.gradient.some((g) => g.some((x) => x !== 0))) {
          const data = sequences.map((s, i) => completionDatum(s.prompt, s.completion, { weight: out.gradient[i].map((g) => -g) }));
          const [, stepped] = await Promise.all([this.model.forwardBackward(data, 'cross_entropy'), this.model.optimStep(adam)]);
          this.steps++;
          gradNorm = stepped.metrics?.grad_norm ?? NaN;
        }
      }
      step = { loss, entropy, kl_sampler: 0, kl: null, clip_fraction: 0, truncated_fraction: 0, grad_norm: gradNorm, tokens, ms: performance.now() - started };
    }
    const published = await this.publish();
    return { version: published.version, samples: parts.reduce((n, part) => n + part.sequences.length, 0), model: published.model, step: step! };
  }

  /** Each sequence's summed completion logprob under the training weights now (a forward). */
  async sequenceLogprobs(sequences: readonly TokenSequence[]): Promise<number[]> {
    return (await this.tokenLogprobs(sequences)).map((lps) => lps.reduce((a, b) => a + b, 0));
  }

  /** Each sequence's completion token logprobs under the training weights now (a forward). */
  async tokenLogprobs(sequences: readonly TokenSequence[]): Promise<number[][]> {
    const scored = await this.model.forward(sequences.map((s) => completionDatum(s.prompt, s.completion)));
    return scored.loss_fn_outputs.map((out, i) => out.logprobs.data.slice(-sequences[i].completion.length));
  }

  /** The optimizer step's settings: the run's, or another learning rate (SOAR's student). */
  adam(learningRate = this.options.learningRate ?? 1e-3) {
    return { learning_rate: learningRate, beta1: 0.9, beta2: 0.95, eps: 1e-8, grad_clip_norm: this.options.maxGradNorm ?? 1 };
  }

  async update(samples: readonly Sample[]): Promise<TinkerMetrics> {
    const turns = modelTurns(samples);
    const tokens = turns.reduce((n, s) => n + s.tokens!.completion.length, 0);
    // Tinker's losses are sums over weighted tokens: a weight of 1/tokens makes them means, as the step's size should not grow with the batch.
    const data = turns.map((s) => completionDatum(s.tokens!.prompt, s.tokens!.completion, {
      weight: 1 / tokens,
      logprobs: s.tokens!.logprobs,
      advantages: s.tokens!.completion.map(() => s.advantage),
    }));
    const loss = this.options.loss ?? 'importance_sampling';
    const epsilon = this.options.clipEpsilon ?? 0.2;
    const config = {
      ...(loss === 'ppo' ? { clip_low_threshold: 1 - epsilon, clip_high_threshold: 1 + epsilon } : {}),
      ...(this.options.klCoef ? { kl_coef: this.options.klCoef } : {}),
      ...(this.options.ratioCap ? { ratio_cap: this.options.ratioCap } : {}),
    };
    const adam = this.adam();
    const started = performance.now();
    let step: TinkerStep | undefined;
    for (let epoch = 0; epoch < (this.options.epochs ?? 1); epoch++) {
      const [passed, stepped] = await Promise.all([this.model.forwardBackward(data, loss, config), this.model.optimStep(adam)]);
      this.steps++;
      const m = passed.metrics;
      step = {
        loss: m['loss:sum'],
        entropy: m['entropy:sum'],
        kl_sampler: m['kl_sampler:sum'] ?? 0,
        kl: m['kl:sum'] ?? null,
        clip_fraction: m['clipped:sum'] ?? 0,
        truncated_fraction: m['truncated:sum'] ?? 0,
        grad_norm: stepped.metrics?.grad_norm ?? NaN,
        tokens,
        ms: performance.now() - started,
      };
    }
    const published = await this.publish();
    return { version: published.version, samples: turns.length, model: published.model, step: step! };
  }
}

/** A loss of sequences' summed logprobs as one of their token logprobs: each token of a sequence gets the sequence's derivative. */
export function perToken(objective: SequenceObjective): TokenObjective {
  return (logprobs) => {
    const { loss, gradient } = objective(logprobs.map((lps) => lps.reduce((a, b) => a + b, 0)));
    return { loss, gradient: logprobs.map((lps, i) => lps.map(() => gradient[i])) };
  };
}
