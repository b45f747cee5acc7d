import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { listenError, Rng } from '../../../src/core/index.ts';
import type { ChatMessage } from '../chat.ts';
import { lastUserText, promptedActions, replyText, STUB_POLICIES, type StubPolicy } from './reply.ts';
import { LoraAdapters } from './adapters.ts';
import { roleReply } from './roles.ts';
import { logprobContent, promptTokens, tokenId, tokenize } from './tokens.ts';

export interface LlmStubOptions {
  /** 0 (the default) picks a free port. The server binds 127.0.0.1 only. */
  readonly port?: number;
  /** The one model it serves (default `stub`); any other name gets a 404. */
  readonly model?: string;
  /** Milliseconds before each completion is sent. */
  readonly latencyMs?: number;
  /** Share of completion requests answered with `failStatus` (drawn from the seeded generator). */
  readonly failRate?: number;
  /** The first this-many well-formed completion requests fail, for deterministic tests. */
  readonly failFirst?: number;
  /** 429, 500, 503...: the status of a failed request (default 500). */
  readonly failStatus?: number;
  /** Share of samples that answer with an illegal move. */
  readonly invalidRate?: number;
  /** The first this-many samples answer with an illegal move. */
  readonly invalidFirst?: number;
  readonly seed?: number;
  /** How the legal move is chosen: `random` (default), `first`, or a function. */
  readonly policy?: 'random' | 'first' | StubPolicy;
  /** Called as each request is answered (tests read arrival times and statuses from it). */
  readonly onRequest?: (event: StubRequest) => void;
}

export interface StubRequest {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  /** performance.now() when the request arrived. */
  readonly receivedAt: number;
}

export interface StubStats {
  /** Chat-completion requests received. */
  requests: number;
  failures: number;
  invalidSamples: number;
  active: number;
  maxActive: number;
  /** TCP connections accepted: with keep-alive, far fewer than requests. */
  connections: number;
}

