import { z } from 'zod';
import { append, defineGame, IllegalActionError, parseParams, type Game } from '../../src/core/index.ts';

const COLUMNS = 7;
const ROWS = 6;
const CELLS = COLUMNS * ROWS;
/** Bits per column in a bitboard: the six rows and a sentinel that stays clear, so lines never wrap into the next column. */
const STRIDE = ROWS + 1;

/**
 * Actions are columns 0-6; a piece falls to the lowest empty row. Boards are bitboards
 * with bit 7 * column + row (row 0 at the bottom), held exactly in a double (49 bits).
 */
export interface ConnectFourState {
  /** Seat 0's (X) and seat 1's (O) pieces. */
  readonly x: number;
  readonly o: number;
  /** Pieces in column c: bits 3c to 3c+2. */
  readonly heights: number;
  /** Bit c is set while column c has room. */
  readonly open: number;
  readonly history: readonly number[];
  /** -1 while playing, 0 or 1 for the winning seat, 2 for a full-board draw. */
  readonly result: number;
}

const MARKS = ['.', 'X', 'O'];
const DRAW = 2;
const ALL_OPEN = (1 << COLUMNS) - 1;
/** The open columns for each mask of open columns. */
const MOVES: readonly (readonly number[])[] = Array.from({ length: 1 << COLUMNS }, (_, open) =>
  Object.freeze([0, 1, 2, 3, 4, 5, 6].filter((c) => open & (1 << c))),
);
const WIN_RETURNS = [Object.freeze([1, -1]), Object.freeze([-1, 1])];
const DRAW_RETURNS = Object.freeze([0, 0]);
const BIT = Array.from({ length: STRIDE * COLUMNS }, (_, i) => 2 ** i);
/** Four columns of a bitboard fit a 32-bit integer; every line lies within some four consecutive columns. */
const WINDOW = 2 ** (4 * STRIDE);
/** Bit distances to the next cell of a line: up, down-right, right, up-right. */
const STEPS = [1, STRIDE - 1, STRIDE, STRIDE + 1];

const paramsSchema = z.object({}).strict();

const height = (heights: number, column: number) => (heights >> (3 * column)) & 7;
const has = (board: number, column: number, row: number) => Math.floor(board / BIT[STRIDE * column + row]) % 2 === 1;

/** Whether `board` has four in a line through `column`. */
function hasFour(board: number, column: number): boolean {
  for (let first = Math.max(0, column - 3); first <= Math.min(column, COLUMNS - 4); first++) {
    const w = Math.floor(board / BIT[STRIDE * first]) % WINDOW;
    for (const step of STEPS) {
      const pairs = w & (w >>> step);
      if (pairs & (pairs >>> (2 * step))) return true;
    }
  }
  return false;
}

/** Rows top first, as the board is seen. */
function rows(s: ConnectFourState): string[] {
  const out: string[] = [];
  for (let r = ROWS - 1; r >= 0; r--) {
    let line = '';
    for (let c = 0; c < COLUMNS; c++) line += has(s.x, c, r) ? 'X' : has(s.o, c, r) ? 'O' : '.';
    out.push(line);
  }
  return out;
}

export function connectFour(raw: Record<string, unknown> = {}): Game<ConnectFourState, number> {
  parseParams('connect-four', paramsSchema, raw);
  return defineGame<ConnectFourState, number>({
    id: 'connect-four',
    description: 'Connect Four on 7 columns and 6 rows: four in a row, column or diagonal wins (+1/-1), a full board is a draw.',
    seats: 2,
    maxLength: CELLS,
    utility: 'zero-sum',
    returnRange: [-1, 1],
    initial: () => ({ x: 0, o: 0, heights: 0, open: ALL_OPEN, history: [], result: -1 }),
    turn: (s) => (s.result >= 0 ? 'terminal' : s.history.length & 1),
    legalActions: (s) => MOVES[s.result >= 0 ? 0 : s.open],
    apply: (s, column) => {
      if (s.result >= 0) throw new IllegalActionError(`connect-four: the game is over, column ${column} cannot be played`);
      if (!Number.isInteger(column) || column < 0 || column >= COLUMNS) {
        throw new IllegalActionError(`connect-four: ${JSON.stringify(column)} is not a column; columns are 0-6`);
      }
      if (!(s.open & (1 << column))) throw new IllegalActionError(`connect-four: column ${column} is full`);
      const seat = s.history.length & 1;
      const row = height(s.heights, column);
      const piece = BIT[STRIDE * column + row];
      const x = seat === 0 ? s.x + piece : s.x;
      const o = seat === 1 ? s.o + piece : s.o;
      const history = append(s.history, column);
      const open = row === ROWS - 1 ? s.open & ~(1 << column) : s.open;
      const result = hasFour(seat === 0 ? x : o, column) ? seat : history.length === CELLS ? DRAW : -1;
      return { x, o, heights: s.heights + (1 << (3 * column)), open, history, result };
    },
    returns: (s) => (s.result === 0 || s.result === 1 ? WIN_RETURNS[s.result] : DRAW_RETURNS),
    history: (s) => s.history,
    observe: (s) => ({ rows: rows(s), toMove: s.result >= 0 ? null : s.history.length & 1 }),
    stateKey: (s) => `${s.x}/${s.o}`,
    rules: (seat) =>
      `You are playing Connect Four as Player ${seat} (${MARKS[seat + 1]}). The board has 7 columns (numbered 0-6) and 6 rows. ` +
      'Players take turns dropping a piece into a column that is not full; it falls to the lowest empty row. ' +
      'The first to get four pieces in a row, horizontally, vertically or diagonally, wins; a full board is a draw. ' +
      'Submit your move as the column number in brackets, for example [3].',
    observationText: (s, seat) => {
      const status =
        s.result < 0
          ? (s.history.length & 1) === seat ? 'Your move.' : "Opponent's move."
          : s.result === DRAW ? 'The game is a draw.' : s.result === seat ? 'You won.' : 'You lost.';
      const board = ['0 1 2 3 4 5 6', ...rows(s).map((line) => [...line].join(' '))].join('\n');
      return `You are ${MARKS[seat + 1]}. Board (column numbers on top):\n${board}\n${status}`;
    },
    actionText: (_s, column) => `[${column}]`,
  });
}
