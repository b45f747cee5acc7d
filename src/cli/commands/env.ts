import { closeSync, openSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { defaultIfEmpty, ignoreElements, lastValueFrom, tap } from 'rxjs';
import { environmentPlayers } from '../../../agents/environment.ts';
import { roles } from '../../../agents/roles/registry.ts';
import { writePreferencePairs, type PreferencePair } from '../../../environments/creator-solver/index.ts';
import { environments } from '../../../environments/index.ts';
import { ConfigError, type Environment } from '../../core/index.ts';
import { openEpisodeWriter } from '../../episodes/index.ts';
import { RoleTally, runEnvironment, type RoleRecord } from '../../runtime/index.ts';
import { returnMagnitudes, secCurriculumFor, type SecCurriculum } from '../../trainer/curriculum.ts';
import type { Episode } from '../../episodes/index.ts';
import { choice, intOption, numberOption, printJson, type CliIO } from '../output.ts';
import { progressBar } from '../progress.ts';

/** Every role an environment may have, as `--<role> <spec>` options. */
const ROLE_OPTIONS = Object.keys(roles);
const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

interface EnvOptions {
  steps: number;
  seed: number;
  concurrency: number;
  param: string[];
  turnTimeout: number;
  out?: string;
  pairs?: string;
  targets?: string;
  curriculum: 'uniform' | 'sec';
  secAlpha: number;
  secTemperature: number;
  secBatch: number;
  secRole: string;
  json?: boolean;
  [role: string]: unknown;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function parseParams(pairs: readonly string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--param takes key=value, not "${pair}"`);
    params[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return params;
}

function rolesTable(records: readonly RoleRecord[]): string {
  const rows = records.map((r) => [r.role, String(r.turns), r.meanReturn.toFixed(3), r.minReturn.toFixed(3), r.maxReturn.toFixed(3)]);
  const header = ['role', 'seats played', 'mean reward', 'min', 'max'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function listing(): string {
  return Object.entries(environments)
    .map(([name, entry]) => `${name}: ${entry.description}\n${Object.entries(entry.options).map(([key, text]) => `  --param ${key}=...  ${text}`).join('\n')}`)
    .join('\n\n');
}

/** Gathers episodes; each full batch updates SEC from the role's returns, normalised per category. */
function learnCurriculum(curriculum: SecCurriculum, batch: Episode[], episode: Episode, options: EnvOptions): void {
  batch.push(episode);
  if (batch.length < options.secBatch) return;
  curriculum.update(returnMagnitudes(batch, options.secRole));
  batch.length = 0;
}

export function registerEnv(program: Command, io: CliIO): void {
  const command = program
    .command('env')
    .description('run an asymmetric self-play environment (absolute-zero, self-play-critic, teacher-student, creator-solver, stp, sppo, spin, rest-mcts) with scripted or language-model roles')
    .argument('[name]', 'the environment; without it, the list of environments and their options')
    .option('--steps <n>', 'matches to play', intOption('--steps', 1), 20)
    .option('--param <key=value>', 'an option of the environment (repeatable; see `selfplay env` for each one\'s options)', collect, [])
    .option('--seed <n>', 'seed of the run', intOption('--seed'), 0)
    .option('--concurrency <n>', 'matches in flight at once (1 keeps a run replayable from its seed)', intOption('--concurrency', 1), 1)
    .option('--turn-timeout <ms>', 'milliseconds a role has for each answer', intOption('--turn-timeout', 1), 120_000)
    .option('--out <file>', 'write every episode to this file: .msgpack or .jsonl, appending')
    .option('--pairs <file>', 'creator-solver: write the preference pairs (prompt, chosen, rejected) as JSONL for DPO-style training')
    .option('--targets <file>', 'rest-mcts: write what each match teaches as JSONL (its traces, the best one, and a value target for every partial solution they pass through)')
    .option('--curriculum <name>', "how each match's task category is chosen (absolute-zero's task types, creator-solver's and sppo's families): uniform (the environment's own draw), or sec (the self-evolving curriculum, a bandit favouring the categories where --sec-role's returns vary most)", choice('--curriculum', ['uniform', 'sec'] as const), 'uniform')
    .option('--sec-alpha <x>', 'with --curriculum sec, the step size of each category\'s value update (0 to 1)', numberOption('--sec-alpha', 0), 0.5)
    .option('--sec-temperature <t>', 'with --curriculum sec, the temperature of the choice among categories (lower is greedier)', numberOption('--sec-temperature', 0), 0.25)
    .option('--sec-batch <n>', 'with --curriculum sec, matches per update of the bandit', intOption('--sec-batch', 1), 16)
    .option('--sec-role <role>', "with --curriculum sec, the role whose returns (normalised per category, as TRR++'s advantages) are the bandit's reward", 'solver')
    .option('--json', 'print one JSON object {environment, steps, roles: [...], stats}');
  for (const role of ROLE_OPTIONS) command.option(`--${role} <spec>`, `who plays the ${role}: scripted (default) or llm:model=NAME,base=URL,...`);
  command.action(async (name: string | undefined, options: EnvOptions) => {
    if (name === undefined) return io.out(listing());
    const entry = environments[name];
    if (!entry) throw new ConfigError(`unknown environment "${name}"; environments: ${Object.keys(environments).join(', ')}`);
    const environment: Environment = await entry.create(parseParams(options.param));
    const pairsOf = (environment as { preferencePairs?: () => readonly PreferencePair[] }).preferencePairs;
    if (options.pairs && !pairsOf) throw new ConfigError(`--pairs: ${name} makes no preference pairs (creator-solver does)`);
    if (options.targets && !environment.trainingTargets) throw new ConfigError(`--targets: ${name} has no training targets to write (rest-mcts has)`);
    const curriculum = options.curriculum === 'sec' ? secCurriculumFor(environment, { alpha: options.secAlpha, temperature: options.secTemperature }) : undefined;
    if (curriculum && !environment.roles.includes(options.secRole)) throw new ConfigError(`--sec-role: ${name} has no role "${options.secRole}"; its roles: ${[...new Set(environment.roles)].join(', ')}`);
    const specs = Object.fromEntries(ROLE_OPTIONS.flatMap((role) => (typeof options[camel(role)] === 'string' ? [[role, options[camel(role)] as string]] : [])));
    const players = environmentPlayers(environment, specs);
    const writer = options.out ? await openEpisodeWriter(options.out, { builtEpisodes: true }) : undefined;
    const targets = options.targets ? openSync(options.targets, 'a') : undefined;
    const batch: Episode[] = [];
    const bar = progressBar(name, options.steps);
    // Episodes stream to the file as their matches end (the run waits while the file is behind); only the tally stays.
    const tally = new RoleTally();
    try {
      await lastValueFrom(
        runEnvironment({ environment, players, matches: options.steps, seed: options.seed, concurrency: options.concurrency, turnTimeoutMs: options.turnTimeout, backpressure: writer, curriculum }).pipe(
          tap((episode) => {
            tally.add(episode);
            writer?.append(episode);
            if (targets !== undefined && episode.outcome === 'normal') {
              writeSync(targets, `${JSON.stringify({ episode: episode.id, ...environment.trainingTargets!(episode.game, episode.history).record })}\n`);
            }
            if (curriculum) learnCurriculum(curriculum, batch, episode, options);
            bar.update(tally.count);
          }),
          ignoreElements(),
          defaultIfEmpty(undefined),
        ),
      );
    } finally {
      bar.stop();
      await writer?.close();
      if (targets !== undefined) closeSync(targets);
    }
    if (options.pairs && pairsOf) writePreferencePairs(options.pairs, pairsOf.call(environment));
    const roles = tally.records();
    const stats = environment.stats();
    const { outcomes } = tally;
    const arms = curriculum?.arms();
    if (options.json) {
      return printJson(io, { environment: name, steps: tally.count, seed: options.seed, outcomes, roles, stats, ...(arms ? { curriculum: arms } : {}), ...(options.out ? { out: options.out } : {}), ...(options.pairs ? { pairs: options.pairs } : {}), ...(options.targets ? { targets: options.targets } : {}) });
    }
    if (options.out) io.out(`episodes written to ${options.out}`);
    if (options.pairs) io.out(`preference pairs written to ${options.pairs}`);
    if (options.targets) io.out(`training targets written to ${options.targets}`);
    const bandit = arms ? `\n\nSEC curriculum (category: value, probability, matches)\n${Object.entries(arms).map(([c, a]) => `${c}: ${a.value.toFixed(3)}, ${a.probability.toFixed(3)}, ${a.chosen}`).join('\n')}` : '';
    io.out(`${name}: ${tally.count} matches, seed ${options.seed}, outcomes ${Object.entries(outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}\n${rolesTable(roles)}\n\n${Object.entries(stats).map(([k, v]) => `${k}: ${v}`).join('\n')}${bandit}`);
  });
}
