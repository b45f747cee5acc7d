import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EPISODE_FORMATS, openEpisodeWriter, readEpisodes, type Episode, type EpisodeFormat } from '../src/episodes/index.ts';
import { table } from './measure.ts';

const OPERATIONS = ['write', 'reopen for append', 'read'] as const;
type Operation = (typeof OPERATIONS)[number];
type Row = Record<string, string | number>;

const MIB = 1024 * 1024;
const CARDS = ['J', 'Q', 'K'];
const startedAt = new Date(Date.UTC(2025, 0, 1)).toISOString();

/** A Kuhn poker episode as the runtime records it: two deals, three decisions and one invalid reply (six steps). */
function kuhnEpisode(i: number): Episode {
  const first = i % 3;
  const second = (first + 1 + ((i >> 2) & 1)) % 3;
  const [mine, theirs] = [CARDS[first], CARDS[second]];
  const won = first > second ? 2 : -2;
  return {
    schema: 1,
    id: `bench-${i}`,
    game: { id: 'kuhn-poker', params: { hands: 1 } },
    seed: i,
    players: [
      { seat: 0, name: 'mcts', role: 'player', policy: { id: 'mcts', version: 3 } },
      { seat: 1, name: 'random', role: 'player', policy: { id: 'random', version: 1 } },
    ],
    steps: [
      { seat: 'chance', action: `[deal ${mine}]`, parsed: first, valid: true },
      { seat: 'chance', action: `[deal ${theirs}]`, parsed: second, valid: true },
      { seat: 0, observation: `Your card: ${mine}\nYour move.`, action: '[check]', parsed: 0, valid: true, ms: 0.21 },
      { seat: 1, observation: `Your card: ${theirs}\nActions: Player 0 check\nYour move.`, action: '[bet]', parsed: 1, valid: true, ms: 0.05 },
      {
        seat: 0,
        observation: `Your card: ${mine}\nActions: Player 0 check, Player 1 bet\nYour move.`,
        action: 'I will raise',
        valid: false,
        error: 'no legal action in the reply; expected one of [call] [fold]',
        ms: 0.19,
      },
      { seat: 0, observation: `Your card: ${mine}\nActions: Player 0 check, Player 1 bet\nYour move.`, action: '[call]', parsed: 1, valid: true, ms: 0.2 },
    ],
    history: [first, second, 0, 1, 1],
    returns: [won, -won],
    outcome: 'normal',
    startedAt,
    durationMs: 1.3,
  };
}

/**
 * Writes `count` Kuhn poker episodes to a .msgpack and a .jsonl file, reopens
 * each for appending (which scans it for an unfinished last record) and streams
 * it back with validation. Each operation runs in its own process, so its RSS
 * figures are its own; `npm run bench` runs synchronously, which this also allows.
 */
export function benchEpisodes(count = 1_000_000): string {
  const dir = mkdtempSync(join(tmpdir(), 'selfplay-bench-episodes-'));
  try {
    const rows: Row[] = [];
    for (const format of EPISODE_FORMATS) {
      const file = join(dir, `episodes.${format}`);
      for (const operation of OPERATIONS) rows.push(runInChild(operation, file, count));
    }
    return table(rows);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const self = fileURLToPath(import.meta.url);
const runTs = fileURLToPath(new URL('../bin/run-ts.js', import.meta.url));

function runInChild(operation: Operation, file: string, count: number): Row {
  const child = spawnSync(process.execPath, [runTs, self, '--operation', operation, file, String(count)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (child.status !== 0) throw new Error(`episode benchmark "${operation}" on ${file} failed (exit ${child.status ?? child.signal})`);
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as Row;
}

async function measure(operation: Operation, file: string, count: number): Promise<Row> {
  const format = file.slice(file.lastIndexOf('.') + 1) as EpisodeFormat;
  const rssBefore = process.memoryUsage.rss();
  let peak = rssBefore;
  const sample = () => {
    peak = Math.max(peak, process.memoryUsage.rss());
  };
  const timer = setInterval(sample, 10);
  const start = performance.now();
  if (operation === 'read') {
    let read = 0;
    for await (const _ of readEpisodes(file)) if ((++read & 1023) === 0) sample();
    if (read !== count) throw new Error(`read ${read} episodes from ${file}, expected ${count}`);
  } else {
    const writer = await openEpisodeWriter(file);
    if (operation === 'write') {
      for (let i = 0; i < count; i++) {
        await writer.write(kuhnEpisode(i));
        if ((i & 1023) === 0) sample();
      }
    }
    await writer.close();
  }
  const seconds = (performance.now() - start) / 1000;
  clearInterval(timer);
  sample();
  return {
    format,
    operation,
    episodes: count,
    seconds,
    'episodes/s': count / seconds,
    'RSS before (MiB)': rssBefore / MIB,
    'peak RSS (MiB)': peak / MIB,
    'file (MiB)': statSync(file).size / MIB,
  };
}

// `node bin/run-ts.js bench/episodes.ts [count]` prints the table; benchEpisodes runs each operation as `--operation`.
if (process.argv[1] && resolve(process.argv[1]) === self) {
  const [first, ...rest] = process.argv.slice(2);
  if (first === '--operation') {
    const [operation, file, count] = rest;
    console.log(JSON.stringify(await measure(operation as Operation, file, Number(count))));
  } else {
    console.log(benchEpisodes(first === undefined ? undefined : Number(first)));
  }
}
