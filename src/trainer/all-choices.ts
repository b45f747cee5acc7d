import type { ChoiceScoring } from '../../agents/hosted/host-client.ts';
import type { ChatTokenizer } from '../../agents/llm/chat-tokenizer.ts';
import { roles as roleDefinitions } from '../../agents/roles/registry.ts';
import { ConfigError, type Environment } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import { expectedChoiceReturn, type ChoiceTurn } from './choice-expectation.ts';
import { CLOSED_ANSWERS } from './env-batches.ts';
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
  /** The weight of each turn's choice entropy beside its expected return (expectedChoiceReturn). */
  readonly entropy: number;
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
 * One step on the exact expected return of the learner's closed answers:
 * the policy gradient's expectation over every choice of each turn, each
 * weighted by the probability the guided pick gives it now and scored by the
 * return it would have got (expectedChoiceReturn), instead of a sample of one.
 * The choice that was sampled plays no part, so matches played by an older
 * version train as well as fresh ones.
 */
export async function allChoicesUpdate(backend: TinkerBackend, samples: readonly Sample[], episodes: readonly Episode[], environment: Environment, settings: AllChoicesSettings): Promise<TinkerMetrics> {
  const { turns, sequences } = choiceTurns(samples, episodes, environment, settings.tokenizer);
  const metrics = await backend.trainTokens(sequences, expectedChoiceReturn(turns, settings.scoring, settings.temperature, settings.entropy));
  return { ...metrics, samples: turns.length };
}
