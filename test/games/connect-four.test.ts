import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { connectFour, type ConnectFourState } from '../../games/connect-four/index.ts';
import { ConfigError, IllegalActionError, replay } from '../../src/core/index.ts';

const game = connectFour();
const play = (...columns: number[]) => replay(game, columns);

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A plain reference: drops the pieces into a grid and looks for four in a line anywhere. */
function referenceWinner(columns: readonly number[]): number | null {
  const grid: number[][] = Array.from({ length: 7 }, () => []);
  columns.forEach((c, i) => grid[c].push(i % 2));
  const at = (c: number, r: number) => (c >= 0 && c < 7 ? grid[c][r] : undefined);
  for (let c = 0; c < 7; c++) {
    for (let r = 0; r < 6; r++) {
      const seat = at(c, r);
      if (seat === undefined) continue;
      for (const [dc, dr] of [[1, 0], [0, 1], [1, 1], [1, -1]]) {
        if ([1, 2, 3].every((k) => at(c + k * dc, r + k * dr) === seat)) return seat;
      }
    }
  }
  return null;
}

describe('connect-four wins', () => {
  it('four in a column', () => {
    const almost = play(0, 1, 0, 1, 0, 1);
    expect(game.turn(almost)).toBe(0);
    const s = game.apply(almost, 0);
    expect(game.turn(s)).toBe('terminal');
    expect(game.returns(s)).toEqual([1, -1]);
  });

  it('four in a row, at either side of the board', () => {
    expect(game.returns(play(0, 0, 1, 1, 2, 2, 3))).toEqual([1, -1]);
    expect(game.returns(play(3, 3, 4, 4, 5, 5, 6))).toEqual([1, -1]);
    expect(game.turn(play(0, 0, 1, 1, 2, 2))).toBe(0);
  });

  it('four on a rising diagonal', () => {
    // X ends on (0,0) (1,1) (2,2) (3,3).
    expect(game.returns(play(0, 1, 1, 2, 2, 3, 2, 3, 3, 5, 3))).toEqual([1, -1]);
  });

  it('four on a falling diagonal', () => {
    // The mirror image: X ends on (6,0) (5,1) (4,2) (3,3).
    expect(game.returns(play(6, 5, 5, 4, 4, 3, 4, 3, 3, 1, 3))).toEqual([1, -1]);
  });

  it('the second player wins too', () => {
    expect(game.returns(play(0, 1, 2, 1, 4, 1, 0, 1))).toEqual([-1, 1]);
  });

  it('three in a line, or four with a gap, is no win', () => {
    expect(game.turn(play(0, 6, 1, 6, 2))).toBe(1);
    expect(game.turn(play(0, 0, 1, 1, 2, 2, 4, 4))).toBe(0);
  });
});

describe('connect-four full boards', () => {
  // Found by a separate random search; every line of the final board was checked by hand.
  const drawn = [3, 4, 4, 6, 0, 3, 5, 2, 6, 5, 0, 6, 5, 0, 3, 6, 5, 6, 1, 3, 1, 3, 6, 5, 2, 0, 5, 3, 4, 4, 0, 1, 1, 1, 0, 1, 4, 2, 4, 2, 2, 2];

  it('a full board with no four in a line is a draw', () => {
    const s = play(...drawn);
    expect(game.turn(s)).toBe('terminal');
    expect(game.returns(s)).toEqual([0, 0]);
    expect(game.observe(s, 0)).toEqual({
      rows: ['XOOOXXX', 'XOXOXOO', 'OXOOOXO', 'OOOXXXO', 'XXXOXOX', 'XXOXOXO'],
      toMove: null,
    });
    expect(game.observationText(s, 1)).toContain('The game is a draw.');
    expect(game.legalActions(s)).toEqual([]);
  });

  it('four in a line made by the last piece wins, not draws', () => {
    const s = play(1, 2, 4, 6, 5, 2, 1, 0, 2, 5, 4, 0, 6, 5, 4, 1, 5, 2, 1, 6, 3, 4, 0, 4, 5, 2, 5, 4, 6, 2, 6, 3, 6, 0, 1, 1, 0, 0, 3, 3, 3, 3);
    expect(game.history(s)).toHaveLength(42);
    expect(game.returns(s)).toEqual([-1, 1]);
    expect((game.observe(s, 0) as { rows: string[] }).rows[0]).toBe('OOOOOXX');
  });
});

