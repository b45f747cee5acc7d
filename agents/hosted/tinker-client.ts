import { ConfigError, SelfplayError } from '../../src/core/index.ts';
import { backoffDelay, type RetryPolicy } from '../llm/retry.ts';

/** Tinker's tensors on the JSON wire: flat data, its dtype, and its shape. */
export interface TensorData {
  readonly data: readonly number[];
  readonly dtype: 'int64' | 'float32';
  readonly shape?: readonly number[];
}

export interface ModelInput {
  readonly chunks: readonly { readonly type: 'encoded_text'; readonly tokens: readonly number[] }[];
}

/** One training sequence: position i predicts `target_tokens[i]` after the first i + 1 input tokens. */
export interface Datum {
  readonly model_input: ModelInput;
  readonly loss_fn_inputs: Readonly<Record<string, TensorData>>;
}

/** Tinker's loss functions (servers support some of them: the reference host cross_entropy, importance_sampling and ppo). */
export type LossFn = 'cross_entropy' | 'importance_sampling' | 'ppo' | 'cispo' | 'gspo' | 'dro';

export interface ForwardBackwardOutput {
  readonly loss_fn_output_type: string;
  /** Per datum, e.g. `logprobs` and `elementwise_loss`, each a value per position. */
  readonly loss_fn_outputs: readonly Readonly<Record<string, TensorData>>[];
  /** Named `<metric>:<reduction>`, e.g. `loss:sum`. */
  readonly metrics: Readonly<Record<string, number>>;
}

export interface AdamParams {
  readonly learning_rate: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weight_decay?: number;
  /** Clips the gradient norm (0: no clipping); the reference host applies it, SkyRL ignores it. */
  readonly grad_clip_norm?: number;
}

export interface SamplingParams {
  readonly max_tokens: number;
  readonly temperature?: number;
  readonly top_p?: number;
  /** -1: off. */
  readonly top_k?: number;
  readonly seed?: number;
  /** Stop token ids, or stop strings (not both). */
  readonly stop?: readonly number[] | readonly string[];
}

export interface SampledSequence {
  readonly stop_reason: 'stop' | 'length';
  readonly tokens: readonly number[];
  readonly logprobs: readonly number[];
}

export interface SampleOutput {
  readonly sequences: readonly SampledSequence[];
  /** With `promptLogprobs`: per prompt token, null for the first (and, on the reference host, for tokens the model cannot generate). */
  readonly prompt_logprobs: readonly (number | null)[] | null;
}

/** Where a sample comes from: a base model, saved sampler weights (a tinker:// path), or a sampling session. */
export type SampleSource = { readonly baseModel: string } | { readonly modelPath: string } | { readonly samplingSessionId: string };

export interface SamplerWeights {
  /** `tinker://<model_id>/<name>`; null for unnamed (ephemeral) weights, which come with a sampling session instead. */
  readonly path: string | null;
  readonly sampling_session_id: string | null;
  /** Reference host only: the OpenAI model name that serves these weights (`<model_id>@<version>`), and the version. */
  readonly model?: string;
  readonly version?: number;
  /** Reference host only: the PEFT adapter folder of a LoRA model's named sampler weights. */
  readonly adapter_dir?: string;
}

/** The request failed: the server refused it (status 4xx), or it failed while it ran (the future's error). */
export class TinkerError extends SelfplayError {
  constructor(
    message: string,
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** `user`: the request is wrong; `server`: the server failed it; `unknown`. */
    readonly category: 'user' | 'server' | 'unknown',
  ) {
    super('tinker', message);
  }
}

