import type { Command } from 'commander';
import { ConfigError } from '../../core/index.ts';
import { loadTournamentConfig, type GameResolver } from '../../tournament/config.ts';
import { startServer } from '../../tournament/server.ts';
import { tuneForServing } from '../../tournament/serving-process.ts';
import { loadGame } from '../load-game.ts';
import { intOption, type CliIO } from '../output.ts';

interface ServeOptions {
  port: number;
  host: string;
  db: string;
  tournament: string[];
  origin: string[];
  sync: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** Built-in games and module files, with a config's params. */
const resolveGame: GameResolver = loadGame;

export function registerServe(program: Command, io: CliIO): void {
  program
    .command('serve')
    .description('run the tournament server: agents connect over WebSocket, spectators open the live page')
    .option('--port <n>', 'port to listen on (0: any free port)', intOption('--port'), 8080)
    .option('--host <address>', 'address to bind', '127.0.0.1')
    .option('--db <file>', 'SQLite database with agents, tournaments and results', 'selfplay.db')
    .option('--tournament <file>', 'a tournament config (JSON) to create and run; repeatable. Unfinished tournaments in the database resume anyway', collect, [])
    .option('--origin <url>', 'an origin whose pages may connect (besides the server itself); repeatable', collect, [])
    .option('--sync <mode>', 'normal: results survive a killed server; full: they survive a power cut too (an fsync per commit)', 'normal')
    .option('--json', 'print {"url": ...} when listening')
    .action(async (options: ServeOptions) => {
      if (options.sync !== 'normal' && options.sync !== 'full') throw new ConfigError(`--sync must be normal or full, got "${options.sync}"`);
      const tournaments = await Promise.all(options.tournament.map((path) => loadTournamentConfig(path, resolveGame)));
      tuneForServing();
      const server = await startServer({ db: options.db, port: options.port, host: options.host, tournaments, games: resolveGame, origins: options.origin, durability: options.sync, log: (line) => io.err(line) });
      io.out(options.json ? JSON.stringify({ url: server.url }) : `selfplay server listening on ${server.url} (agents: ${server.url.replace(/^http/, 'ws')}/agent)`);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          io.err('shutting down: running matches will be replayed on the next start');
          server.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
