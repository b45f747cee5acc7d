import type { Command } from 'commander';
import { ConfigError } from '../../core/index.ts';
import { readEpisodes, type Episode } from '../../episodes/index.ts';
import { formatEpisode } from '../format-episode.ts';
import { intOption, printJson, type CliIO } from '../output.ts';

export function registerReplay(program: Command, io: CliIO): void {
  program
    .command('replay')
    .description('print an episode of a .msgpack or .jsonl file readably, or list them')
    .argument('<file>', 'an episode file written by `selfplay play --out`, `selfplay train` or a tournament')
    .option('--match <n>', 'which episode, counting from 0', intOption('--match'), 0)
    .option('--list', 'one line per episode: index, id, players, outcome, returns')
    .option('--json', 'print the episode (or, with --list, the lines) as JSON')
    .action(async (file: string, options: { match: number; list?: boolean; json?: boolean }) => {
      let truncated = 0;
      const read = readEpisodes(file, { onTruncated: (bytes) => (truncated = bytes) });
      if (options.list) {
        const rows = [];
        let index = 0;
        for await (const e of read) {
          const row = { index: index++, id: e.id, players: e.players.map((p) => p.name), outcome: e.outcome, returns: e.returns, steps: e.steps.length };
          if (options.json) rows.push(row);
          else io.out(`${String(row.index).padStart(6)}  ${row.id}  ${row.players.join(' vs ')}  ${row.outcome}  [${row.returns.join(', ')}]  ${row.steps} steps`);
        }
        if (options.json) printJson(io, rows);
      } else {
        let index = 0;
        let found: Episode | undefined;
        for await (const e of read) {
          if (index++ === options.match) {
            found = e;
            break;
          }
        }
        if (!found) throw new ConfigError(`${file} has ${index} episode${index === 1 ? '' : 's'}; there is no episode ${options.match}`);
        if (options.json) printJson(io, found);
        else io.out(formatEpisode(found));
      }
      if (truncated) io.err(`note: the file ends with ${truncated} bytes of an unfinished episode (a process stopped mid-write); they were skipped`);
    });
}
