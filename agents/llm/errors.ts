import { SelfplayError } from '../../src/core/index.ts';

/** Why a model call failed; the error's `code` is `llm-<failure>`. */
export type LlmFailure = 'unreachable' | 'timeout' | 'rate-limited' | 'server-error' | 'unknown-model' | 'rejected' | 'bad-response';

/** A failed call to a model server, with whether trying again may help. */
export class LlmError extends SelfplayError {
  constructor(
    readonly failure: LlmFailure,
    message: string,
    readonly retryable: boolean,
    /** What the server asked us to wait (Retry-After), when it said. */
    readonly retryAfterMs?: number,
  ) {
    super(`llm-${failure}`, message);
  }
}

/** How OpenAI, vLLM and Ollama word an unknown model ("The model `x` does not exist", `model "x" not found`). */
const UNKNOWN_MODEL = /model\b.{0,300}\b(does not exist|not found)/i;
const RETRYABLE_STATUS = new Set([408, 409, 425, 429, 500, 502, 503, 504]);
const RETRYABLE_CONNECTION = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);
const CONNECTION_WORDS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  ETIMEDOUT: 'connection timed out',
};

interface HttpErrorLike {
  status?: unknown;
  message?: unknown;
  headers?: { get?(name: string): string | null | undefined };
  error?: unknown;
  code?: unknown;
  cause?: unknown;
}

/** The first `code` along an error's cause chain (ECONNREFUSED and friends hide under the SDK's "Connection error."). */
function systemCode(error: unknown): string | undefined {
  for (let e = error as HttpErrorLike | undefined, depth = 0; e && depth < 6; e = e.cause as HttpErrorLike | undefined, depth++) {
    if (typeof e.code === 'string' && /^[A-Z_]+$/.test(e.code)) return e.code;
  }
  return undefined;
}

function retryAfterMs(error: HttpErrorLike): number | undefined {
  const get = (name: string) => (typeof error.headers?.get === 'function' ? error.headers.get(name) : undefined);
  const ms = Number(get('retry-after-ms'));
  if (Number.isFinite(ms) && ms >= 0 && get('retry-after-ms') != null) return ms;
  const seconds = Number(get('retry-after'));
  if (Number.isFinite(seconds) && seconds >= 0 && get('retry-after') != null) return seconds * 1000;
  return undefined;
}

/** The server's own words: the body's error message when it sent one, else the error's message. */
function serverMessage(error: HttpErrorLike): string {
  const body = error.error as { message?: unknown } | undefined;
  if (body && typeof body.message === 'string') return body.message;
  return typeof error.message === 'string' ? error.message : String(error);
}

/**
 * Reads an error thrown by the OpenAI client (through LangChain) as an
 * LlmError that says what went wrong at which endpoint and whether a retry
 * may help. Errors are read by shape (status, headers, cause codes), not by class.
 */
export function classifyFailure(error: unknown, endpoint: string, model: string): LlmError {
  if (error instanceof LlmError) return error;
  const e = (error ?? {}) as HttpErrorLike;
  if (typeof e.status === 'number') {
    const status = e.status;
    const said = serverMessage(e);
    if (status === 404) {
      if (e.code === 'model_not_found' || UNKNOWN_MODEL.test(said)) return new LlmError('unknown-model', `the server at ${endpoint} does not serve model "${model}" (404: ${said})`, false);
      return new LlmError('rejected', `${endpoint}/chat/completions was not found (404: ${said}); is the base URL right? It usually ends in /v1`, false);
    }
    if (status === 429) return new LlmError('rate-limited', `the server at ${endpoint} is rate limiting requests (429: ${said})`, true, retryAfterMs(e));
    if (RETRYABLE_STATUS.has(status) || status >= 500) return new LlmError('server-error', `the server at ${endpoint} failed (${status}: ${said})`, true, retryAfterMs(e));
    return new LlmError('rejected', `the server at ${endpoint} rejected the request (${status}: ${said})`, false);
  }
  const code = systemCode(error);
  if (code) {
    const words = CONNECTION_WORDS[code] ?? code;
    return new LlmError('unreachable', `cannot reach the model server at ${endpoint} (${words}); is it running?`, RETRYABLE_CONNECTION.has(code));
  }
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (/connection error|fetch failed|socket hang up/i.test(message)) {
    return new LlmError('unreachable', `cannot reach the model server at ${endpoint} (${message}); is it running?`, true);
  }
  return new LlmError('bad-response', `the call to ${endpoint} failed: ${message}`, false);
}
