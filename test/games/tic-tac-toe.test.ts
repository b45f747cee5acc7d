import { describe, expect, it } from 'vitest';
import { IllegalActionError, ParseError, replay } from '../../src/core/index.ts';
import { ticTacToe } from '../../games/index.ts';

const game = ticTacToe();

describe('tic-tac-toe', () => {
  it('scores a row, a column and a diagonal for the right player', () => {
    expect(game.returns(replay(game, [0, 3, 1, 4, 2]))).toEqual([1, -1]);
    expect(game.returns(replay(game, [0, 1, 3, 4, 8, 7]))).toEqual([-1, 1]);
    expect(game.returns(replay(game, [0, 1, 4, 2, 8]))).toEqual([1, -1]);
    expect(game.turn(replay(game, [0, 1, 4, 2, 8]))).toBe('terminal');
  });

  it('draws on a full board without a line', () => {
    const s = replay(game, [0, 1, 2, 4, 3, 5, 7, 6, 8]);
    expect(game.turn(s)).toBe('terminal');
    expect(game.returns(s)).toEqual([0, 0]);
  });

  it('alternates X and O and lists empty cells in order', () => {
    const s = replay(game, [4, 0]);
    expect(game.turn(s)).toBe(0);
    expect(game.legalActions(s)).toEqual([1, 2, 3, 5, 6, 7, 8]);
  });

  it('rejects taken cells, non-cells and moves after the end', () => {
    const s = replay(game, [4]);
    expect(() => game.apply(s, 4)).toThrow(/cell 4 is taken/);
    expect(() => game.apply(s, 9)).toThrow(IllegalActionError);
    expect(() => game.apply(s, 1.5)).toThrow(IllegalActionError);
    expect(() => game.apply(replay(game, [0, 3, 1, 4, 2]), 5)).toThrow(/game is over/);
  });

  it('reads moves from free text and explains bad ones', () => {
    const s = replay(game, [4]);
    expect(game.parseAction(s, 'The centre is taken, so I take a corner: [0]')).toBe(0);
    expect(game.parseAction(s, 'Final answer: \\boxed{8}')).toBe(8);
    expect(() => game.parseAction(s, '[4]')).toThrow(ParseError);
    expect(() => game.parseAction(s, '[4]')).toThrow(/answer with one of: \[0\] \[1\]/);
  });

  it('shows the board with free cells numbered', () => {
    expect(game.observationText(replay(game, [4, 0]), 0)).toBe(
      'You are X. Board:\n O | 1 | 2\n---+---+---\n 3 | X | 5\n---+---+---\n 6 | 7 | 8\nYour move.',
    );
  });

  it('keys positions by board, so transpositions meet', () => {
    expect(game.stateKey(replay(game, [0, 4, 8]))).toBe(game.stateKey(replay(game, [8, 4, 0])));
  });
});
