import type { PolicyHostClient, TrainItem, TrainLoss, TrainStepResult } from '../../agents/hosted/host-client.ts';
import type { VllmAdapters } from '../../agents/hosted/vllm.ts';
import { ConfigError } from '../core/index.ts';
import type { BackendMetrics, PolicyBackend } from './backend.ts';
import type { Sample } from './samples.ts';

export interface HostedBackendOptions {
  readonly loss?: TrainLoss;
  /** Default 1e-3. */
  readonly learningRate?: number;
  /** KL penalty to the host's reference weights (default 0: none). */
  readonly klCoef?: number;
  readonly clipEpsilon?: number;
  /** Truncates each token's importance weight (its probability now over its probability when sampled) at this value (none by default). */
  readonly ratioCap?: number;
  /** Training steps on each batch before publishing (PPO's epochs; default 1). Later epochs are off the sampler's policy, which the loss's ratio corrects. */
  readonly epochs?: number;
  /** When inference runs on vLLM: each publish also checkpoints and loads the weights there as a LoRA adapter. */
  readonly vllm?: VllmAdapters;
}

export interface HostedMetrics extends BackendMetrics {
  /** The model name that now plays, `<policy>@<version>`. */
  readonly model: string;
  readonly step: TrainStepResult;
}

/** A model turn as a training item: the sampled tokens and the sample's advantage for every one of them. */
export function trainItem(sample: Sample): TrainItem | undefined {
  if (!sample.tokens) return undefined;
  return { prompt_token_ids: sample.tokens.prompt, completion_token_ids: sample.tokens.completion, logprobs: sample.tokens.logprobs, advantages: sample.advantage };
}

/**
 * A language model on a policy host as the trainer's backend: each update is
 * one training step on the host, then a publish, so agents asking for the
 * bare policy name (or the name `policy()` gives) play the new version.
 */
export class HostedPolicyBackend implements PolicyBackend {
  version: number;
  private model: string;

  constructor(
    readonly host: PolicyHostClient,
    published: { readonly model: string; readonly version: number },
    private readonly options: HostedBackendOptions = {},
  ) {
    this.version = published.version;
    this.model = published.model;
  }

  /** Connects to a host and publishes its current weights, so that there is a version to play. */
  static async connect(host: PolicyHostClient, options: HostedBackendOptions = {}): Promise<HostedPolicyBackend> {
    const published = await host.publish();
    const backend = new HostedPolicyBackend(host, published, options);
    await options.vllm?.load(published.model, host);
    return backend;
  }

  /** The OpenAI API root that samples the published versions: vLLM's when it serves them, else the host's. */
  get samplingBase(): string {
    return this.options.vllm?.baseURL ?? this.host.apiBase;
  }

  /** The model name that plays the current version (`tiny@3`). */
  policy(): string {
    return this.model;
  }

  async update(samples: readonly Sample[]): Promise<HostedMetrics> {
    const items = samples.map(trainItem).filter((item): item is TrainItem => item !== undefined);
    if (items.length === 0) {
      throw new ConfigError(`none of the ${samples.length} samples has token ids and logprobs: play the policy with an llm agent that records them (token_ids=true, logprobs=true, the defaults)`);
    }
    const request = {
      loss: this.options.loss ?? 'importance-sampling',
      learning_rate: this.options.learningRate ?? 1e-3,
      items,
      ...(this.options.klCoef ? { kl_coef: this.options.klCoef } : {}),
      ...(this.options.clipEpsilon === undefined ? {} : { clip_epsilon: this.options.clipEpsilon }),
      ...(this.options.ratioCap === undefined ? {} : { ratio_cap: this.options.ratioCap }),
    } as const;
    let step = await this.host.trainStep(request);
    for (let epoch = 1; epoch < (this.options.epochs ?? 1); epoch++) step = await this.host.trainStep(request);
    const published = await this.host.publish();
    await this.options.vllm?.load(published.model, this.host);
    this.version = published.version;
    this.model = published.model;
    return { version: published.version, samples: items.length, model: published.model, step };
  }
}
