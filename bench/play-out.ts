import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultIfEmpty, ignoreElements, lastValueFrom, tap } from 'rxjs';
import { createPlayer } from '../agents/index.ts';
import { createGame } from '../games/index.ts';
import { gameSource } from '../src/cli/load-game.ts';
import { openEpisodeWriter } from '../src/episodes/index.ts';
import { parseInvalidMovePolicy, ResultTally, runArena } from '../src/runtime/index.ts';
import { median, table } from './measure.ts';

type Mode = 'without --out' | 'with --out';
const MODES: readonly Mode[] = ['without --out', 'with --out'];
type Run = { seconds: number; mainCpu: number | undefined; processCpu: number; idle: number; peakRss: number; p99: number | undefined; max: number | undefined; bytes: number };

const MIB = 1024 * 1024;
const self = fileURLToPath(import.meta.url);
const runTs = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url));
const selfplay = fileURLToPath(new URL('../bin/selfplay.js', import.meta.url));

/** CPU seconds of this process's main thread (Linux), without the collector's and libuv's helper threads; undefined elsewhere. */
function mainThreadCpu(): number | undefined {
  try {
    const fields = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime and stime, in clock ticks of 1/100 s
  } catch {
    return undefined;
  }
}

/**
 * One run of `play`'s pipeline (src/cli/commands/play.ts): random agents on
 * Kuhn poker, concurrency 8, rotating seats, a results tally, and with --out
 * an episode writer that paces the arena, takes each episode as its match
 * ends and encodes it in its own thread (the `replay` option, as play uses
 * from 1,000 matches). With --out it also measures how long each episode waits from its
 * match's end until the write holding it completes (observed at every later
 * match's end and every 10 ms, so an upper bound).
 */
async function playOnce(matches: number, out: string | undefined): Promise<Run> {
  const game = createGame('kuhn-poker');
  const players = [createPlayer('random', game), { ...createPlayer('random', game), name: 'random #2' }];
  const writer = out ? await openEpisodeWriter(out, { builtEpisodes: true, replay: gameSource('kuhn-poker', game) }) : undefined;
  const tally = new ResultTally(players.map((p) => p.name));
  const endedAt = out ? new Float64Array(matches) : undefined;
  const waited = out ? new Float64Array(matches) : undefined;
  let seen = 0;
  const observe = () => {
    if (!writer || !endedAt || !waited) return;
    const now = performance.now();
    for (const onDisk = writer.count - writer.pending.episodes; seen < onDisk; seen++) waited[seen] = now - endedAt[seen];
  };
  const timer = out ? setInterval(observe, 10) : undefined;
  const cpuBefore = mainThreadCpu();
  const processBefore = process.cpuUsage();
  const loopBefore = performance.eventLoopUtilization();
  const start = performance.now();
  try {
    await lastValueFrom(
      runArena({ game, players, matches, concurrency: 8, seed: 0, seats: 'rotate', invalidMoves: parseInvalidMovePolicy('eval'), turnTimeoutMs: 60_000, backpressure: writer }).pipe(
        tap((episode) => {
          tally.add(episode);
          if (writer) {
            endedAt![writer.count] = performance.now();
            writer.append(episode);
            observe();
          }
        }),
        ignoreElements(),
        defaultIfEmpty(undefined),
      ),
    );
    await writer?.flush();
    observe();
  } finally {
    clearInterval(timer);
    await writer?.close();
  }
  const seconds = (performance.now() - start) / 1000;
  const idle = performance.eventLoopUtilization(loopBefore).idle / 1000;
  const cpuAfter = mainThreadCpu();
  const processCpu = process.cpuUsage(processBefore);
  if (tally.count !== matches) throw new Error(`played ${tally.count} matches, expected ${matches}`);
  const sorted = waited?.sort();
  return {
    seconds,
    mainCpu: cpuBefore === undefined || cpuAfter === undefined ? undefined : cpuAfter - cpuBefore,
    processCpu: (processCpu.user + processCpu.system) / 1e6,
    idle,
    peakRss: (process.resourceUsage().maxRSS * 1024) / MIB,
    p99: sorted ? sorted[Math.floor(sorted.length * 0.99)] : undefined,
    max: sorted ? sorted[sorted.length - 1] : undefined,
    bytes: out ? statSync(out).size : 0,
  };
}

