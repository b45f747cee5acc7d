import { randomPlayout, Rng } from '../src/core/index.ts';
import { builtinGames, createGame } from '../games/index.ts';
import { playBaselineGame } from './baseline-tic-tac-toe.ts';
import { median, rate, table } from './measure.ts';

/** Random playouts per second for every built-in game, and the kernel/baseline ratio on tic-tac-toe. */
export function benchPlayouts(rounds = 5): string {
  const rng = new Rng(1);
  const rows: Record<string, string | number>[] = [];
  for (const id of Object.keys(builtinGames)) {
    const game = createGame(id);
    const rates = Array.from({ length: rounds }, () => rate((n) => { for (let i = 0; i < n; i++) randomPlayout(game, rng); }, 1000, 0.3));
    rows.push({ game: id, 'games/s': median(rates) });
  }

  // Interleave baseline and kernel rounds so both see the same machine load.
  const ttt = createGame('tic-tac-toe');
  const ratios: number[] = [];
  const baselines: number[] = [];
  const kernels: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const baseline = rate((n) => { for (let i = 0; i < n; i++) playBaselineGame(rng); }, 1000, 0.3);
    const kernel = rate((n) => { for (let i = 0; i < n; i++) randomPlayout(ttt, rng); }, 1000, 0.3);
    baselines.push(baseline);
    kernels.push(kernel);
    ratios.push(kernel / baseline);
  }
  rows.push({ game: 'tic-tac-toe, hand-written baseline', 'games/s': median(baselines) });
  return `${table(rows)}\n\ntic-tac-toe through the kernel / hand-written baseline: ${median(ratios).toFixed(2)} (median of ${rounds} interleaved rounds; kernel ${Math.round(median(kernels)).toLocaleString('en-US')} games/s)`;
}
