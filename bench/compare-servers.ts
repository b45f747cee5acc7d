import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, type RemoteClient } from '../src/tournament/index.ts';
import { cpuSeconds, table } from './measure.ts';
import { benchAgent, ladderDb, roundTrips, spawnServer, stopServer, THINKING } from './tournament.ts';

/**
 * Two checkouts' tournament servers at the same moment: each runs its own
 * kuhn-poker ladder, with its own agents (this checkout's client, in this
 * process), and the CPU each server's main thread spends per move is read
 * over the same windows, with all the process's threads' CPU beside it.
 * On a shared machine whose speed drifts by half between runs, only a
 * comparison made at the same moment shows a change of a few percent.
 *
 *   node bin/run-ts.js bench/compare-servers.ts <other checkout> [--flat] [--agents 100] [--rounds 6] [--seconds 4]
 *     [--flags="<node options for this server>"] [--other-flags="<node options for the other>"] [--gc]
 *
 * The other checkout needs bench/tournament.ts with its `serve` entry point
 * and its own node_modules (a git worktree with a link to these will do); it
 * may be this checkout, to compare Node or V8 options. Each server's move
 * round trips over the windows (as the tournament benchmark reads them from
 * its episodes) are shown at the end; with --gc, each server's scavenges
 * over the windows too (V8's --trace-gc-nvp): how often, how long the
 * main thread stopped, and how many bytes each copied or promoted.
 */

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    flat: { type: 'boolean', default: false },
    agents: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '4' },
    flags: { type: 'string', default: '' },
    'other-flags': { type: 'string', default: '' },
    gc: { type: 'boolean', default: false },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node bin/run-ts.js bench/compare-servers.ts <other checkout> [--flat] [--agents N] [--rounds N] [--seconds S] [--flags="..."] [--other-flags="..."] [--gc]');
  process.exit(2);
}
const agents = Number(values.agents);
const rounds = Number(values.rounds);
const windowMs = Number(values.seconds) * 1000;
const thinking = values.flat ? undefined : THINKING;
const flagsOf = (text: string) => [...text.split(' ').filter((flag) => flag !== ''), ...(values.gc ? ['--trace-gc-nvp'] : [])];
const checkouts = [
  { name: 'other', root: resolve(positionals[0]), nodeFlags: flagsOf(values['other-flags']) },
  { name: 'this', root: join(fileURLToPath(import.meta.url), '../..'), nodeFlags: flagsOf(values.flags) },
];

const servers = await Promise.all(
  checkouts.map(async ({ name, root, nodeFlags }) => {
    const { dir, db, tokens, tournament } = ladderDb(agents);
    const gcLines: string[] = [];
    const { url, child } = await spawnServer(db, tournament, { root, nodeFlags, log: (line) => gcLines.push(line) });
    const counter = { moves: 0 };
    const agent = benchAgent(thinking, counter);
    const clients: RemoteClient[] = tokens.map((token) => connect(url, token, agent));
    await Promise.all(clients.map((c) => c.ready));
    return { name, dir, db, child, clients, counter, gcLines, gcFrom: 0, gcTo: 0, cpu: 0, allCpu: 0, moves: 0 };
  }),
);
await new Promise((r) => setTimeout(r, 3000));

const rows: Record<string, string | number>[] = [];
const from = new Date().toISOString();
for (const s of servers) s.gcFrom = s.gcLines.length;
for (let round = 1; round <= rounds; round++) {
  const before = servers.map((s) => ({ cpu: cpuSeconds(s.child.pid!, s.child.pid!), allCpu: cpuSeconds(s.child.pid!), moves: s.counter.moves }));
  await new Promise((r) => setTimeout(r, windowMs));
  const row: Record<string, string | number> = { window: round };
  servers.forEach((s, i) => {
    const cpu = cpuSeconds(s.child.pid!, s.child.pid!) - before[i].cpu;
    const allCpu = cpuSeconds(s.child.pid!) - before[i].allCpu;
    const moves = s.counter.moves - before[i].moves;
    s.cpu += cpu;
    s.allCpu += allCpu;
    s.moves += moves;
    row[`${s.name}: moves/s`] = moves / (windowMs / 1000);
    row[`${s.name}: main us/move`] = (cpu * 1e6) / moves;
    row[`${s.name}: all us/move`] = (allCpu * 1e6) / moves;
  });
  rows.push(row);
}
const to = new Date().toISOString();
for (const s of servers) s.gcTo = s.gcLines.length;
const perMove = servers.map((s) => (s.cpu * 1e6) / s.moves);
const allPerMove = servers.map((s) => (s.allCpu * 1e6) / s.moves);
const total: Record<string, string | number> = { window: 'all' };
servers.forEach((s, i) => {
  total[`${s.name}: moves/s`] = s.moves / ((rounds * windowMs) / 1000);
  total[`${s.name}: main us/move`] = perMove[i];
  total[`${s.name}: all us/move`] = allPerMove[i];
});
rows.push(total);
const options = (flags: readonly string[]) => (flags.length ? ` (${flags.join(' ')})` : '');
console.log(`${agents} agents per server, ${thinking ? `thinking ${thinking.minMs}-${thinking.maxMs} ms a move` : 'answering at once'}; other = ${checkouts[0].root}${options(checkouts[0].nodeFlags)}, this${options(checkouts[1].nodeFlags)}\n`);
console.log(table(rows));
console.log(`\nmain-thread CPU per move, this / other: ${(perMove[1] / perMove[0]).toFixed(3)}`);
console.log(`all threads' CPU per move (the database writer's and the collector's included), this / other: ${(allPerMove[1] / allPerMove[0]).toFixed(3)}`);

for (const s of servers) {
  await Promise.all(s.clients.map((c) => c.close()));
  await stopServer(s.child);
}
for (const s of servers) {
  const trips = roundTrips(s.db, from, to);
  console.log(`${s.name}: move round trip p50 ${trips.p50.toFixed(1)} ms, p99 ${trips.p99.toFixed(1)} ms`);
  if (values.gc) console.log(`${s.name}: ${scavenges(s.gcLines.slice(s.gcFrom, s.gcTo), (rounds * windowMs) / 1000)}`);
  rmSync(s.dir, { recursive: true, force: true });
}

/** What --trace-gc-nvp says of the main thread's scavenges (its isolate prints the most lines). */
function scavenges(lines: readonly string[], seconds: number): string {
  const isolate = (line: string) => line.slice(0, line.indexOf(']'));
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(isolate(line), (counts.get(isolate(line)) ?? 0) + 1);
  const main = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0];
  const fields = lines
    .filter((line) => isolate(line) === main && line.includes(' gc=s '))
    .map((line) => Object.fromEntries([...line.matchAll(/(\S+)=(\S+)/g)].map(([, key, value]) => [key, Number.parseFloat(value)])));
  if (fields.length === 0) return 'no scavenges';
  const mean = (key: string) => fields.reduce((sum, f) => sum + (f[key] ?? 0), 0) / fields.length;
  const mb = (bytes: number) => (bytes / 1e6).toFixed(2);
  return `${(fields.length / seconds).toFixed(1)} scavenges/s, pause ${mean('pause').toFixed(2)} ms, survived ${mb(mean('new_space_survived'))} MB, promoted ${mb(mean('promoted'))} MB, allocated ${mb(mean('allocated'))} MB between`;
}
