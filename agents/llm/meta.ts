import type { ModelSampleMeta, ModelTurnMeta } from '../../src/episodes/model-meta.ts';
import { LIMITS } from '../../src/runtime/messages.ts';
import type { ChatMessage } from './chat.ts';
import type { ModelCompletion, ModelSample } from './completion.ts';

/** The played sample's token data, under the names an episode step uses. */
function sampleFields(sample: ModelSample): ModelSampleMeta {
  return {
    completion: sample.text,
    ...(sample.finishReason ? { finishReason: sample.finishReason } : {}),
    ...(sample.tokenIds ? { completionTokenIds: sample.tokenIds } : {}),
    ...(sample.logprobs ? { logprobs: sample.logprobs } : {}),
    ...(sample.tokens ? { tokens: sample.tokens } : {}),
    ...(sample.topLogprobs ? { topLogprobs: sample.topLogprobs } : {}),
  };
}

/**
 * What an llm turn records in the episode: the messages sent, the played
 * completion with its token ids and logprobs, the model (the policy version),
 * usage, latency and attempts; with n > 1 every sample too, `chosen` naming
 * the one played and, when the caller checked them, `valid` saying which
 * ones named a legal action.
 */
export function turnMeta(messages: readonly ChatMessage[], completion: ModelCompletion, chosen: number, valid?: readonly boolean[]): ModelTurnMeta {
  const { samples } = completion;
  return {
    model: completion.model,
    messages,
    ...sampleFields(samples[chosen]),
    ...(completion.promptTokenIds ? { promptTokenIds: completion.promptTokenIds } : {}),
    ...(completion.usage ? { usage: completion.usage } : {}),
    latencyMs: Math.round(completion.latencyMs * 1000) / 1000,
    attempts: completion.attempts,
    ...(completion.failures.length ? { failures: completion.failures } : {}),
    ...(samples.length > 1 ? { chosen, samples: samples.map((s, i) => ({ ...sampleFields(s), ...(valid ? { valid: valid[i] } : {}) })) } : {}),
  };
}

/** Dropped first when meta would not fit in a protocol message: the bulkiest data that training needs least. */
const DROP_ORDER = ['topLogprobs', 'samples', 'tokens', 'logprobs', 'completionTokenIds', 'promptTokenIds', 'messages', 'completion'] as const satisfies readonly (keyof ModelTurnMeta)[];

/**
 * An upper bound on the length of `value` as JSON (a character escapes to at
 * most 6), found by walking it without building the text.
 */
function jsonLengthBound(value: unknown): number {
  if (typeof value === 'string') return 6 * value.length + 2;
  if (typeof value === 'number') return 24;
  if (Array.isArray(value)) return value.reduce((n: number, item) => n + jsonLengthBound(item) + 1, 2);
  if (value !== null && typeof value === 'object') {
    let n = 2;
    for (const key in value) n += 6 * key.length + 4 + jsonLengthBound((value as Record<string, unknown>)[key]);
    return n;
  }
  return 5;
}

/**
 * Meta that fits the protocol's size limit: larger meta would make the referee
 * reject the reply as malformed. Fields are dropped in DROP_ORDER and named in
 * `omitted`, so a consumer sees what is missing and why.
 */
export function fitMeta(meta: Record<string, unknown>, limit: number = LIMITS.metaBytes): Record<string, unknown> {
  if (jsonLengthBound(meta) <= limit || JSON.stringify(meta).length <= limit) return meta;
  const fitted: Record<string, unknown> = { ...meta };
  const omitted: string[] = [];
  for (const field of DROP_ORDER) {
    if (!(field in fitted)) continue;
    delete fitted[field];
    omitted.push(field);
    fitted.omitted = { fields: omitted, reason: `the turn's data was larger than the ${limit}-byte limit on meta` };
    if (JSON.stringify(fitted).length <= limit) break;
  }
  return fitted;
}
