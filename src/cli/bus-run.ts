import { basename } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import type { GamePrompts } from '../../agents/llm/game-prompt.ts';
import { ConfigError } from '../core/index.ts';
import { intOption, numberOption } from './output.ts';
import type { OpponentShare } from '../trainer/league.ts';

/**
 * What `train-llm --bus` writes for its actors (`selfplay actor`), so that an
 * actor needs only the server and the run's name: the game, the policy and
 * where to sample it, the prompts and temperature, and the fixed opponents'
 * specs by share label.
 */
const hostedRunSchema = z.object({
  kind: z.literal('train-llm'),
  game: z.string(),
  policy: z.string(),
  apiBase: z.string(),
  temperature: z.number(),
  prompts: z.record(z.string(), z.object({ system: z.string().optional(), user: z.string().optional(), retry: z.string().optional() })).nullable(),
  anchors: z.record(z.string(), z.string()),
  // Games sampled over the Tinker API (train-llm --tokenizer): the server, and the tokenizer folder at the same path on every actor's machine.
  tinker: z.object({ url: z.string(), tokenizer: z.string(), maxTokens: z.number().int().positive().optional() }).optional(),
});
export type HostedRunDescription = z.infer<typeof hostedRunSchema>;

/** What `train --bus` writes: the game (a registered name with its parameters, or a module path the actors can load too). */
const tabularRunSchema = z.object({ kind: z.literal('train'), game: z.string() });
export type TabularRunDescription = z.infer<typeof tabularRunSchema>;

const busRunSchema = z.discriminatedUnion('kind', [hostedRunSchema, tabularRunSchema]);

/** A run's default name on the bus: its folder's. */
export const defaultBusRun = (dir: string): string => basename(dir).replace(/[^\w-]+/g, '_').slice(0, 64);

export function describeHostedRun(run: {
  readonly game: string;
  readonly policy: string;
  readonly apiBase: string;
  readonly temperature: number;
  readonly prompts: GamePrompts | undefined;
  readonly shares: readonly OpponentShare[];
  readonly tinker?: HostedRunDescription['tinker'];
}): HostedRunDescription {
  const anchors = Object.fromEntries(run.shares.flatMap((share) => (share.source.kind === 'agent' ? [[share.label, share.source.spec]] : [])));
  return {
    kind: 'train-llm',
    game: run.game,
    policy: run.policy,
    apiBase: run.apiBase,
    temperature: run.temperature,
    prompts: (run.prompts as HostedRunDescription['prompts']) ?? null,
    anchors,
    ...(run.tinker ? { tinker: run.tinker } : {}),
  };
}

export function readBusRun(data: unknown, run: string): HostedRunDescription | TabularRunDescription {
  const parsed = busRunSchema.safeParse(data);
  if (!parsed.success) throw new ConfigError(`run "${run}" is not a train or train-llm run this actor can play (${parsed.error.issues[0].path.join('.')}: ${parsed.error.issues[0].message})`);
  return parsed.data;
}

/**
 * The learner's options for actors on a bus (`train` and `train-llm`): the
 * server, the run's name on it, actors in the learner's process, and how
 * long a dead actor's `jobs` or a dead learner's hold on the run last.
 */
export function learnerBusOptions(command: Command, text: { readonly bus: string; readonly jobs: string }): Command {
  return command
    .option('--bus <url>', text.bus)
    .option('--run <name>', "the run's name on the bus (its streams and bucket; default: the run folder's name; saved, so --resume goes on with the same actors)")
    .option('--local-actors <n>', `with --bus, ${text.jobs} this process plays at once too (default 0: the actor processes play them all)`, intOption('--local-actors'))
    .option('--ack-wait <seconds>', `with --bus, how long after an actor went silent (killed) its ${text.jobs} go to another`, numberOption('--ack-wait', 1), 30)
    .option('--lease <seconds>', 'with --bus, how long a learner that was killed keeps the run from the next one (--resume waits that long)', numberOption('--lease', 1), 30);
}
