import type { ChoiceScoring } from '../../agents/hosted/host-client.ts';
import type { ChatTokenizer } from '../../agents/llm/chat-tokenizer.ts';
import { roles as roleDefinitions } from '../../agents/roles/registry.ts';
import type { RolePrompts } from '../../agents/roles/role.ts';
import { ConfigError, Rng, type Environment } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import { RoleTally, type Player } from '../runtime/index.ts';
import { RoleBaselines } from './advantages.ts';
import { sampleMagnitudes, type SecArm, type SecCurriculum } from './curriculum.ts';
import { allChoicesUpdate, checkAllChoices, checkChoiceStep, DEFAULT_CHOICE_ENTROPY, type AllChoicesSettings, type ChoiceStep } from './all-choices.ts';
import { asynchronousBatches, synchronousBatches, type EnvCast } from './env-batches.ts';
import type { Sample } from './samples.ts';
import { spinObjective, sppoObjective, sppoTarget } from './sequence-objectives.ts';
import { learnerSamples, type EpisodeAlgorithm } from './episode-trainer.ts';
import { imitationSequences, imitationUpdate } from './imitation.ts';
import { modelTurns, sampledLogprob, type TinkerBackend } from './tinker-backend.ts';

/** One role's figures over an update's matches. */
export interface EnvRoleFigures {
  /** Seats of the role that acted. */
  readonly matches: number;
  readonly meanReturn: number;
  /** 95% interval of the mean return. */
  readonly interval: readonly [number, number];
  /** Whether the learner plays it (else a fixed agent does, and it gets no samples). */
  readonly learns: boolean;
  readonly samples: number;
  readonly meanAdvantage: number;
  readonly meanAbsAdvantage: number;
}

export interface EnvIteration {
  readonly update: number;
  /** The version published by this update, and its name on the host. */
  readonly version: number;
  readonly model: string;
  readonly matches: number;
  /** Matches that ended in an error (a model call that failed), not trained on. */
  readonly errors: number;
  readonly samples: number;
  readonly loss: number;
  /** The entropy the update's objective measured, where it measures one: the host's over the sampled tokens (PPO and the other token losses), or the mean over turns of the guided pick's over the answers (all-choices). */
  readonly entropy?: number;
  readonly roles: Readonly<Record<string, EnvRoleFigures>>;
  /** The environment's own statistics so far (solve rates, attack success, ...), since the run (or its resumption) began. */
  readonly stats: Readonly<Record<string, number | string>>;
  /** How many updates older than the weights it trained the versions that played this update's matches were: the median and the most (0 when synchronous). */
  readonly ageMedian: number;
  readonly ageMax: number;
  /** With a curriculum: per task category its value, choice probability and matches so far, and the reward (mean |advantage|) this update gave it. */
  readonly curriculum?: Readonly<Record<string, SecArm & { readonly reward?: number }>>;
  readonly seconds: number;
  readonly ms: number;
}

/** Scores a batch's matches after they are played and before anything learns from them (SOAR's student trained on the host). */
export interface MatchRescorer {
  /** Each match's returns, in the order given. */
  rescore(episodes: readonly Episode[]): Promise<readonly (readonly number[])[]>;
  /** Its figures so far, added to each update's statistics. */
  stats(): Readonly<Record<string, number>>;
}

