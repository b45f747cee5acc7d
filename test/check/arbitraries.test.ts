import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { reachableHistory, reachableState } from '../../src/check/index.ts';
import { isLegal, replay } from '../../src/core/index.ts';
import { kuhnPoker, ticTacToe } from '../../games/index.ts';

describe('reachableHistory / reachableState', () => {
  it('generate only histories of legal play, chance included', () => {
    const game = kuhnPoker({ hands: 3 });
    fc.assert(
      fc.property(reachableHistory(game), (history) => {
        let state = game.initial();
        for (const action of history) {
          expect(isLegal(game, state, action)).toBe(true);
          state = game.apply(state, action);
        }
      }),
    );
  });

  it('play complete games on request', () => {
    const game = ticTacToe();
    fc.assert(fc.property(reachableState(game, { complete: true }), (state) => game.turn(state) === 'terminal'));
  });

  it('cover the game: every first move of tic-tac-toe shows up', () => {
    const firsts = fc.sample(reachableHistory(ticTacToe(), { complete: true }), { numRuns: 300, seed: 1 }).map((h) => h[0]);
    expect(new Set(firsts).size).toBe(9);
  });

  it('shrink to the shortest failing history', () => {
    const game = ticTacToe();
    const run = fc.check(fc.property(reachableHistory(game), (history) => history.length < 5), { seed: 3 });
    expect(run.failed).toBe(true);
    const [history] = run.counterexample!;
    expect(history).toEqual([0, 1, 2, 3, 4]);
    expect(game.history(replay(game, history))).toEqual(history);
  });
});
