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

/**
 * How the reference host scores a guided choice (docs/policy-host.md): by the summed logprob of its tokens, their
 * mean, or as constrained decoding would (each token's probability renormalised over the tokens that continue a
 * choice), a pick being drawn from softmax(score / temperature).
 */
export const CHOICE_SCORINGS = ['sum', 'mean', 'constrained'] as const;
export type ChoiceScoring = (typeof CHOICE_SCORINGS)[number];

/** One prompt and its choices, for the exact probabilities of a guided pick among them. */
export interface ChoiceItem {
  readonly messages: readonly ChatMessage[];
  readonly choices: readonly string[];
}

export interface ChoiceProbabilities {
  /** The model that scored them, `<policy>@<version>`. */
  readonly model: string;
  readonly temperature: number;
  readonly guided_choice_scoring: ChoiceScoring;
  /** Per item, the probability of each choice, in the item's order. */
  readonly probabilities: number[][];
}

/**
 * The reference host's side beside the Tinker API (docs/policy-host.md): its OpenAI API root, its health, and the
 * exact probabilities of a guided pick. Training goes through the Tinker API (TinkerClient).
 */
export class PolicyHostClient {
  /** @param url the host's root, e.g. `http://127.0.0.1:8100` */
  constructor(
    readonly url: string,
    private readonly timeoutMs = 120_000,
  ) {}

  /** The OpenAI API root, for `llm:base=...`. */
  get apiBase(): string {
    return `${this.url.replace(/\/+$/, '')}/v1`;
  }

  /** The host's state; `busy_seconds` is the time it spent sampling or training (both at once counted once) in its `uptime_seconds`. */
  async health(): Promise<{ status: string; device: string; policies: { id: string; version: number; published: number[]; pinned: number[] }[]; guided_choice_scoring?: ChoiceScoring; busy_seconds?: number; uptime_seconds?: number }> {
    return (await this.request('GET', '/health')) as never;
  }

  /**
   * The probability with which `model` (a name, or `<policy>@<version>`) picks each choice of each item when
   * sampled with `guided_choice` at `temperature`: the distribution itself, not samples of it.
   */
  async choiceProbabilities(model: string, items: readonly ChoiceItem[], options: { temperature?: number; scoring?: ChoiceScoring } = {}): Promise<ChoiceProbabilities> {
    const body = { model, items, ...(options.temperature === undefined ? {} : { temperature: options.temperature }), ...(options.scoring ? { guided_choice_scoring: options.scoring } : {}) };
    return (await this.request('POST', '/v1/choice_probabilities', body)) as ChoiceProbabilities;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = {};
    let payload: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      throw new PolicyHostError(`cannot reach the policy host at ${this.url} (${(error as Error).message}); is it running?`, 0);
    }
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const reason = (data as { error?: { message?: string } } | null)?.error?.message ?? response.statusText;
      throw new PolicyHostError(`${method} ${path} on the policy host: ${response.status} ${reason}`, response.status);
    }
    return data;
  }
}