export interface LlmStub {
  /** The API root to give a client, `http://127.0.0.1:PORT/v1`. */
  readonly url: string;
  readonly port: number;
  readonly model: string;
  readonly stats: Readonly<StubStats>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 8 * 1024 * 1024;

const content = z.union([z.string(), z.array(z.object({ type: z.string(), text: z.string().optional() }))]);
const chatRequest = z.object({
  model: z.string(),
  messages: z.array(z.object({ role: z.string(), content: content.nullable().optional() })).min(1),
  n: z.number().int().min(1).max(128).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  return_token_ids: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  /** vLLM's extension: the completion is exactly one of these. */
  guided_choice: z.array(z.string()).min(1).max(10_000).nullish(),
});
type ChatRequest = z.infer<typeof chatRequest>;

/** An OpenAI-style error body. */
const errorBody = (message: string, type: string, code: string | null, param: string | null = null) => ({ error: { message, type, param, code } });

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => resolve(size > MAX_BODY_BYTES ? null : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

type ReadRequest = { readonly ok: true; readonly request: ChatRequest } | { readonly ok: false; readonly status: number; readonly body: unknown };

/** A well-formed request for the served model, or the error response it gets. */
function readRequest(raw: string | null, serves: (name: string) => boolean): ReadRequest {
  const reject = (status: number, message: string, code: string | null = null, param: string | null = null): ReadRequest => ({
    ok: false,
    status,
    body: errorBody(message, 'invalid_request_error', code, param),
  });
  if (raw === null) return reject(413, `the request body is larger than ${MAX_BODY_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return reject(400, 'the request body is not JSON');
  }
  const parsed = chatRequest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.join('.');
    return reject(400, `bad request: ${where || 'body'}: ${issue.message}`, null, where || null);
  }
  if (!serves(parsed.data.model)) return reject(404, `The model \`${parsed.data.model}\` does not exist.`, 'model_not_found', 'model');
  if (parsed.data.stream) return reject(400, 'the stub does not stream; send stream: false', null, 'stream');
  return { ok: true, request: parsed.data };
}

const textOf = (c: ChatRequest['messages'][number]['content']) => (typeof c === 'string' ? c : (c ?? []).map((part) => part.text ?? '').join(''));

/**
 * A chat-completions server for tests and GPU-less pipelines: it reads the
 * legal actions from the prompt's `Valid actions:` line and answers with one of
 * them in \boxed{}, with configurable latency, failures and illegal answers,
 * and returns logprobs and (vLLM-style) token ids when asked.
 */
export async function startLlmStub(options: LlmStubOptions = {}): Promise<LlmStub> {
  const model = options.model ?? 'stub';
  const adapters = new LoraAdapters();
  const latencyMs = options.latencyMs ?? 0;
  const failStatus = options.failStatus ?? 500;
  const policy = typeof options.policy === 'function' ? options.policy : STUB_POLICIES[options.policy ?? 'random'];
  const rng = new Rng(options.seed ?? 0);
  const stats: StubStats = { requests: 0, failures: 0, invalidSamples: 0, active: 0, maxActive: 0, connections: 0 };
  let samples = 0;
  let served = 0;
  let created = 0;

  const completion = (request: ChatRequest) => {
    const messages: ChatMessage[] = request.messages.map((m) => ({ role: m.role as ChatMessage['role'], content: textOf(m.content) }));
    const actions = promptedActions(messages);
    const top = request.logprobs ? (request.top_logprobs ?? 0) : 0;
    const prompt = promptTokens(messages);
    let completionTokens = 0;
    const choices = Array.from({ length: request.n ?? 1 }, (_, index) => {
      const invalid = samples++ < (options.invalidFirst ?? 0) || rng.next() < (options.invalidRate ?? 0);
      if (invalid) stats.invalidSamples++;
      const text = request.guided_choice
        ? policy(request.guided_choice, rng, messages)
        : ((actions === null && !invalid ? roleReply(lastUserText(messages), rng) : null) ?? replyText(actions, actions?.length && !invalid ? policy(actions, rng, messages) : null));
      const tokens = tokenize(text);
      completionTokens += tokens.length;
      return {
        index,
        message: { role: 'assistant', content: text },
        logprobs: request.logprobs ? { content: logprobContent(tokens, top), refusal: null } : null,
        finish_reason: 'stop',
        ...(request.return_token_ids ? { token_ids: tokens.map(tokenId) } : {}),
      };
    });
    return {
      id: `chatcmpl-stub-${++created}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices,
      usage: { prompt_tokens: prompt.length, completion_tokens: completionTokens, total_tokens: prompt.length + completionTokens },
      ...(request.return_token_ids ? { prompt_token_ids: prompt.map(tokenId) } : {}),
    };
  };

  const chat = async (req: IncomingMessage, res: ServerResponse): Promise<number> => {
    stats.requests++;
    const read = readRequest(await readBody(req), (name) => name === model || adapters.loaded.has(name));
    if (!read.ok) {
      send(res, read.status, read.body);
      return read.status;
    }
    const request = read.request;
    if (++served <= (options.failFirst ?? 0) || rng.next() < (options.failRate ?? 0)) {
      stats.failures++;
      send(res, failStatus, errorBody(`injected failure (${failStatus})`, failStatus === 429 ? 'rate_limit_error' : 'server_error', null));
      return failStatus;
    }
    stats.active++;
    stats.maxActive = Math.max(stats.maxActive, stats.active);
    try {
      if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
      send(res, 200, completion(request));
    } finally {
      stats.active--;
    }
    return 200;
  };

  const server = createServer((req, res) => {
    const receivedAt = performance.now();
    const path = (req.url ?? '/').split('?')[0];
    const answer = async (): Promise<number> => {
      if (req.method === 'POST' && path === '/v1/chat/completions') return chat(req, res);
      if (req.method === 'GET' && path === '/v1/models') {
        const names = [model, ...adapters.loaded.keys()];
        send(res, 200, { object: 'list', data: names.map((id) => ({ id, object: 'model', created: 0, owned_by: 'selfplay-stub' })) });
        return 200;
      }
      if (req.method === 'POST' && (path === '/v1/load_lora_adapter' || path === '/v1/unload_lora_adapter')) {
        const { status, text } = adapters.handle(path === '/v1/load_lora_adapter' ? 'load_lora_adapter' : 'unload_lora_adapter', await readBody(req));
        res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
        return status;
      }
      send(res, 404, errorBody(`no route for ${req.method} ${path}; the stub serves GET /v1/models, POST /v1/chat/completions and vLLM's POST /v1/load_lora_adapter and /v1/unload_lora_adapter`, 'invalid_request_error', null));
      return 404;
    };
    answer().then(
      (status) => options.onRequest?.({ method: req.method ?? '', path, status, receivedAt }),
      (error: Error) => {
        if (!res.headersSent) send(res, 500, errorBody(`the stub failed: ${error.message}`, 'server_error', null));
      },
    );
  });
  server.on('connection', () => stats.connections++);
  // Longer than clients keep idle sockets, so a reused socket is not closed under a request.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(listenError('127.0.0.1', options.port ?? 0, error)));
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    model,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
