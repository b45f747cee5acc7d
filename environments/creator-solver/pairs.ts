import { readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * A preference pair for DPO/SPPO-style training: the best and the worst of a
 * prompt's sampled responses. `prompt`, `chosen` and `rejected` are the field
 * names DPO trainers (TRL's DPOTrainer among them) read.
 */
export interface PreferencePair {
  /** The question the solvers answered (the solver role's input). */
  readonly prompt: string;
  /** The best-scored response: the solver's final answer as its role output gave it. */
  readonly chosen: string;
  /** The worst-scored readable response. */
  readonly rejected: string;
  readonly chosenReward: number;
  readonly rejectedReward: number;
  /** The task family the prompt came from. */
  readonly family: string;
}

/**
 * The pair of a prompt's responses: the best and the worst readable one (the
 * first of each among equals), or null when fewer than two were readable or
 * the best scored no more than the worst. A response with no text (a scripted
 * solver's malformed answer) takes no part; a model's unreadable reply has its
 * text and takes part with its reward.
 */
export function preferencePair(
  prompt: string,
  family: string,
  responses: readonly { readonly text: string | null; readonly reward: number }[],
): PreferencePair | null {
  const readable = responses.filter((r): r is { text: string; reward: number } => r.text !== null);
  if (readable.length < 2) return null;
  let best = readable[0];
  let worst = readable[0];
  for (const r of readable) {
    if (r.reward > best.reward) best = r;
    if (r.reward < worst.reward) worst = r;
  }
  if (!(best.reward > worst.reward)) return null;
  return { prompt, chosen: best.text, rejected: worst.text, chosenReward: best.reward, rejectedReward: worst.reward, family };
}

/** Writes the pairs as JSONL, one `{"prompt", "chosen", "rejected", "chosenReward", "rejectedReward", "family"}` object a line (an empty file for none). */
export function writePreferencePairs(path: string, pairs: readonly PreferencePair[]): void {
  const lines = pairs.map((p) =>
    JSON.stringify({ prompt: p.prompt, chosen: p.chosen, rejected: p.rejected, chosenReward: p.chosenReward, rejectedReward: p.rejectedReward, family: p.family }),
  );
  writeFileSync(path, lines.map((l) => `${l}\n`).join(''), 'utf8');
}

export const pairSchema = z.object({
  prompt: z.string(),
  chosen: z.string(),
  rejected: z.string(),
  chosenReward: z.number(),
  rejectedReward: z.number(),
  family: z.string(),
});

/** Reads a file `writePreferencePairs` wrote; throws naming the first bad line. */
export function readPreferencePairs(path: string): PreferencePair[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      const parsed = pairSchema.safeParse(JSON.parse(line));
      if (!parsed.success) throw new Error(`${path}:${i + 1}: not a preference pair: ${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message}`);
      return parsed.data;
    });
}