export interface TinkerClientOptions {
  /** Sent as X-API-Key (default: the TINKER_API_KEY environment variable, if set). */
  readonly apiKey?: string;
  /** The most one submit or call may take, ms (default 60 s). */
  readonly requestTimeoutMs?: number;
  /** The most one retrieve_future call waits (default 45 s, as the Tinker SDK; the server answers 408 sooner and we ask again). */
  readonly pollTimeoutMs?: number;
  /** Retries of what may pass: lost connections, timeouts, 408, 429 and 5xx (default 8 retries from 250 ms, doubling to 10 s). */
  readonly retry?: RetryPolicy;
  /** Session heartbeat interval, ms (default 10 s; 0: none). A session that falls silent loses its models. */
  readonly heartbeatMs?: number;
  readonly tags?: readonly string[];
  readonly random?: () => number;
  /** The most datums one forward or forward_backward request carries (default 1024); a larger batch goes as several. */
  readonly maxDatumsPerRequest?: number;
}

const DEFAULT_RETRY: RetryPolicy = { retries: 8, backoffMs: 250, maxBackoffMs: 10_000 };

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** A retryable failure of one HTTP call: a lost connection, a timeout, 408, 429 or 5xx. */
class Transient extends Error {
  constructor(
    message: string,
    /** The HTTP status, 0 when there was no answer. */
    readonly status: number,
    readonly timedOut = false,
  ) {
    super(message);
  }
}

/**
 * A client of the Tinker training API (the JSON encoding SkyRL's open Tinker server and selfplay's reference
 * host accept). Requests are submitted in the order they are made, each model's requests numbered (seq_id, as
 * the Tinker SDK numbers them) so that a resend after a lost connection is recognised (the reference host
 * answers it with the first request's id; SkyRL does so for forward, forward_backward and optim_step); results
 * are fetched by long polling. The session heartbeats while the client is open.
 */
export class TinkerClient {
  /** The most datums one forward or forward_backward request carries. */
  readonly maxDatumsPerRequest: number;
  private submitting: Promise<unknown> = Promise.resolve();
  private readonly sequence = new Map<string, number>();
  private samplingSeq = 0;
  private heartbeat?: ReturnType<typeof setInterval>;
  private readonly closing = new AbortController();
  private closeReason: string | undefined;
  /** Heartbeats that failed in a row, and why the last one did. */
  heartbeatFailures = 0;
  lastHeartbeatError?: string;

  private constructor(
    readonly url: string,
    readonly sessionId: string,
    private readonly options: TinkerClientOptions,
  ) {
    const size = options.maxDatumsPerRequest ?? 1024;
    if (!(Number.isInteger(size) && size >= 1)) throw new ConfigError(`maxDatumsPerRequest must be a whole number >= 1, not ${size}`);
    this.maxDatumsPerRequest = size;
  }

  /** Opens a session on the server at `url` (its root: the API is under /api/v1). */
  static async connect(url: string, options: TinkerClientOptions = {}): Promise<TinkerClient> {
    const root = url.replace(/\/+$/, '');
    const opening = new TinkerClient(root, '', options);
    const { session_id: sessionId } = (await opening.call('create_session', { tags: [...(options.tags ?? ['selfplay'])], sdk_version: 'selfplay' })) as { session_id: string };
    const client = new TinkerClient(root, sessionId, options);
    const every = options.heartbeatMs ?? 10_000;
    if (every > 0) {
      client.heartbeat = setInterval(() => void client.beat(), every);
      client.heartbeat.unref();
    }
    return client;
  }

  /** Stops the heartbeats and abandons requests still waiting for their results, which fail saying `reason`. */
  close(reason = 'the client was closed'): void {
    clearInterval(this.heartbeat);
    this.closeReason ??= reason;
    this.closing.abort();
  }

  async capabilities(): Promise<{ supported_models: { model_name: string; max_context_length?: number }[] }> {
    return (await this.retrying('get_server_capabilities', () => this.http('GET', 'get_server_capabilities'))) as never;
  }

  /** A new trainable model from `baseModel`: LoRA adapters of `loraRank`, or full fine-tuning with rank 0. */
  async createModel(options: { baseModel: string; loraRank?: number; seed?: number }): Promise<TinkerModel> {
    const lora = { rank: options.loraRank ?? 0, ...(options.seed === undefined ? {} : { seed: options.seed }) };
    const created = (await this.submit('create_model', { session_id: this.sessionId, base_model: options.baseModel, lora_config: lora })) as { model_id: string };
    return new TinkerModel(this, created.model_id, options.baseModel, lora.rank);
  }

