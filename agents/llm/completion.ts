import type { ChatGeneration, LLMResult } from '@langchain/core/outputs';
import { LlmError } from './errors.ts';

/** One sampled answer, with the token data the server returned for it. */
export interface ModelSample {
  readonly text: string;
  readonly finishReason?: string;
  /** Completion token ids (vLLM with `return_token_ids`). */
  readonly tokenIds?: readonly number[];
  /** Log-probability of each completion token. */
  readonly logprobs?: readonly number[];
  /** The completion tokens as text, kept when the server gives logprobs but no ids. */
  readonly tokens?: readonly string[];
  /** Per token, the most likely alternatives (when `topLogprobs` > 0). */
  readonly topLogprobs?: readonly (readonly { readonly token: string; readonly logprob: number }[])[];
}

export interface Usage {
  readonly promptTokens?: number;
  readonly completionTokens?: number;
  readonly totalTokens?: number;
}

/** A model's answer to one prompt: `n` samples, and what it cost. */
export interface ModelCompletion {
  /** The model name the server reports: the policy version. */
  readonly model: string;
  readonly samples: readonly ModelSample[];
  readonly promptTokenIds?: readonly number[];
  readonly usage?: Usage;
  /** From the first request to the answer, retries and waits included. */
  readonly latencyMs: number;
  /** Requests made (1 when the first one succeeded). */
  readonly attempts: number;
  /** Why each failed request failed. */
  readonly failures: readonly string[];
}

interface RawTokenLogprob {
  token?: unknown;
  logprob?: unknown;
  top_logprobs?: { token?: unknown; logprob?: unknown }[];
}

/** The fields of an OpenAI chat completion that LangChain does not surface: vLLM's token ids. */
interface RawCompletion {
  model?: unknown;
  choices?: { token_ids?: unknown }[];
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown; total_tokens?: unknown };
  prompt_token_ids?: unknown;
}

const integers = (value: unknown): number[] | undefined =>
  Array.isArray(value) && value.every((x) => Number.isInteger(x)) ? (value as number[]) : undefined;
const count = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

function tokenData(logprobs: unknown, withIds: boolean, withTop: boolean): Pick<ModelSample, 'logprobs' | 'tokens' | 'topLogprobs'> {
  const content = (logprobs as { content?: unknown } | undefined)?.content;
  if (!Array.isArray(content)) return {};
  const entries = content as RawTokenLogprob[];
  return {
    logprobs: entries.map((t) => (typeof t.logprob === 'number' ? t.logprob : NaN)),
    ...(withIds ? {} : { tokens: entries.map((t) => String(t.token ?? '')) }),
    ...(withTop ? { topLogprobs: entries.map((t) => (t.top_logprobs ?? []).map((a) => ({ token: String(a.token ?? ''), logprob: Number(a.logprob) }))) } : {}),
  };
}

/**
 * Reads LangChain's result for one prompt: text, finish reason and logprobs
 * from each generation, and from the raw response (kept with
 * `__includeRawResponse`) the model name, usage and vLLM's token ids.
 */
export function readCompletion(result: LLMResult, requestedModel: string, withTop: boolean): Omit<ModelCompletion, 'latencyMs' | 'attempts' | 'failures'> {
  const generations = (result.generations[0] ?? []) as ChatGeneration[];
  if (generations.length === 0) throw new LlmError('bad-response', `the server answered model "${requestedModel}" with no choices`, false);
  const raw = (generations[0].message?.additional_kwargs?.__raw_response ?? {}) as RawCompletion;
  const samples = generations.map((generation, i): ModelSample => {
    const tokenIds = integers(raw.choices?.[i]?.token_ids);
    const finishReason = generation.generationInfo?.finish_reason;
    return {
      text: generation.text,
      ...(typeof finishReason === 'string' ? { finishReason } : {}),
      ...(tokenIds ? { tokenIds } : {}),
      ...tokenData(generation.generationInfo?.logprobs, tokenIds !== undefined, withTop),
    };
  });
  const promptTokenIds = integers(raw.prompt_token_ids);
  const usage = raw.usage && {
    promptTokens: count(raw.usage.prompt_tokens),
    completionTokens: count(raw.usage.completion_tokens),
    totalTokens: count(raw.usage.total_tokens),
  };
  return {
    model: typeof raw.model === 'string' ? raw.model : requestedModel,
    samples,
    ...(promptTokenIds ? { promptTokenIds } : {}),
    ...(usage ? { usage } : {}),
  };
}
