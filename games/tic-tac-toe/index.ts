import { z } from 'zod';
import { append, defineGame, IllegalActionError, parseParams, type Game } from '../../src/core/index.ts';

/** Cells 0-8 row by row; 0 empty, 1 X (seat 0), 2 O (seat 1). */
export interface TicTacToeState {
  readonly board: readonly number[];
  readonly history: readonly number[];
  /** -1 while playing, 0 or 1 for the winning seat, 2 for a full-board draw. */
  readonly result: number;
}

const LINES = [
  [0, 1, 2], [3, 4, 5], [6, 7, 8],
  [0, 3, 6], [1, 4, 7], [2, 5, 8],
  [0, 4, 8], [2, 4, 6],
];
const LINES_THROUGH: number[][][] = Array.from({ length: 9 }, (_, cell) => LINES.filter((line) => line.includes(cell)));
const MARKS = ['.', 'X', 'O'];
const DRAW = 2;
const WIN_RETURNS = [Object.freeze([1, -1]), Object.freeze([-1, 1])];
const DRAW_RETURNS = Object.freeze([0, 0]);

const paramsSchema = z.object({}).strict();

function completesLine(board: readonly number[], cell: number, mark: number): boolean {
  for (const [a, b, c] of LINES_THROUGH[cell]) {
    if (board[a] === mark && board[b] === mark && board[c] === mark) return true;
  }
  return false;
}

function render(board: readonly number[]): string {
  const cell = (i: number) => (board[i] === 0 ? String(i) : MARKS[board[i]]);
  const row = (r: number) => ` ${cell(3 * r)} | ${cell(3 * r + 1)} | ${cell(3 * r + 2)}`;
  return [row(0), '---+---+---', row(1), '---+---+---', row(2)].join('\n');
}

export function ticTacToe(raw: Record<string, unknown> = {}): Game<TicTacToeState, number> {
  parseParams('tic-tac-toe', paramsSchema, raw);
  const game = defineGame<TicTacToeState, number>({
    id: 'tic-tac-toe',
    description: 'Tic-tac-toe on a 3x3 board: three in a row wins (+1/-1), a full board is a draw.',
    seats: 2,
    maxLength: 9,
    utility: 'zero-sum',
    returnRange: [-1, 1],
    initial: () => ({ board: [0, 0, 0, 0, 0, 0, 0, 0, 0], history: [], result: -1 }),
    turn: (s) => (s.result >= 0 ? 'terminal' : s.history.length & 1),
    legalActions: (s) => {
      const moves: number[] = [];
      if (s.result < 0) for (let i = 0; i < 9; i++) if (s.board[i] === 0) moves.push(i);
      return moves;
    },
    apply: (s, cell) => {
      if (s.result >= 0) throw new IllegalActionError(`tic-tac-toe: the game is over, cell ${cell} cannot be played`);
      if (!Number.isInteger(cell) || cell < 0 || cell > 8) throw new IllegalActionError(`tic-tac-toe: ${JSON.stringify(cell)} is not a cell; cells are 0-8`);
      if (s.board[cell] !== 0) throw new IllegalActionError(`tic-tac-toe: cell ${cell} is taken`);
      const seat = s.history.length & 1;
      const board = s.board.slice();
      board[cell] = seat + 1;
      const history = append(s.history, cell);
      const result = completesLine(board, cell, seat + 1) ? seat : history.length === 9 ? DRAW : -1;
      return { board, history, result };
    },
    returns: (s) => (s.result === 0 || s.result === 1 ? WIN_RETURNS[s.result] : DRAW_RETURNS),
    history: (s) => s.history,
    observe: (s) => ({ board: s.board, toMove: s.result >= 0 ? null : s.history.length & 1 }),
    stateKey: (s) => s.board.join(''),
    rules: (seat) =>
      `You are playing Tic-tac-toe as Player ${seat} (${MARKS[seat + 1]}). Players take turns marking an empty cell of a 3x3 board; ` +
      'the first to get three marks in a row, column or diagonal wins. Cells are numbered 0-8 row by row. ' +
      'Submit your move as the cell number in brackets, for example [4].',
    observationText: (s, seat) => {
      const status =
        s.result < 0
          ? (s.history.length & 1) === seat ? 'Your move.' : "Opponent's move."
          : s.result === DRAW ? 'The game is a draw.' : s.result === seat ? 'You won.' : 'You lost.';
      return `You are ${MARKS[seat + 1]}. Board:\n${render(s.board)}\n${status}`;
    },
    actionText: (_s, cell) => `[${cell}]`,
  });
  return game;
}