describe('connect-four moves', () => {
  it('rejects a full column and stops offering it', () => {
    const s = play(0, 0, 0, 0, 0, 0);
    expect(game.legalActions(s)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => game.apply(s, 0)).toThrow(IllegalActionError);
    expect(() => game.parseAction(s, '[0]')).toThrow();
  });

  it('rejects what is not a column, and any move after the end', () => {
    for (const bad of [7, -1, 1.5, Number.NaN, '3' as unknown as number]) {
      expect(() => game.apply(game.initial(), bad)).toThrow(IllegalActionError);
    }
    const over = play(0, 1, 0, 1, 0, 1, 0);
    expect(game.legalActions(over)).toEqual([]);
    expect(() => game.apply(over, 2)).toThrow(IllegalActionError);
  });

  it('writes and reads moves as column numbers in brackets', () => {
    const s = game.initial();
    expect(game.legalActions(s).map((c) => game.actionText(s, c))).toEqual(['[0]', '[1]', '[2]', '[3]', '[4]', '[5]', '[6]']);
    expect(game.parseAction(s, 'The centre is strongest, so [3]')).toBe(3);
    expect(game.parseAction(s, '\\boxed{5}')).toBe(5);
  });

  it('keys positions, not move orders', () => {
    expect(game.stateKey(play(0, 1, 2))).toBe(game.stateKey(play(2, 1, 0)));
    expect(game.stateKey(play(0, 1, 2))).not.toBe(game.stateKey(play(0, 2, 1)));
    expect(game.stateKey(play(0))).not.toBe(game.stateKey(play(0, 0)));
  });

  it('shows the board with column numbers, pieces falling to the bottom', () => {
    const text = game.observationText(play(3, 3, 2), 1);
    expect(text).toContain(
      ['0 1 2 3 4 5 6', '. . . . . . .', '. . . . . . .', '. . . . . . .', '. . . . . . .', '. . . O . . .', '. . X X . . .'].join('\n'),
    );
    expect(text).toContain('You are O');
    expect(text).toContain('Your move.');
    expect(game.rules(0)).toContain('[3]');
  });

  it('rejects unknown parameters', () => {
    expect(() => connectFour({ rows: 8 })).toThrow(ConfigError);
  });
});

describe('connect-four invariants', () => {
  it('agrees with a plain grid scan on random games, never mutating a state', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: 42, maxLength: 42 }), (choices) => {
        let s: ConnectFourState = deepFreeze(game.initial());
        const columns: number[] = [];
        for (const choice of choices) {
          expect(game.turn(s)).toBe(referenceWinner(columns) === null && columns.length < 42 ? columns.length % 2 : 'terminal');
          if (game.turn(s) === 'terminal') break;
          const legal = game.legalActions(s);
          expect(legal).toEqual([0, 1, 2, 3, 4, 5, 6].filter((c) => columns.filter((x) => x === c).length < 6));
          const column = legal[choice % legal.length];
          const before = JSON.stringify(s);
          const next = game.apply(s, column);
          expect(JSON.stringify(s)).toBe(before);
          columns.push(column);
          s = deepFreeze(next);
        }
        const winner = referenceWinner(columns);
        const [r0, r1] = game.returns(s);
        expect([r0, r1]).toEqual(winner === null ? [0, 0] : winner === 0 ? [1, -1] : [-1, 1]);
        expect(r0 + r1).toBe(0);
        expect(game.history(s).length).toBeLessThanOrEqual(game.maxLength);
        expect(game.returnRange).toEqual([-1, 1]);
      }),
      { numRuns: 300 },
    );
  });
});
