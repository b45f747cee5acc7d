import { ConfigError, type Game } from '../core/index.ts';

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

/** The probability `policy` gives each legal action in `state`, in `legalActions` order; for agents playing a tabular policy. */
export function actionProbabilities<S, A>(game: Game<S, A>, policy: TabularPolicy, state: S): number[] {
  const turn = game.turn(state);
  if (typeof turn !== 'number') throw new ConfigError(`${game.id}: no seat is to move in this state (${turn})`);
  const texts = game.legalActions(state).map((action) => game.actionText(state, action));
  const out = new Array<number>(texts.length);
  readProbabilities(policy, game.infoKey(state, turn), texts, out, 0);
  return out;
}
