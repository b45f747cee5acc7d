import { z } from 'zod';
import { EPISODE_SCHEMA, OUTCOMES, type Episode } from './episode.ts';
import { EpisodeError } from './errors.ts';
import { findNonJson } from './json-data.ts';

const seat = z.number().int().min(0);
const milliseconds = z.number().min(0);
// A union would do, but costs a failed branch (and its issue objects) on every step.
const stepSeat = z.custom<number | 'chance'>((value) => value === 'chance' || (Number.isSafeInteger(value) && (value as number) >= 0), {
  error: 'expected a seat number (an integer from 0) or "chance"',
});

const player = z.strictObject({
  seat,
  name: z.string(),
  role: z.string().optional(),
  policy: z.strictObject({ id: z.string(), version: z.union([z.string(), z.number()]) }).optional(),
});

const step = z.strictObject({
  seat: stepSeat,
  role: z.string().optional(),
  observation: z.string().optional(),
  infoKey: z.string().optional(),
  action: z.string(),
  parsed: z.unknown().optional(),
  valid: z.boolean(),
  error: z.string().optional(),
  ms: milliseconds.optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
});

/**
 * Episode schema v1 as zod. Objects are strict (an unknown key is an error, not
 * silently dropped), and the whole episode must be JSON data so that msgpack and
 * JSONL give back the same object.
 */
export const episodeSchema = z
  .strictObject({
    schema: z.literal(EPISODE_SCHEMA),
    id: z.string().min(1),
    game: z.strictObject({
      id: z.string().min(1),
      params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
    }),
    seed: z.number().int(),
    players: z.array(player),
    steps: z.array(step),
    history: z.array(z.unknown()),
    returns: z.array(z.number()),
    outcome: z.enum(OUTCOMES),
    reason: z.string().optional(),
    offender: seat.optional(),
    startedAt: z.string().optional(),
    durationMs: milliseconds.optional(),
  })
  .superRefine((episode, ctx) => {
    const found = findNonJson(episode);
    if (found) ctx.addIssue({ code: 'custom', message: found.message, path: found.path });
  }) satisfies z.ZodType<Episode>;

/** What is wrong with `value` as a schema v1 episode (up to three problems, each naming its field), or undefined. */
export function episodeProblem(value: unknown): string | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const version = (value as { schema?: unknown }).schema;
    if (version === undefined) return `no "schema" field (expected episode schema version ${EPISODE_SCHEMA})`;
    if (version !== EPISODE_SCHEMA) {
      const shown = typeof version === 'string' ? JSON.stringify(version) : String(version);
      return `episode schema version ${shown} is not supported (this reader reads version ${EPISODE_SCHEMA})`;
    }
  }
  const result = episodeSchema.safeParse(value);
  if (result.success) return undefined;
  return result.error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length ? `${issue.path.map(String).join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}

/** Returns `value` typed as an Episode, or throws EpisodeError naming the bad field. */
export function validateEpisode(value: unknown): Episode {
  const problem = episodeProblem(value);
  if (problem !== undefined) throw new EpisodeError(`invalid episode: ${problem}`);
  return value as Episode;
}
