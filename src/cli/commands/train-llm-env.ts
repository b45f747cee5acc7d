import { statSync } from 'node:fs';
import { join } from 'node:path';
import { environmentPlayers } from '../../../agents/environment.ts';
import { POLICY_HOST_DIR } from '../../../agents/hosted/process.ts';
import { COMPACT_ROLE_PROMPTS } from '../../../agents/roles/registry.ts';
import { loadChatTokenizer } from '../../../agents/llm/chat-tokenizer.ts';
import { environments } from '../../../environments/index.ts';
import { heldOutCriticSteps, SPC_DEFAULTS } from '../../../environments/self-play-critic/index.ts';
import { ConfigError, type Environment } from '../../core/index.ts';
import { checkAllChoices, checkChoiceStep, DEFAULT_CHOICE_ENTROPY, type ChoiceStep } from '../../trainer/all-choices.ts';
import { RoleBaselines } from '../../trainer/advantages.ts';
import { criticAccuracy, type CriticAccuracy } from '../../trainer/critic-accuracy.ts';
import { secCurriculumFor, type SecCurriculum } from '../../trainer/curriculum.ts';
import type { EpisodeAlgorithm } from '../../trainer/episode-trainer.ts';
import { trainEnvironment, type EnvIteration } from '../../trainer/env-loop.ts';
import { HostStudent } from '../../trainer/host-student.ts';
import type { SavedWeights } from '../../trainer/hosted-run.ts';
import { renderReport, type Chart } from '../../trainer/report.ts';
import type { CheckpointMarks, RunFolder } from '../../trainer/run-folder.ts';
import { openHostedRun } from '../hosted-setup.ts';
import { soarRescorer, soarSettings } from '../soar-student.ts';
import { printJson, type CliIO } from '../output.ts';
import { progressBar } from '../progress.ts';
import { parseParams } from './env.ts';

/** What an environment run saves in run.json. */
export interface EnvRunConfig {
  /** `env:<name>`. */
  readonly game: string;
  readonly param: readonly string[];
  readonly role: readonly string[];
  readonly baseModel: string;
  readonly loraRank: number;
  readonly iterations?: number;
  readonly games: number;
  readonly lr: number;
  readonly loss: string;
  readonly klCoef: number;
  readonly epochs: number;
  readonly ratioCap: number;
  readonly temperature: number;
  readonly algo: EpisodeAlgorithm;
  readonly seed: number;
  readonly concurrency: number;
  readonly keepEpisodes: number;
  readonly evalItems: number;
  /** Every this many updates (and at the end), the held-out critic accuracy; 0: only before and after. */
  readonly exactEvery: number;
  readonly guidedChoice: boolean;
  /** Absent in runs from before the option: full. */
  readonly rolePrompts?: 'compact' | 'full';
  /** Absent in runs from before the option: uniform. */
  readonly curriculum?: 'uniform' | 'sec';
  readonly secAlpha?: number;
  readonly secTemperature?: number;
  /** Absent in runs from before the option: policy-gradient. */
  readonly objective?: 'policy-gradient' | 'sppo' | 'spin' | 'imitation' | 'all-choices';
  readonly sppoEta?: number;
  readonly spinBeta?: number;
  /** all-choices' entropy weight (absent in runs from before the option). */
  readonly choiceEntropy?: number;
  /** all-choices' turns per optimizer step (absent: one step on each batch). */
  readonly minibatch?: number;
  /** all-choices' step (absent in runs from before the option: gradient), and the mirror step's size and magnet. */
  readonly choiceStep?: 'gradient' | 'mirror';
  readonly stepSize?: number;
  readonly magnetStrength?: number;
  /** The model's tokenizer files for SPIN's answers and the SOAR student (absent: the reference host's byte model). */
  readonly modelTokenizer?: string;
  /** Absent in runs from before the option: simulated. */
  readonly soarStudent?: 'simulated' | 'host';
  readonly studentLr?: number;
  /** Absent in runs from before the option: 0 (synchronous). */
  readonly maxStaleness?: number;
}

