import type { Command } from 'commander';
import { defaultIfEmpty, ignoreElements, lastValueFrom, tap } from 'rxjs';
import { createPlayer } from '../../../agents/index.ts';
import { ConfigError } from '../../core/index.ts';
import { openEpisodeWriter, type Episode } from '../../episodes/index.ts';
import { parseInvalidMovePolicy, ResultTally, runArena, type AgentRecord, type Player } from '../../runtime/index.ts';
import { formatEpisode } from '../format-episode.ts';
import { GAME_HELP, gameSource, loadGame } from '../load-game.ts';
import { intOption, printJson, type CliIO } from '../output.ts';
import { progressBar } from '../progress.ts';

interface PlayOptions {
  agent?: string[];
  matches: number;
  concurrency: number;
  seed: number;
  invalidMoves: string;
  turnTimeout: number;
  maxTurns?: number;
  timing?: boolean;
  out?: string;
  rotate: boolean;
  json?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
/** From this many matches, --out encodes and writes in a thread of its own. */
const THREAD_MATCHES = 1000;

/** Players for the seats; a spec given twice gets a suffix so that results stay apart. */
function seatPlayers(specs: readonly string[] = [], seats: number, create: (spec: string) => Player): Player[] {
  const chosen = specs.length ? specs : Array.from({ length: seats }, () => 'random');
  if (chosen.length !== seats) throw new ConfigError(`this game has ${seats} seats: give one --agent per seat (got ${chosen.length})`);
  const seen = new Map<string, number>();
  return chosen.map((spec) => {
    const count = (seen.get(spec) ?? 0) + 1;
    seen.set(spec, count);
    const player = create(spec);
    return count === 1 ? player : { ...player, name: `${spec} #${count}` };
  });
}

function resultsTable(records: readonly AgentRecord[]): string {
  const rows = records.map((r) => [r.agent, r.wins, r.draws, r.losses, r.errors, r.score.toFixed(3), `[${r.interval[0].toFixed(3)}, ${r.interval[1].toFixed(3)}]`, r.meanReturn.toFixed(3)].map(String));
  const header = ['agent', 'wins', 'draws', 'losses', 'errors', 'score', '95% interval', 'mean return'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** The distinct reasons matches ended in error, most frequent first, with their counts. */
function errorReasons(reasons: ReadonlyMap<string, number>): string {
  return [...reasons].sort((a, b) => b[1] - a[1]).map(([reason, count]) => `  ${count} x ${reason}`).join('\n');
}

export function registerPlay(program: Command, io: CliIO, setExit: (code: number) => void = () => {}): void {
  program
    .command('play')
    .description('play matches between agents (random, mcts, tabular, llm, human), printing the game or a results table')
    .argument('<game>', GAME_HELP)
    .option('--agent <spec>', 'one per seat, in seat order: random, mcts[:iterations=N,c=X], tabular:policy=FILE, llm:model=NAME[,base=URL,...], human (default: random for every seat)', collect)
    .option('--matches <n>', 'matches to play', intOption('--matches', 1), 1)
    .option('--concurrency <n>', 'matches in flight at once', intOption('--concurrency', 1), 8)
    .option('--seed <n>', 'seed of the run: each match gets one derived from it', intOption('--seed'), 0)
    .option('--invalid-moves <policy>', 'spiral-train, eval, textarena, retry:N or custom:retries=R,offender=X,others=Y', 'eval')
    .option('--turn-timeout <ms>', 'milliseconds a seat has for each move', intOption('--turn-timeout', 1), 60_000)
    .option('--max-turns <n>', 'stop a match after this many turns, as a draw', intOption('--max-turns', 1))
    .option('--out <file>', 'write every episode to this file: .msgpack (standard msgpack) or .jsonl, appending')
    .option('--timing', 'record milliseconds per move in the episodes (they then differ from run to run)')
    .option('--no-rotate', 'keep every agent in its seat instead of rotating seats from match to match')
    .option('--json', 'print one JSON object {matches, agents: [{agent, wins, draws, losses, ...}]}')
    .action(async (ref: string, options: PlayOptions) => {
      const game = await loadGame(ref);
      // Long runs encode in a thread of their own; a few matches don't wait for one to start.
      const replay = options.matches >= THREAD_MATCHES ? gameSource(ref, game) : undefined;
      const writer = options.out ? await openEpisodeWriter(options.out, { builtEpisodes: true, replay }) : undefined;
      const players = seatPlayers(options.agent, game.seats, (spec) => createPlayer(spec, game));
      const interactive = (options.agent ?? []).some((spec) => spec.split(':')[0] === 'human');
      const bar = options.matches > 1 && !interactive ? progressBar('matches', options.matches) : undefined;
      // Episodes stream: each goes to the file as its match ends, the arena waits while the file is behind,
      // and only the tally (and the first episode, to print a single match) stays in memory.
      const tally = new ResultTally(players.map((p) => p.name));
      let first: Episode | undefined;
      const errors = new Map<string, number>();
      try {
        await lastValueFrom(
          runArena({
            game,
            players,
            matches: options.matches,
            concurrency: interactive ? 1 : options.concurrency,
            seed: options.seed,
            seats: options.rotate ? 'rotate' : 'fixed',
            invalidMoves: parseInvalidMovePolicy(options.invalidMoves),
            turnTimeoutMs: options.turnTimeout,
            maxTurns: options.maxTurns,
            timing: options.timing,
            backpressure: writer,
          }).pipe(
            // Synchronous: an async step per episode falls behind the arena and queues its episodes.
            tap((episode) => {
              first ??= episode;
              tally.add(episode);
              if (episode.outcome === 'error') errors.set(episode.reason ?? 'no reason given', (errors.get(episode.reason ?? 'no reason given') ?? 0) + 1);
              writer?.append(episode);
              bar?.update(tally.count);
            }),
            ignoreElements(),
            defaultIfEmpty(undefined),
          ),
        );
      } finally {
        bar?.stop();
        await writer?.close();
      }
      const records = tally.records();
      const played = tally.count;
      const errored = [...errors.values()].reduce((a, b) => a + b, 0);
      if (errored > 0) io.err(`${errored} of ${played} matches ended in error:\n${errorReasons(errors)}`);
      // Nothing was played when every match failed: say so with the exit status too.
      if (played > 0 && errored === played) setExit(1);
      if (options.json) return printJson(io, { matches: played, agents: records, ...(options.out ? { out: options.out } : {}) });
      if (options.matches === 1 && !interactive) io.out(formatEpisode(first!));
      if (options.out) io.out(`episodes written to ${options.out}`);
      io.out(`\n${game.id}: ${played} match${played === 1 ? '' : 'es'}${options.rotate ? ', seats rotating' : ''}, seed ${options.seed}\n${resultsTable(records)}`);
    });
}