  /** Samples `numSamples` completions of `prompt` (token ids). */
  async sample(source: SampleSource, prompt: readonly number[], params: SamplingParams, options: { numSamples?: number; promptLogprobs?: boolean } = {}): Promise<SampleOutput> {
    const from = 'baseModel' in source ? { base_model: source.baseModel }
      : 'modelPath' in source ? { model_path: source.modelPath }
      : { sampling_session_id: source.samplingSessionId, seq_id: this.nextSamplingSeq() };
    return (await this.submit('asample', {
      prompt: { chunks: [{ type: 'encoded_text', tokens: prompt }] },
      sampling_params: params,
      num_samples: options.numSamples ?? 1,
      ...(options.promptLogprobs ? { prompt_logprobs: true } : {}),
      ...from,
    })) as SampleOutput;
  }

  async createSamplingSession(source: { readonly baseModel: string } | { readonly modelPath: string }): Promise<string> {
    const from = 'baseModel' in source ? { base_model: source.baseModel } : { model_path: source.modelPath };
    const body = { session_id: this.sessionId, sampling_session_seq_id: this.nextSamplingSeq(), ...from };
    return ((await this.call('create_sampling_session', body)) as { sampling_session_id: string }).sampling_session_id;
  }

  /** Deletes a saved checkpoint: `tinker://<model_id>/weights/<name>` (or `.../sampler_weights/<name>`). */
  async deleteCheckpoint(path: string): Promise<void> {
    const match = /^tinker:\/\/([^/]+)\/(weights|sampler_weights)\/([^/]+)$/.exec(path);
    if (!match) throw new TinkerError(`${path} is not a checkpoint path (tinker://<model_id>/weights/<name>)`, 0, 'user');
    const [, model, kind, name] = match;
    await this.retrying(`deleting ${path}`, () => this.http('DELETE', `training_runs/${model}/checkpoints/${kind}/${name}`));
  }

  /** The next number of the session's sampling sessions (and of a sampling session's samples), as the Tinker SDK counts them. */
  nextSamplingSeq(): number {
    return this.samplingSeq++;
  }

  /** The next seq_id of a model's training requests. */
  nextSeq(modelId: string): number {
    const next = (this.sequence.get(modelId) ?? 0) + 1;
    this.sequence.set(modelId, next);
    return next;
  }

  /**
   * Submits a request (after every request made before it has been accepted, so the server runs them in the
   * order they were made), then waits for its result.
   */
  async submit(route: string, body: Record<string, unknown>): Promise<unknown> {
    const accepted = this.submitting.then(() => this.call(route, body));
    this.submitting = accepted.catch(() => undefined);
    const future = (await accepted) as { request_id?: unknown };
    if (typeof future?.request_id !== 'string') throw new TinkerError(`${route}: the server answered no request_id (${JSON.stringify(future).slice(0, 200)})`, 200, 'server');
    return this.retrieve(route, future.request_id);
  }

  /** A synchronous call: one request, retried while it may pass. */
  async call(route: string, body: unknown): Promise<unknown> {
    return this.retrying(route, async () => this.http('POST', route, body));
  }

  private async retrieve(route: string, requestId: string): Promise<unknown> {
    return this.retrying(`${route} (request ${requestId})`, async () => {
      for (;;) {
        // A poll that outlasts our timeout (a server that holds it longer) is a poll like one answered 408.
        const answer = await this.send('POST', 'retrieve_future', { request_id: requestId }, this.options.pollTimeoutMs ?? 45_000).catch((error) => {
          if (error instanceof Transient && error.timedOut && !this.closing.signal.aborted) return { status: 408, body: null };
          throw error;
        });
        if (answer.status === 408) continue;
        const body = this.checked(`${route} (request ${requestId})`, answer, 'unknown') as Record<string, unknown>;
        if (body?.type === 'try_again') continue;
        if (typeof body?.error === 'string' && !('sequences' in body) && !('loss_fn_outputs' in body)) {
          const category = body.category === 'user' || body.category === 'server' ? body.category : 'unknown';
          throw new TinkerError(`${route} failed: ${body.error}`, 200, category);
        }
        return body;
      }
    });
  }

