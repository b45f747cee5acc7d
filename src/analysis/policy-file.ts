import { readFile, writeFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ConfigError, type Game, type GameParams } from '../core/index.ts';
import { PROBABILITY_TOLERANCE, type TabularPolicy } from './policy.ts';

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

/** Writes `policy` for `game` to `path` as a policy file, validating it first. */
export async function savePolicy(path: string, game: Game, policy: TabularPolicy, meta?: Record<string, unknown>): Promise<void> {
  const file = parsePolicyFile(game, policyFile(game, policy, meta), 'the policy to save');
  await writeFile(path, `${JSON.stringify(file, null, 1)}\n`);
}

/** Reads and validates a policy file for `game` (see `parsePolicyFile`). */
export async function loadPolicy(path: string, game: Game): Promise<PolicyFile> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`cannot read policy file ${path}: ${(error as Error).message}`);
  }
  return parsePolicyFile(game, data, `policy file ${path}`);
}