function runInChild(matches: number, out: string | undefined): Run {
  if (out) rmSync(out, { force: true });
  const child = spawnSync(process.execPath, [runTs, self, '--child', String(matches), ...(out ? [out] : [])], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.status !== 0) throw new Error(`play benchmark (${out ? 'with' : 'without'} --out) failed (exit ${child.status ?? child.signal})`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as Run;
}

/** Wall seconds of `selfplay play kuhn-poker --matches N [--out FILE]`, start-up included. */
function cliSeconds(matches: number, out: string | undefined): number {
  if (out) rmSync(out, { force: true });
  const start = performance.now();
  const child = spawnSync(process.execPath, [selfplay, 'play', 'kuhn-poker', '--matches', String(matches), '--json', ...(out ? ['--out', out] : [])], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (child.status !== 0) throw new Error(`selfplay play failed (exit ${child.status ?? child.signal})`);
  return (performance.now() - start) / 1000;
}

/**
 * `play kuhn-poker` with and without `--out f.msgpack` (issue 19: --out may
 * cost at most 10% of the matches/s). Each run is a process of its own, and
 * the runs with and without --out alternate, so that a busy spell of the
 * machine falls on both; medians of `rounds`. The pipeline rows time the
 * matches alone and give the main thread's CPU seconds (on a shared machine
 * the steadier measure: it leaves out other processes and the collector's
 * helper threads, but also the writer's thread) and the whole process's; the
 * command rows time the whole command, start-up included.
 */
export function benchPlayOut(matches = 200_000, rounds = 5): string {
  const dir = mkdtempSync(join(tmpdir(), 'selfplay-bench-play-out-'));
  try {
    const file = join(dir, 'episodes.msgpack');
    const runs = new Map<Mode, Run[]>(MODES.map((mode) => [mode, []]));
    const cli = new Map<Mode, number[]>(MODES.map((mode) => [mode, []]));
    for (let round = 0; round < rounds; round++) {
      for (const mode of MODES) runs.get(mode)!.push(runInChild(matches, mode === 'with --out' ? file : undefined));
      for (const mode of MODES) cli.get(mode)!.push(cliSeconds(matches, mode === 'with --out' ? file : undefined));
    }
    const rate = (mode: Mode) => median(runs.get(mode)!.map((r) => matches / r.seconds));
    const cpuRate = (mode: Mode) => {
      const cpu = runs.get(mode)!.map((r) => r.mainCpu);
      return cpu.every((c) => c !== undefined && c > 0) ? median(cpu.map((c) => matches / c!)) : NaN;
    };
    const cliRate = (mode: Mode) => median(cli.get(mode)!.map((s) => matches / s));
    const rows = MODES.map((mode) => {
      const r = runs.get(mode)!;
      const withOut = mode === 'with --out';
      return {
        run: mode,
        'matches/s': rate(mode),
        'x without': rate(mode) / rate('without --out'),
        'matches per main-thread CPU s': cpuRate(mode),
        'x without ': cpuRate(mode) / cpuRate('without --out'),
        'command matches/s': cliRate(mode),
        'x without  ': cliRate(mode) / cliRate('without --out'),
        'CPU s, all threads': median(r.map((x) => x.processCpu)),
        'main thread idle (s)': median(r.map((x) => x.idle)),
        'peak RSS (MiB)': Math.max(...r.map((x) => x.peakRss)),
        'p99 to disk (ms)': withOut ? median(r.map((x) => x.p99!)) : '-',
        'max to disk (ms)': withOut ? Math.max(...r.map((x) => x.max!)) : '-',
        'file (MiB)': withOut ? median(r.map((x) => x.bytes)) / MIB : '-',
      };
    });
    return `${table(rows)}\n\n${matches.toLocaleString('en-US')} matches of kuhn-poker, random agents, concurrency 8; medians of ${rounds} runs each, alternating (x without: the ratio to the run without --out; command: the whole \`selfplay play\` process, start-up included; CPU s, all threads: the process's, the writer's thread and the collector's included; main thread idle: the time its event loop waited, here for the writer; to disk: from a match's end until the write holding its episode completed, the median run's p99 and the worst of all runs)`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node bin/run-ts.js bench/play-out.ts [matches [rounds]]` prints the table; benchPlayOut runs each measurement as `--child`.
if (process.argv[1] && resolve(process.argv[1]) === self) {
  const [first, ...rest] = process.argv.slice(2);
  if (first === '--child') {
    const [matches, out] = rest;
    console.log(JSON.stringify(await playOnce(Number(matches), out)));
  } else {
    console.log(benchPlayOut(first === undefined ? undefined : Number(first), rest[0] === undefined ? undefined : Number(rest[0])));
  }
}