  private async retrying<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    const policy = this.options.retry ?? DEFAULT_RETRY;
    const failures: string[] = [];
    for (let retry = 0; ; retry++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof Transient) || this.closing.signal.aborted) throw error instanceof Transient ? this.unreachable(what, failures, error) : error;
        failures.push(error.message);
        if (retry >= policy.retries) throw this.unreachable(what, failures, error);
        await new Promise((resolve) => setTimeout(resolve, backoffDelay(policy, retry + 1, this.options.random ?? Math.random)));
      }
    }
  }

  private unreachable(what: string, failures: readonly string[], error: Transient): TinkerError {
    const tries = failures.length > 1 ? ` (${failures.length} tries: ${[...new Set(failures)].join('; ')})` : '';
    const why = this.closing.signal.aborted ? this.closeReason : error.message;
    return new TinkerError(`${what} on the Tinker server at ${this.url}: ${why}${tries}`, error.status, error.status >= 500 ? 'server' : 'unknown');
  }

  private async http(method: 'GET' | 'POST' | 'DELETE', route: string, body?: unknown, timeoutMs?: number): Promise<unknown> {
    return this.checked(route, await this.send(method, route, body, timeoutMs ?? this.options.requestTimeoutMs ?? 60_000));
  }

  /** One HTTP exchange; lost connections, timeouts, 408 on a submit, 429 and 5xx are Transient. */
  private async send(method: 'GET' | 'POST' | 'DELETE', route: string, body: unknown, timeoutMs = this.options.requestTimeoutMs ?? 60_000): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const key = this.options.apiKey ?? process.env.TINKER_API_KEY;
    if (key) headers['x-api-key'] = key;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.url}/api/v1/${route}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any([AbortSignal.timeout(timeoutMs), this.closing.signal]),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const timedOut = (error as Error).name === 'TimeoutError';
      throw new Transient(timedOut ? `no answer within ${timeoutMs} ms` : `cannot reach it (${cause ?? (error as Error).message})`, 0, timedOut);
    }
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      // The connection broke after the status line (a server killed mid-answer): lost like any other connection.
      throw new Transient(`the answer was cut off (${(error as Error).message})`, 0);
    }
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // a plain-text body (SkyRL's unhandled errors) stays text
    }
    if ((response.status === 408 && route !== 'retrieve_future') || response.status === 429 || response.status >= 500) {
      throw new Transient(`${response.status} ${describe(parsed)}`, response.status);
    }
    return { status: response.status, body: parsed };
  }

  /** The body of a 2xx answer; otherwise a TinkerError (`category`: a refused request is the user's; a failed one is not known to be). */
  private checked(route: string, answer: Answer, category: TinkerError['category'] = 'user'): unknown {
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    throw new TinkerError(`${route}: ${answer.status} ${describe(answer.body)}`, answer.status, category);
  }

  private async beat(): Promise<void> {
    try {
      this.checked('session_heartbeat', await this.send('POST', 'session_heartbeat', { session_id: this.sessionId }, 10_000));
      this.heartbeatFailures = 0;
    } catch (error) {
      this.heartbeatFailures++;
      this.lastHeartbeatError = (error as Error).message;
    }
  }
}

/**
 * The outputs of consecutive parts of one batch as if it had gone in one request: the datums' outputs in order,
 * and each metric reduced across the parts as its name says (`:sum`, `:max`, `:min`; `:mean` weighted by datums).
 */
