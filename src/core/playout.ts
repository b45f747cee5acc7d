import type { ChanceOutcome, Game } from './game.ts';
import type { Rng } from './rng.ts';

/** Draws one chance outcome according to its probability. */
export function sampleChance<A>(outcomes: readonly ChanceOutcome<A>[], rng: Rng): A {
  let u = rng.next();
  const last = outcomes.length - 1;
  for (let i = 0; i < last; i++) {
    u -= outcomes[i].probability;
    if (u < 0) return outcomes[i].action;
  }
  return outcomes[last].action;
}

/** Plays uniformly random legal actions, with sampled chance, from `state` to the end. */
export function randomPlayout<S, A>(game: Game<S, A>, rng: Rng, state: S = game.initial()): S {
  for (;;) {
    const turn = game.turn(state);
    if (turn === 'terminal') return state;
    if (turn === 'chance') {
      state = game.apply(state, sampleChance(game.chanceOutcomes(state), rng));
    } else {
      const legal = game.legalActions(state);
      state = game.apply(state, legal[rng.int(legal.length)]);
    }
  }
}
