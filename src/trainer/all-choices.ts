import type { ChoiceScoring } from '../../agents/hosted/host-client.ts';
import type { ChatTokenizer } from '../../agents/llm/chat-tokenizer.ts';
import { roles as roleDefinitions } from '../../agents/roles/registry.ts';
import { ConfigError, type Environment, type Rng } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import { expectedChoiceReturn, targetFit, type ChoiceTurn, type TargetFit } from './choice-expectation.ts';
import { CLOSED_ANSWERS } from './env-batches.ts';
import { shuffledMinibatches } from './minibatches.ts';
import { mirrorTarget } from './mmd-update.ts';
import type { Sample } from './samples.ts';
import type { TokenSequence } from './sequence-objectives.ts';
import type { TinkerBackend, TinkerMetrics } from './tinker-backend.ts';

/** A closed answer as the move its role makes: the role's reader on its text (the critic's `{verdict}`). */
const readAnswer = (role: string, text: string): unknown => (roleDefinitions[role as keyof typeof roleDefinitions]() as { parse(text: string): unknown }).parse(text);

/** all-choices' default entropy weight: small enough to let the critic tell its verdicts apart (0.1 held two seeds of three at p = 0.5 for 10 minutes). */
export const DEFAULT_CHOICE_ENTROPY = 0.02;

/** How an all-choices step scores the choices: as the host's guided pick does, at the temperature the turns were sampled at. */
export interface AllChoicesSettings {
  readonly scoring: ChoiceScoring;
  readonly temperature: number;
  readonly tokenizer: ChatTokenizer;
  readonly step: ChoiceStep;
  /** Turns in each optimizer step: a batch's turns, shuffled, in minibatches of this many (default: one step on them all). */
  readonly turnsPerStep?: number;
}

/**
 * How each optimizer step moves the turns' choice distributions: `gradient` ascends their expected return plus
 * `entropy` times their entropy (expectedChoiceReturn); `mirror` fits each turn to magnetic mirror descent's target on
 * its choices' returns (choiceMirrorFit).
 */
export type ChoiceStep = { readonly kind: 'gradient'; readonly entropy: number } | { readonly kind: 'mirror'; readonly stepSize: number; readonly magnetStrength: number };

/** Refuses a step that cannot be taken: a mirror step size not above 0, a negative magnet strength or entropy weight. */
export function checkChoiceStep(step: ChoiceStep): void {
  if (step.kind === 'gradient') {
    if (!(step.entropy >= 0 && Number.isFinite(step.entropy))) throw new ConfigError(`the entropy bonus must be 0 or more, not ${step.entropy}`);
    return;
  }
  if (!(step.stepSize > 0 && Number.isFinite(step.stepSize))) throw new ConfigError(`the mirror step size must be above 0, not ${step.stepSize}`);
  if (!(step.magnetStrength >= 0 && Number.isFinite(step.magnetStrength))) throw new ConfigError(`the magnet strength must be 0 or more, not ${step.magnetStrength}`);
}

/**
 * The loss that fits each turn's choice distribution p to the closed-form
 * step of magnetic mirror descent on its choices' returns (mirrorTarget, the
 * step MmdUpdate takes at a game's information states): q proportional to
 * (p exp(eta R))^(1 / (1 + alpha eta)), eta being `stepSize` in units of the
 * returns and alpha `magnetStrength`, the magnet uniform (no turn recurs);
 * KL(q || p) is fitted (targetFit). Where a batch's right answers balance,
 * the expected return is flat along the model's shared bias toward one
 * answer, and the policy gradient lets that bias drift; fitted targets hold
 * it, since every turn's target lies on its own side of the middle.
 */
export function choiceMirrorFit(turns: readonly ChoiceTurn[], scoring: ChoiceScoring, temperature: number, step: { readonly stepSize: number; readonly magnetStrength: number }): TargetFit {
  checkChoiceStep({ kind: 'mirror', ...step });
  return targetFit(
    turns.map((turn) => turn.completions),
    scoring,
    temperature,
    (t, logP) => mirrorTarget(logP, turns[t].returns, step.stepSize, step.magnetStrength, logP.map(() => -Math.log(logP.length))),
  );
}

const openRoles = (roles: readonly string[]) =>
  new ConfigError(`--objective all-choices trains roles whose answer is one of a few (${Object.keys(CLOSED_ANSWERS).join(', ')}); hold ${roles.join(', ')} with fixed agents (--role ${roles[0]}=...)`);

/** Refuses, before anything plays, what all-choices cannot train: a learning role with open answers, answers sampled freely, an environment that cannot say what other answers return. */
export function checkAllChoices(environment: Environment, learning: readonly string[], guidedChoice: boolean): void {
  const open = learning.filter((role) => !CLOSED_ANSWERS[role]);
  if (open.length) throw openRoles(open);
  if (!guidedChoice) throw new ConfigError('--objective all-choices trains answers picked among their choices (guided choice), and this run samples them freely');
  alternativesOf(environment);
}

