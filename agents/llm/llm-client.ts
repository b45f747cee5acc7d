import type { LLMResult } from '@langchain/core/outputs';
import type { ChatMessage } from './chat.ts';
import { readCompletion, type ModelCompletion } from './completion.ts';
import { classifyFailure, LlmError } from './errors.ts';
import { keepAliveFetch } from './http.ts';
import type { Generate } from './langchain-chat.ts';
import { Limiter } from './limiter.ts';
import type { LlmOptions } from './options.ts';
import { withRetries } from './retry.ts';

/** What clients of one endpoint share: the bound on requests in flight and the socket pool. */
interface Endpoint {
  readonly limiter: Limiter;
  readonly http: ReturnType<typeof keepAliveFetch>;
  users: number;
}

const endpoints = new Map<string, Endpoint>();

function openEndpoint(baseURL: string, concurrency: number): { key: string; endpoint: Endpoint } {
  const key = `${baseURL} ${concurrency}`;
  let endpoint = endpoints.get(key);
  if (!endpoint) {
    endpoint = { limiter: new Limiter(concurrency), http: keepAliveFetch(concurrency), users: 0 };
    endpoints.set(key, endpoint);
  }
  endpoint.users++;
  return { key, endpoint };
}

export interface CompleteOptions {
  /** performance.now() time by which the answer is needed: no request outlives it. */
  readonly deadline?: number;
  readonly signal?: AbortSignal;
  /** The completion must be one of these texts (sent as `guided_choice`). */
  readonly guidedChoice?: readonly string[];
}

/**
 * A chat model behind an OpenAI-compatible endpoint, through LangChain's
 * ChatOpenAI (Chat Completions API). The retry policy is ours: the OpenAI SDK
 * and LangChain's caller are both set to 0 retries, so every attempt, wait and
 * failure is counted here. Clients with the same base URL and concurrency share
 * one limiter and one keep-alive socket pool. LangChain (about a second to
 * load) is imported when a client is made, in the background, not with this
 * module.
 */
export class LlmClient {
  private readonly generate: Promise<Generate>;
  private readonly endpoint: Endpoint;
  private readonly endpointKey: string;
  private closed = false;

  constructor(readonly options: LlmOptions) {
    const { key, endpoint } = openEndpoint(options.baseURL, options.concurrency);
    this.endpoint = endpoint;
    this.endpointKey = key;
    this.generate = import('./langchain-chat.ts').then(({ langChainChat }) => langChainChat(options, endpoint.http.fetch));
    // A failed import is reported by the request that awaits it.
    this.generate.catch(() => {});
  }

  /** Samples the model on `messages`, retrying what may pass (429, 5xx, timeouts, lost connections) with backoff. */
  async complete(messages: readonly ChatMessage[], { deadline, signal, guidedChoice }: CompleteOptions = {}): Promise<ModelCompletion> {
    if (this.closed) throw new Error('this LlmClient is closed');
    const started = performance.now();
    const { value, attempts, failures } = await withRetries(
      () => this.endpoint.limiter.run(() => this.attempt(messages, deadline, signal, guidedChoice)),
      this.options,
      { deadline },
    ).catch(async (error) => {
      throw error instanceof LlmError && error.failure === 'unknown-model' ? await this.withServedModels(error) : error;
    });
    const completion = readCompletion(value, this.options.model, this.options.topLogprobs > 0);
    return { ...completion, latencyMs: performance.now() - started, attempts, failures };
  }

  private async attempt(messages: readonly ChatMessage[], deadline: number | undefined, signal: AbortSignal | undefined, guidedChoice: readonly string[] | undefined): Promise<LLMResult> {
    const generate = await this.generate;
    const left = deadline === undefined ? Infinity : deadline - performance.now();
    if (left <= 0) throw new LlmError('timeout', `${this.where()} had no time left in the turn to ask`, false);
    const timeoutMs = Math.min(this.options.timeoutMs, left);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const forward = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', forward, { once: true });
    try {
      return await generate(messages, { signal: controller.signal, ...(guidedChoice ? { guidedChoice } : {}) });
    } catch (error) {
      if (timedOut) throw new LlmError('timeout', `${this.where()} did not answer within ${Math.round(timeoutMs)} ms`, true);
      if (signal?.aborted) throw signal.reason ?? error;
      throw classifyFailure(error, this.options.baseURL, this.options.model);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    }
  }

  /** The model names the server lists at GET /models. */
  async listModels(timeoutMs = 5_000): Promise<string[]> {
    let response: Response;
    try {
      response = await this.endpoint.http.fetch(`${this.options.baseURL}/models`, {
        headers: { authorization: `Bearer ${this.options.apiKey}` },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw classifyFailure(error, this.options.baseURL, this.options.model);
    }
    if (!response.ok) throw new LlmError('bad-response', `GET ${this.options.baseURL}/models answered ${response.status}`, false);
    const body = (await response.json()) as { data?: { id?: unknown }[] };
    return (body.data ?? []).map((m) => m.id).filter((id): id is string => typeof id === 'string');
  }

  /** Lets go of the endpoint; the last client of an endpoint closes its sockets. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (--this.endpoint.users === 0) {
      this.endpoint.http.close();
      endpoints.delete(this.endpointKey);
    }
  }

  private where(): string {
    return `model "${this.options.model}" at ${this.options.baseURL}`;
  }

  private async withServedModels(error: LlmError): Promise<LlmError> {
    const served = await this.listModels().catch(() => undefined);
    if (!served) return error;
    return new LlmError(error.failure, `${error.message}; it serves: ${served.join(', ') || 'no models'}`, false);
  }
}
