import { lastValueFrom, last } from 'rxjs';
import { randomAgent } from '../agents/random.ts';
import { randomPlayout, Rng } from '../src/core/index.ts';
import { runArena } from '../src/runtime/index.ts';
import { createGame } from '../games/index.ts';
import { median, table } from './measure.ts';

async function arenaRate(id: string, matches: number): Promise<number> {
  const game = createGame(id);
  const start = performance.now();
  await lastValueFrom(runArena({ game, players: [{ name: 'a', agent: randomAgent() }, { name: 'b', agent: randomAgent() }], matches, seed: 1 }).pipe(last()));
  return (matches / (performance.now() - start)) * 1000;
}

function rawRate(id: string, games: number): number {
  const game = createGame(id);
  const rng = new Rng(1);
  const start = performance.now();
  for (let i = 0; i < games; i++) randomPlayout(game, rng);
  return (games / (performance.now() - start)) * 1000;
}

/** Matches per second through the actor runtime (every move a turn message and an action message), against raw kernel playouts. */
export async function benchArena(rounds = 5): Promise<string> {
  const rows = [];
  for (const id of ['tic-tac-toe', 'kuhn-poker', 'leduc-poker', 'connect-four']) {
    const matches = id === 'connect-four' ? 5_000 : 20_000;
    await arenaRate(id, 1000);
    const arena: number[] = [];
    const raw: number[] = [];
    for (let r = 0; r < rounds; r++) {
      arena.push(await arenaRate(id, matches));
      raw.push(rawRate(id, matches * 10));
    }
    rows.push({ game: id, 'arena games/s': median(arena), 'raw kernel games/s': median(raw), 'arena / raw': median(arena) / median(raw) });
  }
  return `${table(rows)}\n\nrandom agents, concurrency 8, every move through turn/action messages, episodes recorded; median of ${rounds} rounds`;
}
