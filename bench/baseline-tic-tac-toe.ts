import type { Rng } from '../src/core/index.ts';

/**
 * The baseline for the kernel's overhead: tic-tac-toe written by hand with the
 * same immutable style (a new board per move) and no framework around it.
 */
const LINES = [[0, 1, 2], [3, 4, 5], [6, 7, 8], [0, 3, 6], [1, 4, 7], [2, 5, 8], [0, 4, 8], [2, 4, 6]];

function wins(board: readonly number[], mark: number): boolean {
  return LINES.some(([a, b, c]) => board[a] === mark && board[b] === mark && board[c] === mark);
}

/** Plays one uniformly random game; returns the winner's mark, or 0 for a draw. */
export function playBaselineGame(rng: Rng): number {
  let board: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0];
  for (let move = 0; move < 9; move++) {
    const empty: number[] = [];
    for (let i = 0; i < 9; i++) if (board[i] === 0) empty.push(i);
    const mark = (move & 1) + 1;
    const next = board.slice();
    next[empty[rng.int(empty.length)]] = mark;
    board = next;
    if (wins(board, mark)) return mark;
  }
  return 0;
}