export function mergePasses(parts: readonly ForwardBackwardOutput[]): ForwardBackwardOutput {
  if (parts.length === 1) return parts[0];
  const sizes = parts.map((p) => p.loss_fn_outputs.length);
  const total = sizes.reduce((a, b) => a + b, 0);
  const metrics: Record<string, number> = {};
  for (const key of new Set(parts.flatMap((p) => Object.keys(p.metrics ?? {})))) {
    const values = parts.map((p) => p.metrics?.[key]).filter((v): v is number => typeof v === 'number');
    const reduction = key.slice(key.lastIndexOf(':') + 1);
    if (reduction === 'max') metrics[key] = Math.max(...values);
    else if (reduction === 'min') metrics[key] = Math.min(...values);
    else if (reduction === 'mean') metrics[key] = parts.reduce((sum, p, i) => sum + (p.metrics?.[key] ?? 0) * sizes[i], 0) / Math.max(total, 1);
    else if (reduction === 'sum') metrics[key] = values.reduce((a, b) => a + b, 0);
    else throw new TinkerError(`cannot combine the metric ${key} of a batch sent in ${parts.length} requests: its reduction is not sum, mean, max or min`, 200, 'unknown');
  }
  return { loss_fn_output_type: parts[0].loss_fn_output_type, loss_fn_outputs: parts.flatMap((p) => p.loss_fn_outputs), metrics };
}

/** A server's error body as one line: `detail` as a string, or FastAPI's list as `loc: msg` items. */
function describe(body: unknown): string {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === 'string') return detail;
  if (Array.isArray(detail)) {
    return detail.map((item: { loc?: unknown[]; msg?: string }) => `${(item.loc ?? []).filter((part) => part !== 'body').join('.')}: ${item.msg}`).join('; ');
  }
  return typeof body === 'string' ? body.slice(0, 300) : JSON.stringify(body)?.slice(0, 300) ?? '';
}

/** A trainable model on a Tinker server. */
export class TinkerModel {
  /** The forward_backward requests submitted since the last optim_step: the gradients it would apply. */
  private gradientParts: Promise<unknown>[] = [];
  /** Why this model takes no more steps: part of a batch's gradients failed, and the rest are pending on the server. */
  private broken: { readonly why: string; readonly status: number } | undefined;

  constructor(
    readonly client: TinkerClient,
    readonly id: string,
    readonly baseModel: string,
    readonly loraRank: number,
  ) {}

  /**
   * Computes and accumulates the gradients of `lossFn` over `data`; the optimizer step comes with optimStep. A
   * batch of more than maxDatumsPerRequest datums goes as several requests, whose gradients the server adds up
   * (servers limit a request: the reference host takes at most 4096 datums); their outputs come back as one.
   */
  forwardBackward(data: readonly Datum[], lossFn: LossFn, lossFnConfig?: Readonly<Record<string, number>>): Promise<ForwardBackwardOutput> {
    return this.passes('forward_backward', data, lossFn, lossFnConfig);
  }

  /** The outputs of forwardBackward without gradients. */
  forward(data: readonly Datum[], lossFn: LossFn = 'cross_entropy', lossFnConfig?: Readonly<Record<string, number>>): Promise<ForwardBackwardOutput> {
    return this.passes('forward', data, lossFn, lossFnConfig);
  }

  /** Submits the parts at once, in order (so a request made after this one is numbered after all of them). */
  private async passes(route: 'forward' | 'forward_backward', data: readonly Datum[], lossFn: LossFn, lossFnConfig?: Readonly<Record<string, number>>): Promise<ForwardBackwardOutput> {
    const config = lossFnConfig && Object.keys(lossFnConfig).length ? { loss_fn_config: lossFnConfig } : {};
    const size = this.client.maxDatumsPerRequest;
    const parts: Promise<ForwardBackwardOutput>[] = [];
    for (let first = 0; first < Math.max(data.length, 1); first += size) {
      const input = { data: data.slice(first, first + size), loss_fn: lossFn, ...config };
      parts.push(this.client.submit(route, { model_id: this.id, seq_id: this.client.nextSeq(this.id), [`${route}_input`]: input }) as Promise<ForwardBackwardOutput>);
    }
    if (route === 'forward_backward') this.gradientParts.push(...parts);
    return mergePasses(await Promise.all(parts));
  }

