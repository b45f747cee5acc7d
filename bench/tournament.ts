import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { createGame } from '../games/index.ts';
import { Rng } from '../src/core/index.ts';
import { decodeEpisode } from '../src/episodes/index.ts';
import { policyAgent } from '../src/runtime/agent.ts';
import { connect, officialTable, startServer, Store, tuneForServing, type RemoteClient, type ResultRow } from '../src/tournament/index.ts';
import { cpuSeconds, table } from './measure.ts';

/**
 * The tournament server on loopback, with the server in its own process (as
 * in production) and the clients in this one:
 * - throughput: 200 agents playing kuhn-poker in a continuous ladder; moves
 *   a second counted by the clients, move round trips (turn sent to reply
 *   received, as the referee records them) read from the stored episodes;
 *   the same with the live page open;
 * - memory: the server's resident set with 1,000 idle agent connections;
 * - the official ratings (Bradley-Terry and 200 bootstrap fits) of 100
 *   agents over 100,000 games read from the database.
 */

const SELF = fileURLToPath(import.meta.url);
/** This checkout's root. */
const ROOT = join(SELF, '../..');

/** This file doubles as the server process, set up as `selfplay serve` sets up its own: `node bin/run-ts.js bench/tournament.ts serve <db> <tournament.json>`. */
async function serveChild(db: string, tournament: string): Promise<void> {
  tuneForServing();
  const server = await startServer({ db, port: 0, games: createGame, tournaments: tournament === '-' ? [] : [JSON.parse(tournament)], heartbeatMs: 30_000, log: () => undefined });
  process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
  process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
}

/**
 * A server process, with this benchmark file of the checkout at `root`
 * (default: this one) as its entry point, and `nodeFlags` (V8 and Node
 * options) before it. Lines the server prints other than its address (what
 * --trace-gc writes, say) go to `log`, when given.
 */
export async function spawnServer(db: string, tournament: unknown, { root = ROOT, nodeFlags = [], log }: { root?: string; nodeFlags?: readonly string[]; log?: (line: string) => void } = {}): Promise<{ url: string; child: ChildProcess }> {
  const args = [...nodeFlags, join(root, 'bin/run-ts.js'), join(root, 'bench/tournament.ts'), 'serve', db, tournament === undefined ? '-' : JSON.stringify(tournament)];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => (l.startsWith('{"url":') ? resolve(l) : log?.(l)));
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  return { url: JSON.parse(line).url, child };
}

export async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