/** The environment's `alternativeReturns`, or a clear error where it has none. */
export function alternativesOf(environment: Environment): NonNullable<Environment['alternativeReturns']> {
  if (!environment.alternativeReturns) throw new ConfigError(`${environment.id} cannot say what another answer would have returned: --objective all-choices trains in an environment that can (self-play-critic)`);
  return environment.alternativeReturns.bind(environment);
}

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The learner's closed-answer turns (the critic's verdicts) as choice turns:
 * each choice tokenized as the host's guided pick completes it (its text,
 * then the stop token), with the return the environment says it would have
 * got. Each turn must be its match's last move, and every learner turn a
 * closed answer.
 */
export function choiceTurns(samples: readonly Sample[], episodes: readonly Episode[], environment: Environment, tokenizer: ChatTokenizer): { turns: ChoiceTurn[]; sequences: TokenSequence[] } {
  const alternativeReturns = alternativesOf(environment);
  const stop = tokenizer.stopTokenIds[0];
  if (stop === undefined) throw new ConfigError(`the tokenizer in ${tokenizer.source} has no stop token, which ends every guided choice`);
  const byId = new Map(episodes.map((e) => [e.id, e]));
  const turns: ChoiceTurn[] = [];
  const sequences: TokenSequence[] = [];
  for (const sample of samples) {
    const texts = CLOSED_ANSWERS[sample.role];
    if (!texts) throw openRoles([sample.role]);
    if (!sample.tokens) throw new ConfigError(`the ${sample.role}'s turn in ${sample.episodeId} recorded no tokens to train on`);
    const completions = texts.map((text) => [...tokenizer.encode(text), stop]);
    const sampled = completions.findIndex((c) => same(c, sample.tokens!.completion));
    if (sampled < 0) throw new ConfigError(`the ${sample.role}'s answer in ${sample.episodeId} is none of its choices as the tokenizer in ${tokenizer.source} writes them: is it the model's?`);
    const episode = byId.get(sample.episodeId);
    if (!episode) throw new Error(`no episode ${sample.episodeId} for its sample`);
    if (episode.steps.at(-1)?.seat !== sample.seat) throw new ConfigError(`the ${sample.role}'s answer in ${episode.id} did not end its match: --objective all-choices trains closed answers that do`);
    const returns = alternativeReturns(episode.game, episode.history, episode.returns, sample.seat, texts.map((text) => readAnswer(sample.role, text)));
    if (!returns) throw new ConfigError(`${environment.id} cannot say what the ${sample.role}'s other answers would have returned in ${episode.id}`);
    if (returns[sampled] !== episode.returns[sample.seat]) throw new Error(`${environment.id} says the ${sample.role}'s own answer in ${episode.id} returns ${returns[sampled]}, and it returned ${episode.returns[sample.seat]}`);
    turns.push({ completions, returns });
    sequences.push(...completions.map((completion) => ({ prompt: sample.tokens!.prompt, completion })));
  }
  return { turns, sequences };
}

/**
 * One update of the learner's closed answers on every choice of each turn,
 * each weighted by the probability the guided pick gives it now and scored by
 * the return it would have got, instead of a sample of one: the policy
 * gradient's exact expectation, or the mirror descent target's fit
 * (`settings.step`). The choice that was sampled plays no part, so matches
 * played by an older version train as well as fresh ones. With
 * `turnsPerStep`, the turns, in an order `rng` shuffles, take one optimizer
 * step per minibatch, each scored by the weights its step starts from.
 */
export async function allChoicesUpdate(
  backend: TinkerBackend,
  samples: readonly Sample[],
  episodes: readonly Episode[],
  environment: Environment,
  settings: AllChoicesSettings,
  rng: Rng,
): Promise<TinkerMetrics> {
  const { turns, sequences } = choiceTurns(samples, episodes, environment, settings.tokenizer);
  const firstSequence: number[] = [];
  let at = 0;
  for (const turn of turns) {
    firstSequence.push(at);
    at += turn.completions.length;
  }
  const parts = shuffledMinibatches(turns.length, settings.turnsPerStep ?? Math.max(1, turns.length), rng).map((chunk) => ({
    sequences: chunk.flatMap((t) => sequences.slice(firstSequence[t], firstSequence[t] + turns[t].completions.length)),
    objective:
      settings.step.kind === 'mirror'
        ? choiceMirrorFit(chunk.map((t) => turns[t]), settings.scoring, settings.temperature, settings.step).objective
        : expectedChoiceReturn(chunk.map((t) => turns[t]), settings.scoring, settings.temperature, settings.step.entropy),
  }));
  const metrics = await backend.trainParts(parts);
  return { ...metrics, samples: turns.length };
}