export interface EnvTrainingOptions {
  readonly environment: Environment;
  readonly backend: TinkerBackend;
  /** Roles held by fixed agents (scripted, another model); every other role is the learner, at its newest version. */
  readonly fixed?: Readonly<Record<string, Player>>;
  /** Sample the learner's closed answers (the critic's verdict) among those answers only (default true). */
  readonly guidedChoice?: boolean;
  /** The learner's prompts by role, over each role's own (COMPACT_ROLE_PROMPTS for the policy host's byte model). */
  readonly rolePrompts?: RolePrompts;
  readonly temperature?: number;
  readonly matchesPerIteration: number;
  /** Updates in all, counting those before a resumption (default: no bound, `seconds` bounds the run). */
  readonly iterations?: number;
  /** Start no update after this much wall time. */
  readonly seconds?: number;
  readonly signal?: AbortSignal;
  /** Advantage estimator (default `trr++`: returns normalised per task type and role, Absolute Zero's). */
  readonly algo?: EpisodeAlgorithm;
  readonly baselines?: RoleBaselines;
  readonly seed?: number;
  /** Matches in play at once (default 8). */
  readonly concurrency?: number;
  /**
   * Asynchronous training: actors keep playing with the newest published version while the learner trains, on
   * matches played by versions at most this many updates behind the weights an update trains (the backend's
   * importance-sampling loss corrects for the difference); 0, the default, is synchronous on-policy training.
   */
  readonly maxStaleness?: number;
  /** Chooses each match's task category, and learns from each update's samples (the environment must have categories). */
  readonly curriculum?: SecCurriculum;
  /**
   * What a step minimises: `policy-gradient` (the backend's loss on the samples' advantages, the default), or
   * `sppo`: SPPO's square loss, each response's log-ratio to the policy that sampled it pushed towards
   * `sppoEta * (its return - 1/2)`, its return being its win rate (the sppo environment's); or `spin`: SPIN's
   * logistic loss on pairs of the data set's answer (the game's `params.reference`, tokenized with `tokenizer`)
   * and the learner's own, the version that played being the reference model (the spin environment's); or
   * `imitation`: supervised steps on the moves the environment names (`trainingTargets`: rest-mcts's best traces); or
   * `all-choices`: for roles whose answer is picked among a few (the critic's verdict), the policy gradient's exact
   * expectation over every choice, each scored by the return the environment says it would have got
   * (`alternativeReturns`), instead of a sample of one (the learner's roles must all have closed answers).
   */
  readonly objective?: 'policy-gradient' | 'sppo' | 'spin' | 'imitation' | 'all-choices';
  readonly sppoEta?: number;
  readonly spinBeta?: number;
  /** The model's tokenizer, for SPIN's reference answers and the choices of all-choices. */
  readonly tokenizer?: ChatTokenizer;
  /** How the host's guided pick scores choices, for all-choices (default: what the host's /health says). */
  readonly choiceScoring?: ChoiceScoring;
  /** For all-choices, how each step moves the choices (default: the gradient, with DEFAULT_CHOICE_ENTROPY; see ChoiceStep). */
  readonly choiceStep?: ChoiceStep;
  /** For all-choices, the turns of each optimizer step: a batch's turns, shuffled, take one step per minibatch of this many (default: one step on them all). */
  readonly choiceTurnsPerStep?: number;
  /** Replaces the returns of each batch's finished matches before training (returns, advantages and figures use them). */
  readonly rescorer?: MatchRescorer;
  /** Updates made before (a resumed run's). */
  readonly start?: number;
  /** After each update, with its matches; the next waits for a promise it returns (a checkpoint). */
  readonly onIteration?: (iteration: EnvIteration, episodes: readonly Episode[]) => void | Promise<void>;
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : 0;
};

const isRoleName = (name: string): name is keyof typeof roleDefinitions => Object.prototype.hasOwnProperty.call(roleDefinitions, name);

/** One SPPO step on the learner's responses: the reference of each is its logprob when sampled (by the version being trained). */
function sppoUpdate(backend: TinkerBackend, samples: readonly Sample[], eta: number) {
  const turns = modelTurns(samples);
  const reference = turns.map((s) => sampledLogprob(s.tokens!));
  const objective = sppoObjective(reference, turns.map((s) => sppoTarget(s.reward, eta)));
  return backend.trainSequences(turns.map((s) => s.tokens!), objective);
}

/**
 * One SPIN step: each of the learner's answers paired with the data set's answer to the same prompt. The reference
 * model is the version that answered, whose weights the step starts from: the own answers' reference logprobs are
 * their sampling logprobs, the data set's come from a forward before the step.
 */
