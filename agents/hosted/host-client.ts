import { Packr, unpack } from 'msgpackr';
import { SelfplayError } from '../../src/core/index.ts';
import type { ChatMessage } from '../llm/chat.ts';

/** A request the policy host refused or could not serve: the HTTP status and the host's reason. */
export class PolicyHostError extends SelfplayError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super('policy-host', message);
  }
}

/** One training item: a sampled completion and its advantage (see docs/policy-host.md). */
export interface TrainItem {
  readonly prompt_token_ids: readonly number[];
  readonly completion_token_ids: readonly number[];
  /** The sampling logprob of each completion token. */
  readonly logprobs: readonly number[];
  /** Per sequence, or per completion token. */
  readonly advantages: number | readonly number[];
  readonly loss_mask?: readonly (0 | 1)[];
}

export type TrainLoss = 'importance-sampling' | 'ppo-clip';

export interface TrainStepRequest {
  readonly loss: TrainLoss;
  readonly learning_rate: number;
  readonly items: readonly TrainItem[];
  readonly kl_coef?: number;
  readonly clip_epsilon?: number;
  /** Truncated importance weights: a token counts with weight min(ratio, ratio_cap) (IMPALA's rho-bar); none without it. */
  readonly ratio_cap?: number;
  readonly max_grad_norm?: number;
}

export interface TrainStepResult {
  readonly version: number;
  readonly loss: number;
  readonly tokens: number;
  readonly samples: number;
  readonly kl: number | null;
  readonly clip_fraction: number;
  /** The share of tokens whose ratio the ratio cap truncated. */
  readonly truncated_fraction?: number;
  readonly grad_norm: number;
  readonly ms: number;
  readonly [metric: string]: unknown;
}

export interface Published {
  /** The exact model name agents ask for, `<policy>@<version>`. */
  readonly model: string;
  readonly version: number;
  /** The versions the host serves now, and those of them kept however old (pinned). */
  readonly published: readonly number[];
  readonly pinned: readonly number[];
}

/** One prompt and its choices, for the exact probabilities of a guided pick among them. */
export interface ChoiceItem {
  readonly messages: readonly ChatMessage[];
  readonly choices: readonly string[];
}

export interface ChoiceProbabilities {
  /** The model that scored them, `<policy>@<version>`. */
  readonly model: string;
  readonly temperature: number;
  readonly guided_choice_scoring: 'sum' | 'mean';
  /** Per item, the probability of each choice, in the item's order. */
  readonly probabilities: number[][];
}

// Integers stay integers and fractions go as float64: token ids and logprobs arrive exactly as sent.
const packr = new Packr({ useRecords: false });

/** The policy host's training API (docs/policy-host.md), for one policy. */
export class PolicyHostClient {
  /**
   * @param url the host's root, e.g. `http://127.0.0.1:8100`
   * @param policy the policy id, e.g. `tiny`
   */
  constructor(
    readonly url: string,
    readonly policy: string,
    private readonly timeoutMs = 120_000,
  ) {}

  /** The OpenAI API root, for `llm:base=...`. */
  get apiBase(): string {
    return `${this.url.replace(/\/+$/, '')}/v1`;
  }

  /** The host's state; `busy_seconds` is the time it spent sampling or training (both at once counted once) in its `uptime_seconds`. */
  async health(): Promise<{ status: string; device: string; policies: { id: string; version: number; published: number[]; pinned: number[] }[]; busy_seconds?: number; uptime_seconds?: number }> {
    return (await this.request('GET', '/health')) as never;
  }

  /** forward_backward + optim_step: one update; the training version it made. */
  async trainStep(step: TrainStepRequest): Promise<TrainStepResult> {
    return (await this.request('POST', '/train/step', { policy: this.policy, ...step }, 'msgpack')) as TrainStepResult;
  }

  /** The current training weights become the newest version agents can sample; a pinned one is served until the host stops (a league member). */
  async publish(options: { pin?: boolean } = {}): Promise<Published> {
    return (await this.request('POST', `/policies/${encodeURIComponent(this.policy)}/publish`, options.pin ? { pin: true } : {})) as Published;
  }

  /** Moves the KL reference toward the training weights: reference <- (1 - mix) reference + mix weights (1: the weights themselves). */
  async moveReference(mix: number): Promise<{ version: number; mix: number }> {
    return (await this.request('POST', `/policies/${encodeURIComponent(this.policy)}/reference`, { mix })) as never;
  }

  /** Saves weights, optimizer and version under the host's checkpoint directory. */
  async checkpoint(name?: string): Promise<{ path: string; version: number }> {
    return (await this.request('POST', `/policies/${encodeURIComponent(this.policy)}/checkpoint`, name === undefined ? {} : { name })) as never;
  }

  async load(path: string): Promise<{ version: number }> {
    return (await this.request('POST', `/policies/${encodeURIComponent(this.policy)}/load`, { path })) as never;
  }

  /**
   * The probability with which `model` (a name, or `<policy>@<version>`) picks each choice of each item when
   * sampled with `guided_choice` at `temperature`: the distribution itself, not samples of it.
   */
  async choiceProbabilities(model: string, items: readonly ChoiceItem[], options: { temperature?: number; scoring?: 'sum' | 'mean' } = {}): Promise<ChoiceProbabilities> {
    const body = { model, items, ...(options.temperature === undefined ? {} : { temperature: options.temperature }), ...(options.scoring ? { guided_choice_scoring: options.scoring } : {}) };
    return (await this.request('POST', '/v1/choice_probabilities', body)) as ChoiceProbabilities;
  }

  private async request(method: string, path: string, body?: unknown, format: 'json' | 'msgpack' = 'json'): Promise<unknown> {
    const headers: Record<string, string> = {};
    let payload: Uint8Array | string | undefined;
    if (body !== undefined) {
      headers['content-type'] = format === 'msgpack' ? 'application/msgpack' : 'application/json';
      payload = format === 'msgpack' ? packr.pack(body) : JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new PolicyHostError(`cannot reach the policy host at ${this.url} (${(error as Error).message}); is it running?`, 0);
    }
    const type = response.headers.get('content-type') ?? '';
    const data = type.includes('msgpack') ? unpack(new Uint8Array(await response.arrayBuffer())) : await response.json().catch(() => null);
    if (!response.ok) {
      const reason = (data as { error?: { message?: string } } | null)?.error?.message ?? response.statusText;
      throw new PolicyHostError(`${method} ${path} on the policy host: ${response.status} ${reason}`, response.status);
    }
    return data;
  }
}