  /**
   * Applies the gradients accumulated since the last step. After a single forward_backward it is submitted at
   * once, without waiting (a server refuses a step with no gradients, so a failed pass cannot be half applied).
   * When several requests carry the gradients (a split batch, or several calls), it waits for all of them and is
   * not sent if any failed: the others' gradients would be a partial step. The model then takes no more steps,
   * since those gradients stay pending on the server; load its last saved weights into a new model to go on.
   */
  async optimStep(adam: AdamParams): Promise<{ metrics: Record<string, number> | null }> {
    const parts = this.gradientParts;
    this.gradientParts = [];
    if (this.broken === undefined && parts.length > 1) {
      const settled = await Promise.allSettled(parts);
      const failed = settled.findIndex((part) => part.status === 'rejected');
      if (failed >= 0) {
        const { reason } = settled[failed] as PromiseRejectedResult;
        const why = `part ${failed + 1} of the ${parts.length} forward_backward requests of its gradients failed (${reason instanceof Error ? reason.message : String(reason)})`;
        this.broken = { why, status: reason instanceof TinkerError ? reason.status : 0 };
      }
    }
    if (this.broken !== undefined) {
      throw new TinkerError(`optim_step on ${this.id} was not sent: ${this.broken.why}; the other parts' gradients are pending on the server, so this model takes no more steps`, this.broken.status, 'unknown');
    }
    return (await this.client.submit('optim_step', { model_id: this.id, seq_id: this.client.nextSeq(this.id), adam_params: adam })) as never;
  }

  /** Saves weights and optimizer state; the tinker:// path loads them into a model (loadWeights), on any later session. */
  async saveWeights(name: string): Promise<string> {
    return ((await this.client.submit('save_weights', { model_id: this.id, path: name, seq_id: this.client.nextSeq(this.id) })) as { path: string }).path;
  }

  async loadWeights(path: string, options: { optimizer?: boolean } = {}): Promise<void> {
    await this.client.submit('load_weights', { model_id: this.id, path, optimizer: options.optimizer ?? true, seq_id: this.client.nextSeq(this.id) });
  }

  /** The current weights as sampler weights: named ones last; unnamed ones come with a sampling session. */
  async saveWeightsForSampler(name?: string): Promise<SamplerWeights> {
    const body = name === undefined
      ? { model_id: this.id, sampling_session_seq_id: this.client.nextSamplingSeq(), seq_id: this.client.nextSeq(this.id) }
      : { model_id: this.id, path: name, seq_id: this.client.nextSeq(this.id) };
    return (await this.client.submit('save_weights_for_sampler', body)) as SamplerWeights;
  }

  async unload(): Promise<void> {
    await this.client.submit('unload_model', { model_id: this.id });
  }
}

/** A datum from a prompt and a completion: the completion's positions carry `weight` (one for all, or one per token) and the given per-token inputs. */
export function completionDatum(prompt: readonly number[], completion: readonly number[], inputs: { readonly weight?: number | readonly number[]; readonly logprobs?: readonly number[]; readonly advantages?: readonly number[] } = {}): Datum {
  if (typeof inputs.weight === 'object' && inputs.weight.length !== completion.length) throw new RangeError(`${inputs.weight.length} weights for a completion of ${completion.length} tokens`);
  const pad = new Array<number>(prompt.length - 1).fill(0);
  const n = pad.length + completion.length;
  const floats = (values: readonly number[]): TensorData => ({ data: [...pad, ...values], dtype: 'float32', shape: [n] });
  const lossInputs: Record<string, TensorData> = {
    target_tokens: { data: [...prompt.slice(1), ...completion], dtype: 'int64', shape: [n] },
    weights: floats(typeof inputs.weight === 'object' ? inputs.weight : new Array<number>(completion.length).fill(inputs.weight ?? 1)),
  };
  if (inputs.logprobs) lossInputs.logprobs = floats(inputs.logprobs);
  if (inputs.advantages) lossInputs.advantages = floats(inputs.advantages);
  return { model_input: { chunks: [{ type: 'encoded_text', tokens: [...prompt, ...completion.slice(0, -1)] }] }, loss_fn_inputs: lossInputs };
}
