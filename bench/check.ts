import { inspectGame } from '../src/check/index.ts';
import { builtinGames, createGame } from '../games/index.ts';
import { table } from './measure.ts';

/** Seconds `selfplay check` spends on each built-in game with the default number of runs. */
export function benchCheck(): string {
  const rows = Object.keys(builtinGames).map((id) => {
    const start = performance.now();
    const report = inspectGame(createGame(id));
    return { game: id, seconds: (performance.now() - start) / 1000, ok: report.ok ? 'yes' : 'NO' };
  });
  return table(rows);
}