/** checkpoints/state.json of an environment run. */
export interface EnvCheckpoint extends CheckpointMarks, SavedWeights {
  readonly state: {
    readonly iteration: number;
    readonly baselines: ReturnType<RoleBaselines['toJSON']>;
    readonly curriculum?: ReturnType<SecCurriculum['save']>;
    /** The environment's own state (`Environment.snapshot`: task buffers, pools), where it keeps one. */
    readonly environment?: unknown;
  };
}

export const ENV_PREFIX = 'env:';

/** The registry entry of an environment, or a clear error (before a run folder is made for it). */
export function checkEnvironment(name: string) {
  const entry = environments[name];
  if (!entry) throw new ConfigError(`unknown environment "${name}"; environments: ${Object.keys(environments).join(', ')}`);
  return entry;
}

/** `--role critic=scripted` options as a role -> spec record (checked before a run folder is made for them). */
export function fixedRoles(pairs: readonly string[]): Record<string, string> {
  const specs: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--role takes role=spec (critic=scripted, solver=llm:model=...), not "${pair}"`);
    specs[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return specs;
}

/** The held-out critic set of a self-play-critic run, when its critic learns: at the run's problem sizes, from a seed training never uses. */
function criticSet(name: string, params: Record<string, string>, fixed: Record<string, string>, config: EnvRunConfig) {
  if (name !== 'self-play-critic' || fixed.critic || config.evalItems === 0) return undefined;
  const steps = Number(params.steps ?? SPC_DEFAULTS.steps);
  const level = Number(params.level ?? SPC_DEFAULTS.level);
  return heldOutCriticSteps(config.evalItems, 1_000_003 + config.seed, { steps, level });
}

const round = (x: number, digits = 6) => +x.toPrecision(digits);

/** The run's SEC curriculum over the environment's task categories, as its checkpoint left it; undefined for uniform. */
function curriculumFor(environment: Environment, config: EnvRunConfig, state?: EnvCheckpoint): SecCurriculum | undefined {
  if ((config.curriculum ?? 'uniform') === 'uniform') return undefined;
  const curriculum = secCurriculumFor(environment, { alpha: config.secAlpha, temperature: config.secTemperature });
  if (state?.state.curriculum) curriculum.restore(state.state.curriculum);
  return curriculum;
}

/** One metrics.jsonl row per update: per role its return (and interval), samples and advantages; the environment's numeric statistics. */
function envMetricsRow(it: EnvIteration, accuracy?: CriticAccuracy): Record<string, unknown> {
  return {
    update: it.update,
    seconds: round(it.seconds),
    version: it.version,
    model: it.model,
    matches: it.matches,
    errors: it.errors,
    samples: it.samples,
    loss: round(it.loss),
    ...(it.entropy === undefined ? {} : { entropy: round(it.entropy) }),
    ageMedian: it.ageMedian,
    ageMax: it.ageMax,
    ...Object.fromEntries(
      Object.entries(it.roles).flatMap(([role, r]) => [
        [`return.${role}`, round(r.meanReturn)],
        [`returnLow.${role}`, round(r.interval[0])],
        [`returnHigh.${role}`, round(r.interval[1])],
        [`samples.${role}`, r.samples],
        [`absAdvantage.${role}`, round(r.meanAbsAdvantage)],
      ]),
    ),
    ...Object.fromEntries(Object.entries(it.stats).flatMap(([key, value]) => (typeof value === 'number' ? [[`stat.${key}`, round(value)]] : []))),
    ...Object.fromEntries(
      Object.entries(it.curriculum ?? {}).flatMap(([category, arm]) => [
        [`sec.p.${category}`, round(arm.probability)],
        [`sec.q.${category}`, round(arm.value)],
        [`sec.matches.${category}`, arm.chosen],
      ]),
    ),
    ...(accuracy ? { criticAccuracy: round(accuracy.accuracy), criticAccuracyLow: round(accuracy.interval[0]), criticAccuracyHigh: round(accuracy.interval[1]) } : {}),
  };
}

function envCharts(rows: readonly Record<string, unknown>[]): Chart[] {
  const keys = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const by = (prefix: string) => keys.filter((key) => key.startsWith(prefix)).map((key) => ({ key, label: key.slice(prefix.length) }));
  return [
    { title: 'Mean return by role', series: by('return.') },
    { title: 'Samples trained on by role', series: by('samples.') },
    { title: 'Age of the versions that played a step (updates behind the weights it trained)', series: [{ key: 'ageMedian', label: 'median' }, { key: 'ageMax', label: 'most' }] },
    { title: 'Mean |advantage| by role', series: by('absAdvantage.') },
    { title: "Entropy of what each update trained (the sampled tokens'; all-choices: the guided pick's over the answers)", series: [{ key: 'entropy', label: 'entropy' }] },
    { title: "The environment's statistics", series: by('stat.') },
    { title: 'SEC: chance of each task category', series: by('sec.p.') },
    { title: 'SEC: value of each task category (mean |advantage|, TD(0))', series: by('sec.q.') },
    { title: 'Critic accuracy on the held-out steps (exact, 95% interval)', series: [{ key: 'criticAccuracy', label: 'accuracy' }, { key: 'criticAccuracyLow', label: 'low' }, { key: 'criticAccuracyHigh', label: 'high' }] },
  ].filter((chart) => chart.series.some((s) => rows.some((row) => typeof row[s.key] === 'number')));
}

/**
 * `selfplay train-llm --env NAME`: one hosted model trained in every role of
 * an environment that `--role` does not give to a fixed agent.
 */
export async function trainEnvRun(run: {
  readonly config: EnvRunConfig;
  readonly state?: EnvCheckpoint;
  /** The run folder, opened (for a new run, made) once the settings are checked. */
  readonly open: () => RunFolder;
  readonly options: { readonly tinker?: string; readonly python: string; readonly hostArg: readonly string[]; readonly seconds?: number; readonly json?: boolean };
  readonly io: CliIO;
}): Promise<void> {
  const { config, state, options, io } = run;
  const name = config.game.slice(ENV_PREFIX.length);
  const entry = checkEnvironment(name);
  const params = parseParams(config.param);
  const environment: Environment = await entry.create(params);
  if (state?.state.environment !== undefined) environment.restore?.(state.state.environment);
  const specs = fixedRoles(config.role);
  const everyone = environmentPlayers(environment, specs);
  const fixed = Object.fromEntries(Object.keys(specs).map((role) => [role, everyone[role]]));
  const choiceStep: ChoiceStep =
    config.choiceStep === 'mirror'
      ? { kind: 'mirror', stepSize: config.stepSize ?? 1, magnetStrength: config.magnetStrength ?? 0.5 }
      : { kind: 'gradient', entropy: config.choiceEntropy ?? DEFAULT_CHOICE_ENTROPY };
  if (config.objective === 'all-choices') {
    checkAllChoices(environment, [...new Set(environment.roles)].filter((role) => !specs[role]), config.guidedChoice);
    checkChoiceStep(choiceStep);
  }
  const heldOut = criticSet(name, params, specs, config);
  // The compact prompts name no answer format: a verdict sampled freely needs the full prompt's instructions.
  const rolePrompts = config.rolePrompts === 'compact' && config.guidedChoice ? COMPACT_ROLE_PROMPTS : undefined;
  const curriculum = curriculumFor(environment, config, state);
  if (config.objective === 'spin' && !((config.spinBeta ?? 0.1) > 0)) throw new ConfigError(`--spin-beta must be above 0, not ${config.spinBeta}`);
  const soar = config.soarStudent === 'host' ? soarSettings(environment) : undefined;
  if (soar && !((config.studentLr ?? 1e-3) > 0)) throw new ConfigError(`--student-lr must be above 0, not ${config.studentLr}`);
  const tokenizer = config.objective === 'spin' || config.objective === 'all-choices' || soar ? await loadChatTokenizer(config.modelTokenizer ?? join(POLICY_HOST_DIR, 'tokenizer')) : undefined;
  const iterations = config.iterations ?? (options.seconds === undefined ? 10 : undefined);
  const folder = run.open();
  const session = await openHostedRun({ options, config, folder, io, ...(state ? { restore: { checkpoint: state } } : {}) });
  const { host, backend, episodes, weights } = session;
  try {
    const rescorer = soar ? soarRescorer(new HostStudent(backend, tokenizer!, soar.heldOut, { steps: soar.k, learningRate: config.studentLr })) : undefined;
    const accuracy = () => (heldOut ? criticAccuracy(host, backend.policy(), heldOut, { temperature: config.temperature, prompt: rolePrompts?.critic }) : Promise.resolve(undefined));
    const before = state ? undefined : await accuracy();
    const learning = [...new Set(environment.roles)].filter((role) => !specs[role]);
    if (!options.json) {
      io.out(`${state ? `resuming ${folder.dir} at step ${state.state.iteration}` : `training ${backend.policy()} on ${name}`} in the roles ${learning.join(', ')}${Object.keys(specs).length ? ` (fixed: ${Object.entries(specs).map(([r, s]) => `${r}=${s}`).join(', ')})` : ''}, run folder ${folder.dir}`);
      if (before) io.out(`critic accuracy on ${before.items} held-out steps: ${before.accuracy.toFixed(3)} [${before.interval[0].toFixed(3)}, ${before.interval[1].toFixed(3)}]`);
    }
    let latest = before;
    const bar = progressBar('training', iterations ?? Math.ceil(options.seconds ?? 0), options.json ? () => undefined : io.out);
    const baselines = state ? RoleBaselines.fromJSON(state.state.baselines) : new RoleBaselines();
    let done: EnvIteration[];
    try {
      done = await trainEnvironment({
        environment,
        backend,
        fixed,
        guidedChoice: config.guidedChoice,
        rolePrompts,
        temperature: config.temperature,
        matchesPerIteration: config.games,
        iterations,
        seconds: options.seconds,
        signal: session.signal,
        algo: config.algo,
        baselines,
        seed: config.seed,
        concurrency: config.concurrency,
        curriculum,
        objective: config.objective ?? 'policy-gradient',
        sppoEta: config.sppoEta,
        spinBeta: config.spinBeta,
        choiceStep,
        choiceTurnsPerStep: config.minibatch,
        tokenizer,
        rescorer,
        maxStaleness: config.maxStaleness ?? 0,
        start: state?.state.iteration ?? 0,
        onIteration: async (it, played) => {
          if (config.exactEvery > 0 && it.update % config.exactEvery === 0) latest = await accuracy();
          folder.appendMetrics(envMetricsRow(it, latest?.model === it.model ? latest : undefined));
          for (const episode of played.slice(0, config.keepEpisodes)) episodes.append(episode);
          await episodes.flush();
          await weights.save(it.update, it.version, (saved) =>
            folder.writeJson('checkpoints/state.json', {
              state: {
                iteration: it.update,
                baselines: baselines.toJSON(),
                ...(curriculum ? { curriculum: curriculum.save() } : {}),
                ...(environment.snapshot ? { environment: environment.snapshot() } : {}),
              },
              ...saved,
              outputs: { updates: it.update, episodeBytes: statSync(episodes.path).size },
            } satisfies EnvCheckpoint));
          bar.update(iterations === undefined ? Math.min(Math.ceil(it.seconds), Math.ceil(options.seconds!)) : it.update, it.model);
          const roles = Object.entries(it.roles).map(([role, r]) => `${role} ${r.meanReturn >= 0 ? '+' : ''}${r.meanReturn.toFixed(3)} (${r.samples} samples)`).join(', ');
          const sec = it.curriculum ? `, sec ${Object.entries(it.curriculum).map(([c, arm]) => `${c} ${arm.probability.toFixed(2)}`).join(' ')}` : '';
          bar.log(`step ${it.update}: ${it.matches} matches, ${roles}${sec}, loss ${it.loss.toFixed(4)} -> ${it.model} (${(it.ms / 1000).toFixed(1)} s)`);
        },
      });
    } finally {
      bar.stop();
    }
    const interrupted = session.signal.aborted;
    const after = heldOut && latest?.model !== backend.policy() && !interrupted ? await accuracy() : latest;
    const rows = folder.metrics();
    const first = rows[0];
    const lastRow = rows.at(-1);
    const roleFigures = Object.fromEntries(
      [...new Set(environment.roles)].map((role) => [
        role,
        {
          learns: !specs[role],
          first: first ? { meanReturn: first[`return.${role}`], interval: [first[`returnLow.${role}`], first[`returnHigh.${role}`]] } : undefined,
          last: lastRow ? { meanReturn: lastRow[`return.${role}`], interval: [lastRow[`returnLow.${role}`], lastRow[`returnHigh.${role}`]] } : undefined,
        },
      ]),
    );
    const summary = {
      environment: name,
      baseModel: config.baseModel,
      model: backend.policy(),
      updates: rows.length,
      seconds: +Number(lastRow?.seconds ?? 0).toFixed(1),
      roles: roleFigures,
      ...(before ? { criticAccuracyBefore: before } : {}),
      ...(after ? { criticAccuracyAfter: after } : {}),
      stats: done.at(-1)?.stats ?? {},
      ...(curriculum ? { curriculum: curriculum.arms() } : {}),
      interrupted,
      runFolder: folder.dir,
    };
    const flat: Record<string, string | number> = { environment: name, model: backend.policy(), updates: rows.length, seconds: summary.seconds };
    for (const [role, r] of Object.entries(roleFigures)) {
      if (r.first && r.last) flat[`${role}${r.learns ? '' : ' (fixed)'}`] = `return ${Number(r.first.meanReturn).toFixed(3)} in the first update, ${Number(r.last.meanReturn).toFixed(3)} in the last`;
    }
    if (curriculum) flat['SEC matches by category'] = Object.entries(curriculum.arms()).map(([c, arm]) => `${c} ${arm.chosen}`).join(', ');
    if (before && after) flat['critic accuracy (held out)'] = `${before.accuracy.toFixed(3)} [${before.interval.map((x) => x.toFixed(3)).join(', ')}] -> ${after.accuracy.toFixed(3)} [${after.interval.map((x) => x.toFixed(3)).join(', ')}]`;
    folder.writeText('report.html', renderReport({ title: `selfplay: ${config.baseModel} trained in ${name}`, summary: flat, metrics: rows, charts: envCharts(rows), x: { key: 'update', label: 'update' } }));
    if (options.json) return printJson(io, { ...summary, iterations: done });
    if (interrupted) io.out(`stopped: checkpoint written; continue with  selfplay train-llm --resume ${folder.dir}`);
    for (const [role, r] of Object.entries(roleFigures)) {
      if (r.first && r.last) io.out(`${role}${r.learns ? '' : ' (fixed)'}: mean return ${Number(r.first.meanReturn).toFixed(3)} in the first update, ${Number(r.last.meanReturn).toFixed(3)} in the last`);
    }
    if (before && after) io.out(`critic accuracy on ${after.items} held-out steps: ${before.accuracy.toFixed(3)} -> ${after.accuracy.toFixed(3)} [${after.interval[0].toFixed(3)}, ${after.interval[1].toFixed(3)}]`);
    io.out(`run folder ${folder.dir}: metrics.jsonl, checkpoints/, episodes.msgpack, report.html`);
  } finally {
    await session.close();
  }
}
