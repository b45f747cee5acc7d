import type { Command } from 'commander';
import { formatReport, inspectGame } from '../../check/index.ts';
import { builtinGameIds, loadGame } from '../load-game.ts';
import { intOption, printJson, type CliIO } from '../output.ts';

export function registerCheck(program: Command, io: CliIO, setExit: (code: number) => void): void {
  program
    .command('check')
    .description("property-test games' rules: random legal play against every invariant, shrinking any failure to its shortest history")
    .argument('[games...]', 'built-in game ids (with parameters: kuhn-poker:hands=3) or paths to modules exporting a game; default: every built-in game')
    .option('--runs <n>', 'random games per invariant (an eighth as many again come from a coverage-guided search)', intOption('--runs', 1), 200)
    .option('--seed <n>', 'fast-check seed, to reproduce a run', intOption('--seed'), 42)
    .option('--exhaustive-limit <n>', 'check games of at most N histories over the whole tree as well (0: never)', intOption('--exhaustive-limit'), 20_000)
    .option('--json', 'print one JSON object {ok, games: [report...]}')
    .addHelpText('after', '\nExit status: 0 when every invariant holds, 1 when one fails, 2 on bad usage.')
    .action(async (refs: string[], options: { runs: number; seed: number; exhaustiveLimit: number; json?: boolean }) => {
      const targets = refs.length ? refs : builtinGameIds();
      const reports = [];
      for (const ref of targets) {
        const game = await loadGame(ref);
        const report = inspectGame(game, { runs: options.runs, seed: options.seed, exhaustiveLimit: options.exhaustiveLimit });
        reports.push(report);
        if (!options.json) io.out(formatReport(report));
      }
      const ok = reports.every((r) => r.ok);
      if (options.json) printJson(io, { ok, games: reports });
      setExit(ok ? 0 : 1);
    });
}
