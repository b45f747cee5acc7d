import { z } from 'zod';

/** One sampled completion, under the names an episode step uses. */
export type ModelSampleMeta = {
  readonly completion: string;
  readonly finishReason?: string;
  readonly completionTokenIds?: readonly number[];
  /** Log-probability of each completion token. */
  readonly logprobs?: readonly number[];
  /** The completion tokens as text, when the server gave logprobs but no ids. */
  readonly tokens?: readonly string[];
  /** Per token, the most likely alternatives. */
  readonly topLogprobs?: readonly (readonly { readonly token: string; readonly logprob: number }[])[];
};

/**
 * What a language-model turn records in its step's `meta`: the model (the
 * policy version), the messages sent, the played sample's data, usage, latency
 * and attempts; with n > 1 every sample too, `chosen` naming the one played.
 * A type, not an interface, so that it is a plain record for step meta.
 */
export type ModelTurnMeta = ModelSampleMeta & {
  readonly model: string;
  readonly messages: readonly { readonly role: string; readonly content: string }[];
  readonly promptTokenIds?: readonly number[];
  readonly usage?: { readonly promptTokens?: number; readonly completionTokens?: number; readonly totalTokens?: number };
  readonly latencyMs: number;
  readonly attempts: number;
  /** Why each failed request failed. */
  readonly failures?: readonly string[];
  readonly chosen?: number;
  /** `valid`: whether the sample named a legal action, when the agent checked. */
  readonly samples?: readonly (ModelSampleMeta & { readonly valid?: boolean })[];
  /** The fields dropped to fit the protocol's limit on meta, and why. */
  readonly omitted?: { readonly fields: readonly string[]; readonly reason: string };
};

type FieldSchemas = { readonly [K in keyof ModelTurnMeta]-?: z.ZodType<ModelTurnMeta[K]> };

// Optional schemas accept undefined, but only present fields are checked.
const sampleFields = {
  completion: z.string(),
  finishReason: z.string().optional(),
  completionTokenIds: z.array(z.int()).optional(),
  logprobs: z.array(z.number()).optional(),
  tokens: z.array(z.string()).optional(),
  topLogprobs: z.array(z.array(z.object({ token: z.string(), logprob: z.number() }))).optional(),
};

const FIELDS: FieldSchemas = {
  ...sampleFields,
  model: z.string(),
  messages: z.array(z.object({ role: z.string(), content: z.string() })),
  promptTokenIds: z.array(z.int()).optional(),
  usage: z.object({ promptTokens: z.number().optional(), completionTokens: z.number().optional(), totalTokens: z.number().optional() }).optional(),
  latencyMs: z.number(),
  attempts: z.int(),
  failures: z.array(z.string()).optional(),
  chosen: z.int().optional(),
  samples: z.array(z.object({ ...sampleFields, valid: z.boolean().optional() })).optional(),
  omitted: z.object({ fields: z.array(z.string()), reason: z.string() }).optional(),
};

const ALL_FIELDS = Object.keys(FIELDS) as (keyof ModelTurnMeta)[];

/**
 * The model data in a step's meta, typed: each of `fields` (default all) that
 * is present and of its type. Meta comes from any agent, so a field that is
 * missing, dropped to fit (`omitted`) or malformed is simply absent.
 */
export function readModelMeta(meta: unknown): Partial<ModelTurnMeta>;
export function readModelMeta<K extends keyof ModelTurnMeta>(meta: unknown, fields: readonly K[]): Partial<Pick<ModelTurnMeta, K>>;
export function readModelMeta(meta: unknown, fields: readonly (keyof ModelTurnMeta)[] = ALL_FIELDS): Partial<ModelTurnMeta> {
  if (typeof meta !== 'object' || meta === null) return {};
  const read: Record<string, unknown> = {};
  for (const field of fields) {
    const value = (meta as Record<string, unknown>)[field];
    if (value !== undefined && FIELDS[field].safeParse(value).success) read[field] = value;
  }
  return read as Partial<ModelTurnMeta>;
}
