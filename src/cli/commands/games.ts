import type { Command } from 'commander';
import { createGame, builtinGames } from '../../../games/index.ts';
import { printJson, type CliIO } from '../output.ts';

export function registerGames(program: Command, io: CliIO): void {
  program
    .command('games')
    .description('list the built-in games: id, seats, information and a one-line description')
    .option('--json', 'print a JSON array')
    .action((options: { json?: boolean }) => {
      const rows = Object.keys(builtinGames).map((id) => {
        const game = createGame(id);
        return { id, seats: game.seats, perfectInformation: game.perfectInformation, description: game.description };
      });
      if (options.json) return printJson(io, rows);
      const width = Math.max(...rows.map((r) => r.id.length));
      for (const r of rows) io.out(`${r.id.padEnd(width)}  ${r.seats} seats  ${r.perfectInformation ? 'perfect info  ' : 'hidden info   '}${r.description}`);
    });
}