export function freshDb(): { dir: string; db: string } {
  const dir = mkdtempSync(join(tmpdir(), 'selfplay-bench-'));
  return { dir, db: join(dir, 'bench.db') };
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

const percentile = (sorted: readonly number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

/**
 * How long the benchmark's agents think before each move: none (they answer at
 * once and the server runs flat out), or a uniform draw from [min, max] ms.
 */
export type Thinking = { readonly minMs: number; readonly maxMs: number } | undefined;

/** A database with `agents` registered bots and their tokens, and the kuhn-poker ladder they play. */
export function ladderDb(agents: number): { dir: string; db: string; tokens: string[]; tournament: object } {
  const { dir, db } = freshDb();
  const store = new Store(db);
  const tokens = Array.from({ length: agents }, (_, i) => store.addAgent(`bot${i}`));
  store.close();
  const tournament = { name: 'ladder', game: 'kuhn-poker', format: { type: 'ladder' }, gamesPerPairing: 2, pairedSeeds: true, concurrency: agents, timePerMoveMs: 5000 };
  return { dir, db, tokens, tournament };
}

/**
 * A random agent that counts its moves in `counter` and thinks as `thinking`
 * says. Its reply's meta says how long it planned to think (`plannedMs`) and
 * how long it held the turn (`thinkMs`, from the turn reaching the policy to
 * the answer, so its own timer firing late is included).
 */
export function benchAgent(thinking: Thinking, counter: { moves: number }) {
  return policyAgent((turn, context) => {
    counter.moves++;
    const action = turn.legal[context.rng.int(turn.legal.length)];
    if (!thinking) return action;
    const from = performance.now();
    const plannedMs = thinking.minMs + context.rng.next() * (thinking.maxMs - thinking.minMs);
    return new Promise((resolve) => setTimeout(() => resolve({ action, meta: { thinkMs: performance.now() - from, plannedMs } }), plannedMs));
  });
}

/**
 * The move round trips of the matches finished between two ISO times, as
 * the referee recorded them (turn sent to reply taken) less the time the
 * agent held the turn, which it reports in its reply's meta; and the p99 less
 * the time it planned to think instead, which also counts its timer firing
 * late against the server.
 */
export function roundTrips(db: string, from: string, to: string): { matches: number; p50: number; p99: number; p999: number; p99Planned: number } {
  const read = new Store(db);
  const held: number[] = [];
  const planned: number[] = [];
  const rows = read.db.prepare('SELECT e.data FROM episodes e JOIN results r ON r.match_id = e.match_id WHERE r.finished_at BETWEEN ? AND ?').all(from, to) as { data: Uint8Array }[];
  for (const row of rows) {
    for (const step of decodeEpisode(row.data, 'msgpack').steps) {
      if (step.seat === 'chance' || step.ms === undefined) continue;
      held.push(step.ms - ((step.meta?.thinkMs as number | undefined) ?? 0));
      planned.push(step.ms - ((step.meta?.plannedMs as number | undefined) ?? 0));
    }
  }
  read.close();
  held.sort((a, b) => a - b);
  planned.sort((a, b) => a - b);
  return { matches: rows.length, p50: percentile(held, 0.5), p99: percentile(held, 0.99), p999: percentile(held, 0.999), p99Planned: percentile(planned, 0.99) };
}

/**
 * 200 agents in a continuous kuhn-poker ladder. A move's round trip is what the
 * referee records (turn sent to reply taken) less the time the agent held the
 * turn, which it reports in the reply's meta; the clients' work outside the
 * policy (reading the turn, sending the reply) counts against the server. The
 * server's main thread (the one that serves the agents) is measured apart
 * from its database writer thread. `watched` adds what the live page asks
 * for every 3 s.
 */
async function throughput(thinking: Thinking, { watched = false, agents = 200, warmupMs = 3000, measureMs = 10_000 } = {}) {
  const { dir, db, tokens, tournament } = ladderDb(agents);
  const { url, child } = await spawnServer(db, tournament);
  const counter = { moves: 0 };
  const agent = benchAgent(thinking, counter);
  const clients: RemoteClient[] = tokens.map((token) => connect(url, token, agent));
  await Promise.all(clients.map((c) => c.ready));
  // Watched: the live page's polling, the leaderboard (refitted as results come in) and the tournaments every 3 s.
  const requests = new Set<Promise<unknown>>();
  const get = (path: string) => {
    const request = fetch(url + path).then((r) => (r.ok ? r.text() : Promise.reject(new Error(`GET ${path}: HTTP ${r.status}`))));
    requests.add(request);
    request.then(() => requests.delete(request), () => undefined);
  };
  const poll = watched ? setInterval(() => ['/api/leaderboard', '/api/tournaments'].forEach(get), 3000) : undefined;
  await new Promise((r) => setTimeout(r, warmupMs));
  const from = new Date().toISOString();
  const startMoves = counter.moves;
  const started = performance.now();
  const serverCpu = cpuSeconds(child.pid!);
  const mainCpu = cpuSeconds(child.pid!, child.pid!);
  const clientCpu = process.cpuUsage();
  await new Promise((r) => setTimeout(r, measureMs));
  const elapsed = performance.now() - started;
  const rate = ((counter.moves - startMoves) / elapsed) * 1000;
  const serverLoad = ((cpuSeconds(child.pid!) - serverCpu) * 1000) / elapsed;
  const mainLoad = ((cpuSeconds(child.pid!, child.pid!) - mainCpu) * 1000) / elapsed;
  const clientUsage = process.cpuUsage(clientCpu);
  const clientLoad = (clientUsage.user + clientUsage.system) / 1000 / elapsed;
  const to = new Date().toISOString();
  clearInterval(poll);
  // The page's last requests are answered before the server stops; a failed one fails the benchmark.
  await Promise.all(requests);
  const serverRss = rssMb(child.pid!);
  await Promise.all(clients.map((c) => c.close()));
  await stopServer(child);

  const trips = roundTrips(db, from, to);
  rmSync(dir, { recursive: true, force: true });
  return { agents, rate, matches: trips.matches / (measureMs / 1000), p50: trips.p50, p99: trips.p99, p999: trips.p999, p99Planned: trips.p99Planned, serverRss, serverLoad, mainUsPerMove: (mainLoad * 1e6) / rate, clientLoad };
}

async function idleConnections(count = 1000) {
  const { dir, db } = freshDb();
  const store = new Store(db);
  const tokens = Array.from({ length: count }, (_, i) => store.addAgent(`idle${i}`));
  store.close();
  const { url, child } = await spawnServer(db, undefined);
  const before = rssMb(child.pid!);
  const sockets: WebSocket[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = tokens.slice(i, i + 50).map(
      (token) =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/agent`, { headers: { authorization: `Bearer ${token}` } });
          ws.once('message', () => resolve(ws));
          ws.once('error', reject);
        }),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  await new Promise((r) => setTimeout(r, 1000));
  const after = rssMb(child.pid!);
  for (const ws of sockets) ws.terminate();
  await stopServer(child);
  rmSync(dir, { recursive: true, force: true });
  return { count, before, after };
}

function officialRatings(agents = 100, games = 100_000, samples = 200) {
  const { dir, db } = freshDb();
  const store = new Store(db);
  const rng = new Rng(7);
  const strength = Array.from({ length: agents }, () => rng.next() * 4 - 2);
  const insert = store.db.prepare('INSERT INTO results (match_id, tournament_id, players, returns, outcome, finished_at) VALUES (?, 1, ?, ?, ?, ?)');
  store.db.pragma('foreign_keys = OFF');
  store.db.transaction(() => {
    for (let k = 0; k < games; k++) {
      const i = rng.int(agents);
      const j = (i + 1 + rng.int(agents - 1)) % agents;
      const p = 1 / (1 + Math.exp(strength[j] - strength[i]));
      const u = rng.next();
      const returns = u < 0.1 ? [0, 0] : u < 0.1 + 0.9 * p ? [1, -1] : [-1, 1];
      insert.run(`m${k}`, JSON.stringify([{ agent: `a${i}`, version: '1' }, { agent: `a${j}`, version: '1' }]), JSON.stringify(returns), 'normal', new Date().toISOString());
    }
  })();
  const started = performance.now();
  const results: ResultRow[] = store.results();
  const loaded = performance.now();
  const official = officialTable(results, { samples });
  const done = performance.now();
  store.close();
  rmSync(dir, { recursive: true, force: true });
  return { agents, games: official.games, samples, readMs: loaded - started, fitMs: done - loaded };
}

/** Agents that think 6-22 ms a move (14 on average) offer the server a little over 5,000 moves a second. */
export const THINKING = { minMs: 6, maxMs: 22 };

export async function benchTournament(): Promise<string> {
  const flat = await throughput(undefined);
  const paced = await throughput(THINKING);
  const watched = await throughput(THINKING, { watched: true });
  const idle = await idleConnections();
  const r = officialRatings();
  const thinking = `${THINKING.minMs}-${THINKING.maxMs} ms`;
  return [
    table([{ measure: `${flat.agents} agents answering at once, kuhn-poker ladder: moves/s through the server`, value: flat.rate, target: '>= 5,000' },
      { measure: 'matches/s', value: flat.matches, target: '' },
      { measure: 'move round trip p50 / p99 (ms): the queue of 100 turns at full load', value: `${flat.p50.toFixed(1)} / ${flat.p99.toFixed(1)}`, target: '' },
      { measure: 'server main thread CPU per move (us)', value: flat.mainUsPerMove, target: '' },
      { measure: `${paced.agents} agents thinking ${thinking} a move: moves/s through the server`, value: paced.rate, target: '>= 5,000' },
      { measure: 'move round trip p50 (ms; turn sent to reply taken, less the time the agent held the turn)', value: paced.p50, target: '' },
      { measure: 'move round trip p99 (ms)', value: paced.p99, target: '< 20' },
      { measure: 'p99 less the planned think time instead (the agents\' late timers counted too)', value: paced.p99Planned, target: '' },
      { measure: 'server main thread CPU per move (us)', value: paced.mainUsPerMove, target: '' },
      { measure: 'server CPU, all threads (cores)', value: paced.serverLoad, target: '' },
      { measure: `CPU of the ${paced.agents} clients (cores)`, value: paced.clientLoad, target: '' },
      { measure: 'with the live page open (leaderboard and tournaments every 3 s): moves/s', value: watched.rate, target: '' },
      { measure: 'move round trip p99 / p99.9 (ms), page open', value: `${watched.p99.toFixed(1)} / ${watched.p999.toFixed(1)}`, target: '' },
      { measure: 'server RSS while playing (MB)', value: paced.serverRss, target: '' },
      { measure: `server RSS, no connections (MB)`, value: idle.before, target: '' },
      { measure: `server RSS with ${idle.count} idle agent connections (MB)`, value: idle.after, target: '< 200' },
      { measure: `official ratings, ${r.agents} agents, ${r.games.toLocaleString('en-US')} games, ${r.samples} bootstrap fits: read (ms)`, value: r.readMs, target: '' },
      { measure: 'official ratings: fit and bootstrap (ms)', value: r.fitMs, target: '' },
      { measure: 'official ratings: total (s)', value: (r.readMs + r.fitMs) / 1000, target: '< 5' }]),
    '',
    `loopback; the server in a child process (SQLite WAL, every result committed before it counts), the clients in this process; random agents; load average ${loadavg()[0].toFixed(2)} at the end`,
  ].join('\n');
}

const direct = process.argv[1] !== undefined && resolve(process.argv[1]) === SELF;
if (direct && process.argv[2] === 'serve') await serveChild(process.argv[3], process.argv[4]);
else if (direct) console.log(await benchTournament());
