import { ConfigError, readProbabilities, type Game, type TabularPolicy } from '../core/index.ts';

// The format lives in src/core so that agents and the trainer read it without the algorithms.
export { PROBABILITY_TOLERANCE, readProbabilities, type TabularPolicy } from '../core/index.ts';

/** The probability `policy` gives each legal action in `state`, in `legalActions` order; for agents playing a tabular policy. */
export function actionProbabilities<S, A>(game: Game<S, A>, policy: TabularPolicy, state: S): number[] {
  const turn = game.turn(state);
  if (typeof turn !== 'number') throw new ConfigError(`${game.id}: no seat is to move in this state (${turn})`);
  const texts = game.legalActions(state).map((action) => game.actionText(state, action));
  const out = new Array<number>(texts.length);
  readProbabilities(policy, game.infoKey(state, turn), texts, out, 0);
  return out;
}