async function spinUpdate(backend: TinkerBackend, samples: readonly Sample[], episodes: readonly Episode[], tokenizer: ChatTokenizer | undefined, beta: number) {
  if (!tokenizer) throw new ConfigError("SPIN needs the model's tokenizer, to tokenize the data set's answers");
  const turns = modelTurns(samples);
  const references = new Map(episodes.map((e) => [e.id, e.game.params.reference]));
  const stop = tokenizer.stopTokenIds[0];
  const real = turns.map((s) => {
    const reference = references.get(s.episodeId);
    if (typeof reference !== 'string') throw new ConfigError(`episode ${s.episodeId} has no reference answer (params.reference): SPIN trains on the spin environment`);
    return { prompt: s.tokens!.prompt, completion: [...tokenizer.encode(reference), ...(stop === undefined ? [] : [stop])] };
  });
  const own = turns.map((s) => s.tokens!);
  const reference = [...(await backend.sequenceLogprobs(real)), ...own.map(sampledLogprob)];
  return backend.trainSequences([...real, ...own], spinObjective(reference, beta));
}

/** What all-choices needs, checked before anything plays: closed answers in every learning role, and how the host scores them. */
async function allChoicesSettings(options: EnvTrainingOptions, learning: readonly string[]): Promise<AllChoicesSettings> {
  checkAllChoices(options.environment, learning, options.guidedChoice ?? true);
  if (!options.tokenizer) throw new ConfigError("--objective all-choices needs the model's tokenizer, to write out the choices that were not sampled");
  const { backend } = options;
  const scoring = options.choiceScoring ?? (await backend.host.health()).guided_choice_scoring;
  if (!scoring) throw new ConfigError(`the host at ${backend.host.url} does not say how it scores guided choices (/health guided_choice_scoring), which --objective all-choices needs`);
  const step = options.choiceStep ?? { kind: 'gradient', entropy: DEFAULT_CHOICE_ENTROPY };
  checkChoiceStep(step);
  return { scoring, temperature: options.temperature ?? 1, tokenizer: options.tokenizer, step, turnsPerStep: options.choiceTurnsPerStep };
}

/**
 * One hosted model trained in every role of an environment that a fixed
 * agent does not hold (Absolute Zero, SPC, eva: one model playing every
 * role, trained on all of them). Each update plays a batch of the
 * environment's matches with the newest version in the learner's roles,
 * turns the learner's turns into samples (advantages per task type and
 * role by default), takes one training step on the host and publishes.
 */
