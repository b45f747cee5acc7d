import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, type RemoteClient } from '../src/tournament/index.ts';
import { table } from './measure.ts';
import { benchAgent, cpuSeconds, ladderDb, spawnServer, stopServer, THINKING } from './tournament.ts';

/**
 * Two checkouts' tournament servers at the same moment: each runs its own
 * kuhn-poker ladder, with its own agents (this checkout's client, in this
 * process), and the CPU each server's main thread spends per move is read
 * over the same windows. On a shared machine whose speed drifts by half
 * between runs, only a comparison made at the same moment shows a change of
 * a few percent.
 *
 *   node bin/run-ts.js bench/compare-servers.ts <other checkout> [--flat] [--agents 100] [--rounds 6] [--seconds 4]
 *
 * The other checkout needs bench/tournament.ts with its `serve` entry point
 * and its own node_modules (a git worktree with a link to these will do).
 */

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    flat: { type: 'boolean', default: false },
    agents: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '6' },
    seconds: { type: 'string', default: '4' },
  },
});
if (positionals.length !== 1) {
  console.error('usage: node bin/run-ts.js bench/compare-servers.ts <other checkout> [--flat] [--agents N] [--rounds N] [--seconds S]');
  process.exit(2);
}
const agents = Number(values.agents);
const rounds = Number(values.rounds);
const windowMs = Number(values.seconds) * 1000;
const thinking = values.flat ? undefined : THINKING;
const checkouts = [{ name: 'other', root: resolve(positionals[0]) }, { name: 'this', root: join(fileURLToPath(import.meta.url), '../..') }];

const servers = await Promise.all(
  checkouts.map(async ({ name, root }) => {
    const { dir, db, tokens, tournament } = ladderDb(agents);
    const { url, child } = await spawnServer(db, tournament, root);
    const counter = { moves: 0 };
    const agent = benchAgent(thinking, counter);
    const clients: RemoteClient[] = tokens.map((token) => connect(url, token, agent));
    await Promise.all(clients.map((c) => c.ready));
    return { name, dir, child, clients, counter, cpu: 0, moves: 0 };
  }),
);
await new Promise((r) => setTimeout(r, 3000));

const rows: Record<string, string | number>[] = [];
for (let round = 1; round <= rounds; round++) {
  const before = servers.map((s) => ({ cpu: cpuSeconds(s.child.pid!, s.child.pid!), moves: s.counter.moves }));
  await new Promise((r) => setTimeout(r, windowMs));
  const row: Record<string, string | number> = { window: round };
  servers.forEach((s, i) => {
    const cpu = cpuSeconds(s.child.pid!, s.child.pid!) - before[i].cpu;
    const moves = s.counter.moves - before[i].moves;
    s.cpu += cpu;
    s.moves += moves;
    row[`${s.name}: moves/s`] = moves / (windowMs / 1000);
    row[`${s.name}: main us/move`] = (cpu * 1e6) / moves;
  });
  rows.push(row);
}
const perMove = servers.map((s) => (s.cpu * 1e6) / s.moves);
rows.push({ window: 'all', 'other: moves/s': servers[0].moves / ((rounds * windowMs) / 1000), 'other: main us/move': perMove[0], 'this: moves/s': servers[1].moves / ((rounds * windowMs) / 1000), 'this: main us/move': perMove[1] });
console.log(`${agents} agents per server, ${thinking ? `thinking ${thinking.minMs}-${thinking.maxMs} ms a move` : 'answering at once'}; other = ${checkouts[0].root}\n`);
console.log(table(rows));
console.log(`\nmain-thread CPU per move, this / other: ${(perMove[1] / perMove[0]).toFixed(3)}`);

for (const s of servers) {
  await Promise.all(s.clients.map((c) => c.close()));
  await stopServer(s.child);
  rmSync(s.dir, { recursive: true, force: true });
}
