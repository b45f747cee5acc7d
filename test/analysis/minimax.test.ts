import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, replay } from '../../src/core/index.ts';
import { bestAction, minimax } from '../../src/analysis/index.ts';
import { connectFour } from '../../games/connect-four/index.ts';
import { kuhnPoker } from '../../games/kuhn-poker/index.ts';
import { ticTacToe } from '../../games/tic-tac-toe/index.ts';
import { chanceNim } from './helpers.ts';

const ttt = ticTacToe();
const noIdea = () => [0, 0];

/** A random tic-tac-toe position reached by `cells` (skipping taken cells, stopping at the end). */
function position(cells: number[]) {
  let state = ttt.initial();
  for (const cell of cells) {
    if (ttt.turn(state) === 'terminal') break;
    if (ttt.legalActions(state).includes(cell)) state = ttt.apply(state, cell);
  }
  return state;
}

describe('minimax', () => {
  it('tic-tac-toe is a draw; without pruning it solves all 5478 distinct states', () => {
    const full = minimax(ttt, { pruning: false });
    expect(full.values).toEqual([0, 0]);
    expect(full.states).toBe(5478);
    const pruned = minimax(ttt);
    expect(pruned.values).toEqual([0, 0]);
    expect(pruned.states).toBeLessThan(5478);
  });

  it('alpha-beta with its transposition table agrees with plain minimax from any position', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 8 }), (cells) => {
        const state = position(cells);
        expect(minimax(ttt, { state }).values).toEqual(minimax(ttt, { state, pruning: false }).values);
      }),
      { numRuns: 50 },
    );
  });

  it('averages chance nodes (expectiminimax)', () => {
    const result = minimax(chanceNim());
    expect(result.values[0]).toBeCloseTo(1 / 3, 12);
  });

  it('refuses imperfect-information games', () => {
    expect(() => minimax(kuhnPoker())).toThrow(ConfigError);
    expect(() => minimax(kuhnPoker())).toThrow('kuhn-poker: minimax needs a two-player zero-sum perfect-information game');
  });
});

describe('bestAction', () => {
  it('takes a win in one and blocks a loss in one (tic-tac-toe)', () => {
    // X: 0 1, O: 3 4; X to move wins at 2.
    expect(bestAction(ttt, replay(ttt, [0, 3, 1, 4]), { depth: 1, evaluate: noIdea })).toEqual({ action: 2, values: [1, -1], states: 9 - 4 });
    // X: 0 1 8, O: 3 to move must block 2.
    expect(bestAction(ttt, replay(ttt, [0, 3, 1]), { depth: 2, evaluate: noIdea }).action).toBe(2);
  });

  it('with full depth it finds the solved value', () => {
    const state = replay(ttt, [4]);
    expect(bestAction(ttt, state, { depth: 9, evaluate: noIdea }).values).toEqual(minimax(ttt, { state }).values);
  });

  it('searches connect-four to a depth limit with an evaluation hook', () => {
    const game = connectFour();
    // X has three in the bottom row (columns 0-2); O must block column 3.
    const threat = replay(game, [0, 0, 1, 1, 2]);
    expect(bestAction(game, threat, { depth: 2, evaluate: noIdea }).action).toBe(3);
    let evaluated = 0;
    const centre = (state: ReturnType<typeof game.initial>) => {
      evaluated++;
      const x = game.history(state).filter((c, i) => i % 2 === 0 && c === 3).length;
      const o = game.history(state).filter((c, i) => i % 2 === 1 && c === 3).length;
      return [x - o, o - x];
    };
    const opening = bestAction(game, game.initial(), { depth: 4, evaluate: centre });
    expect(opening.action).toBe(3);
    expect(evaluated).toBeGreaterThan(0);
  });

  it('refuses a bad depth or a state with no seat to move', () => {
    expect(() => bestAction(ttt, ttt.initial(), { depth: 0, evaluate: noIdea })).toThrow('search depth must be a positive integer, not 0');
    expect(() => bestAction(ttt, replay(ttt, [0, 3, 1, 4, 2]), { depth: 1, evaluate: noIdea })).toThrow('tic-tac-toe: no seat is to move in this state (terminal)');
  });
});