export async function trainEnvironment(options: EnvTrainingOptions): Promise<EnvIteration[]> {
  const { environment, backend } = options;
  const fixed = options.fixed ?? {};
  const allRoles = [...new Set(environment.roles)];
  const unknown = Object.keys(fixed).filter((role) => !allRoles.includes(role));
  if (unknown.length) throw new ConfigError(`${environment.id} has no role ${unknown.map((r) => `"${r}"`).join(', ')}; its roles: ${allRoles.join(', ')}`);
  const learning = allRoles.filter((role) => !fixed[role]);
  if (learning.length === 0) throw new ConfigError(`every role of ${environment.id} is held by a fixed agent: nothing would learn`);
  const noPrompt = learning.filter((role) => !isRoleName(role));
  if (noPrompt.length) throw new ConfigError(`no prompt is defined for the role ${noPrompt.map((r) => `"${r}"`).join(', ')}; hold it with a fixed agent`);
  if (options.objective === 'imitation' && !environment.trainingTargets) throw new ConfigError(`${environment.id} names no moves to imitate: the imitation objective trains on an environment that does (rest-mcts)`);
  const allChoices = options.objective === 'all-choices' ? await allChoicesSettings(options, learning) : undefined;
  const policyId = backend.policyId;
  const baselines = options.baselines ?? new RoleBaselines();
  const algo = options.algo ?? 'trr++';
  const startedAt = performance.now();
  const elapsed = () => (performance.now() - startedAt) / 1000;
  const over = (iteration: number) => iteration >= (options.iterations ?? Infinity) || (options.seconds !== undefined && elapsed() >= options.seconds) || options.signal?.aborted === true;
  const maxStaleness = options.maxStaleness ?? 0;
  if (maxStaleness > 0 && options.objective === 'spin') throw new ConfigError("SPIN's reference model is the version that answered, which the step must start from: train it synchronously (max staleness 0)");
  const cast: EnvCast = { environment, fixed, policyId, samplingBase: backend.samplingBase, temperature: options.temperature, guidedChoice: options.guidedChoice, rolePrompts: options.rolePrompts, curriculum: options.curriculum, seed: options.seed, concurrency: options.concurrency ?? 8 };
  const start = options.start ?? 0;
  const batches =
    maxStaleness > 0
      ? asynchronousBatches(cast, options.matchesPerIteration, maxStaleness, { update: start, version: { model: backend.policy(), version: backend.version } })
      : synchronousBatches(cast, options.matchesPerIteration);
  const done: EnvIteration[] = [];
  try {
    for (let iteration = start; !over(iteration); iteration++) {
      const began = performance.now();
      const batch = await batches.next(iteration, { model: backend.policy(), version: backend.version });
      let { episodes } = batch;
      let trained = episodes.filter((e) => e.outcome === 'normal');
      if (options.rescorer) {
        const returns = await options.rescorer.rescore(trained);
        const rescored = new Map(trained.map((e, i) => [e.id, { ...e, returns: returns[i] }]));
        episodes = episodes.map((e) => rescored.get(e.id) ?? e);
        trained = [...rescored.values()];
      }
      const samples = learnerSamples(trained, { policyId, algo }, baselines);
      const update =
        options.objective === 'sppo'
          ? await sppoUpdate(backend, samples, options.sppoEta ?? 1)
          : options.objective === 'spin'
            ? await spinUpdate(backend, samples, trained, options.tokenizer, options.spinBeta ?? 0.1)
            : options.objective === 'imitation'
              ? await imitationUpdate(backend, imitationSequences(trained, environment, policyId))
              : allChoices
                ? await allChoicesUpdate(backend, samples, trained, environment, allChoices, new Rng(`all-choices/${options.seed ?? 0}`).split(iteration))
                : await backend.update(samples);
      await batches.published({ model: update.model, version: update.version });
      const rewards = options.curriculum?.update(sampleMagnitudes(samples, trained));
      const tally = new RoleTally();
      for (const episode of trained) tally.add(episode);
      const records = new Map(tally.records().map((r) => [r.role, r]));
      const figures = Object.fromEntries(
        allRoles.map((role) => {
          const record = records.get(role);
          const own = samples.filter((s) => s.role === role);
          const mean = (values: number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
          const figure: EnvRoleFigures = {
            matches: record?.turns ?? 0,
            meanReturn: record?.meanReturn ?? 0,
            interval: record?.interval ?? [0, 0],
            learns: !fixed[role],
            samples: own.length,
            meanAdvantage: mean(own.map((s) => s.advantage)),
            meanAbsAdvantage: mean(own.map((s) => Math.abs(s.advantage))),
          };
          return [role, figure];
        }),
      );
      const it: EnvIteration = {
        update: iteration + 1,
        version: update.version,
        model: update.model,
        matches: episodes.length,
        errors: episodes.length - trained.length,
        samples: update.samples,
        loss: update.step.loss,
        ...(Number.isFinite(update.step.entropy) ? { entropy: update.step.entropy } : {}),
        roles: figures,
        stats: { ...environment.stats(), ...options.rescorer?.stats() } as Record<string, number | string>,
        ...(options.curriculum ? { curriculum: Object.fromEntries(Object.entries(options.curriculum.arms()).map(([c, arm]) => [c, { ...arm, ...(rewards?.[c] === undefined ? {} : { reward: rewards[c] }) }])) } : {}),
        ageMedian: median(batch.ages),
        ageMax: Math.max(0, ...batch.ages),
        seconds: elapsed(),
        ms: performance.now() - began,
      };
      done.push(it);
      await options.onIteration?.(it, episodes);
    }
  } finally {
    await batches.close();
  }
  return done;
}
