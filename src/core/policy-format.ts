import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import type { Game, GameParams } from './game.ts';

/**
 * A tabular policy: information-state key (`game.infoKey(state, seat)`) ->
 * action text (`game.actionText(state, action)`) -> probability. Plain JSON
 * data; one object holds the policy of every seat (games' keys are distinct
 * across seats). An information state the policy does not list is played
 * uniformly; a legal action its entry does not list has probability 0.
 */
export type TabularPolicy = Readonly<Record<string, Readonly<Record<string, number>>>>;

/** How far an information state's probabilities may sum from 1. */
export const PROBABILITY_TOLERANCE = 1e-6;

/**
 * Writes the probabilities `policy` gives the actions `texts` of information
 * state `key` into `out[offset...]`. Throws ConfigError for a negative
 * probability or for probabilities over the legal actions that do not sum to 1
 * (which is also what a policy made for another game looks like).
 */
export function readProbabilities(policy: TabularPolicy, key: string, texts: readonly string[], out: { [i: number]: number }, offset: number): void {
  const entry = Object.hasOwn(policy, key) ? policy[key] : undefined;
  const count = texts.length;
  if (entry === undefined) {
    for (let k = 0; k < count; k++) out[offset + k] = 1 / count;
    return;
  }
  let sum = 0;
  for (let k = 0; k < count; k++) {
    const p = entry[texts[k]];
    const probability = typeof p === 'number' ? p : 0;
    if (!(probability >= 0)) throw new ConfigError(`policy gives ${texts[k]} at information state "${key}" the probability ${p}; probabilities are numbers >= 0`);
    out[offset + k] = probability;
    sum += probability;
  }
  if (Math.abs(sum - 1) > PROBABILITY_TOLERANCE) {
    throw new ConfigError(`policy at information state "${key}" gives the legal actions ${texts.join(' ')} probabilities summing to ${sum}; expected 1`);
  }
}

export const POLICY_FORMAT = 'selfplay.tabular-policy';

/**
 * A tabular policy on disk (JSON):
 *
 * ```json
 * {
 *   "format": "selfplay.tabular-policy",
 *   "version": 1,
 *   "game": "kuhn-poker",
 *   "params": { "hands": 1, "scoring": "chips" },
 *   "policy": { "0|K": { "[check]": 0.2, "[bet]": 0.8 }, ... },
 *   "meta": { "algorithm": "cfr+", "iterations": 200 }
 * }
 * ```
 *
 * `game` and `params` are the game's `id` and `params`; `policy` maps
 * information-state keys to action texts to probabilities (each information
 * state's probabilities are >= 0 and sum to 1 within 1e-6); `meta` is free
 * (what made the policy).
 */
export interface PolicyFile {
  readonly format: typeof POLICY_FORMAT;
  readonly version: 1;
  readonly game: string;
  readonly params: GameParams;
  readonly policy: TabularPolicy;
  readonly meta?: Readonly<Record<string, unknown>>;
}

const policyFileSchema = z.object({
  format: z.literal(POLICY_FORMAT),
  version: z.literal(1),
  game: z.string(),
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  policy: z.record(
    z.string(),
    z.record(z.string(), z.number().nonnegative()).superRefine((entry, context) => {
      const sum = Object.values(entry).reduce((a, b) => a + b, 0);
      if (Math.abs(sum - 1) > PROBABILITY_TOLERANCE) context.addIssue({ code: 'custom', message: `probabilities sum to ${sum}, not 1` });
    }),
  ),
  meta: z.record(z.string(), z.unknown()).optional(),
});

/** The file form of `policy` for `game`. */
export function policyFile(game: Game, policy: TabularPolicy, meta?: Record<string, unknown>): PolicyFile {
  return { format: POLICY_FORMAT, version: 1, game: game.id, params: game.params, policy, ...(meta ? { meta } : {}) };
}

/**
 * Validates parsed JSON as a policy file for `game`; throws ConfigError for a
 * malformed file, a file for another game or other parameters, or probabilities
 * that are negative or do not sum to 1. `source` names the file in messages.
 */
export function parsePolicyFile(game: Game, data: unknown, source = 'policy file'): PolicyFile {
  const result = policyFileSchema.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || 'file'}: ${issue.message}`).join('; ');
    throw new ConfigError(`${source} is not a valid ${POLICY_FORMAT} version 1 file (${problems})`);
  }
  const file = result.data as PolicyFile;
  if (file.game !== game.id) throw new ConfigError(`${source} holds a policy for game "${file.game}", not "${game.id}"`);
  if (!isDeepStrictEqual({ ...file.params }, { ...game.params })) {
    throw new ConfigError(`${source} holds a policy for ${game.id} with parameters ${JSON.stringify(file.params)}, not ${JSON.stringify(game.params)}`);
  }
  return file;
}
