import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { lastValueFrom, toArray } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPlayer } from '../../agents/index.ts';
import { builtinGames, createGame } from '../../games/index.ts';
import { gameSource } from '../../src/cli/load-game.ts';
import { ConfigError, type Game } from '../../src/core/index.ts';
import { EPISODE_FORMATS, EpisodeError, openEpisodeWriter, type Episode, type EpisodeFormat, type WriterOptions } from '../../src/episodes/index.ts';
import { parseInvalidMovePolicy, runArena } from '../../src/runtime/index.ts';
import { readAll, tempDir } from './helpers.ts';

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

async function arenaEpisodes(game: Game, matches: number, seed = 0): Promise<Episode[]> {
  const players = [createPlayer('random', game), { ...createPlayer('random', game), name: 'random #2' }];
  return lastValueFrom(
    runArena({ game, players, matches, concurrency: 4, seed, seats: 'rotate', invalidMoves: parseInvalidMovePolicy('eval'), turnTimeoutMs: 60_000 }).pipe(toArray()),
  );
}

/**
 * Episodes the thread cannot rebuild, each shaped as a referee builds them:
 * model meta on a step, timing, a role, an invalid reply before a valid one,
 * a forfeit, a different player.
 */
function unreplayable(episode: Episode, k: number): Episode {
  const [first, ...rest] = episode.steps;
  const decision = episode.steps.findIndex((step) => step.seat !== 'chance');
  switch (k % 6) {
    case 0:
      return { ...episode, steps: episode.steps.map((step, i) => (i === decision ? { ...step, meta: { tokens: [1, 2], logprob: -0.5 } } : step)) };
    case 1:
      return { ...episode, steps: episode.steps.map((step) => (step.seat === 'chance' ? step : { ...step, ms: 1.25 })), startedAt: '2026-01-01T00:00:00.000Z', durationMs: 3.5 };
    case 2:
      return { ...episode, players: episode.players.map((p) => ({ ...p, role: 'player' })) };
    case 3: {
      const step = episode.steps[decision];
      const invalid = { seat: step.seat, observation: step.observation, infoKey: step.infoKey, action: 'pass the salt', valid: false, error: 'no action found' };
      return { ...episode, steps: [...episode.steps.slice(0, decision), invalid, ...episode.steps.slice(decision)] };
    }
    case 4:
      return { ...episode, steps: [first, ...rest].slice(0, decision + 1), outcome: 'forfeit', reason: 'seat 0 (random) made an invalid move', offender: 0, returns: episode.returns.map((_, s) => (s === 0 ? -1 : 1)) };
    default:
      return { ...episode, players: episode.players.map((p, seat) => (seat === 1 ? { ...p, name: `guest ${k}` } : p)) };
  }
}

/** Writes the episodes; with `replay`, the first ten most likely before the thread has its game (encoded here), the rest after. */
async function writeWith(path: string, list: readonly Episode[], options: WriterOptions): Promise<void> {
  const writer = await openEpisodeWriter(path, { builtEpisodes: true, ...options });
  for (const [k, episode] of list.entries()) {
    if (k === 10) await writer.replaying;
    writer.append(episode);
    await writer.ready();
  }
  await writer.close();
}

describe.each(EPISODE_FORMATS)('a %s writer that replays in a thread', (format: EpisodeFormat) => {
  it.each(Object.keys(builtinGames))('writes the very bytes the plain writer writes, for %s, replayed or not', async (id) => {
    const game = createGame(id);
    const played = await arenaEpisodes(game, 60, 7);
    // Every fifth episode is one the thread cannot rebuild, so both kinds interleave within batches.
    const list = played.map((episode, k) => (k % 5 === 4 ? unreplayable(episode, k) : episode));
    const plain = join(dir, `plain.${format}`);
    const replayed = join(dir, `replayed.${format}`);
    await writeWith(plain, list, {});
    // Small marks: many batches, and episodes queued behind the thread.
    await writeWith(replayed, list, { replay: gameSource(id, game), maxPendingEpisodes: 8 });
    expect(readFileSync(replayed).equals(readFileSync(plain))).toBe(true);
    expect((await readAll(replayed)).episodes).toHaveLength(list.length);
  });

  it('appends to a file with records in it, as the plain writer does', async () => {
    const game = createGame('kuhn-poker');
    const list = await arenaEpisodes(game, 40);
    const plain = join(dir, `plain.${format}`);
    const replayed = join(dir, `replayed.${format}`);
    await writeWith(plain, list, {});
    await writeWith(replayed, list.slice(0, 15), {});
    await writeWith(replayed, list.slice(15), { replay: gameSource('kuhn-poker', game) });
    expect(readFileSync(replayed).equals(readFileSync(plain))).toBe(true);
  });
});

describe('a writer that replays in a thread', () => {
  it('counts episodes as pending until they are in the file, and holds a producer back by its marks', async () => {
    const game = createGame('kuhn-poker');
    const list = await arenaEpisodes(game, 100);
    const path = join(dir, 'paced.msgpack');
    const writer = await openEpisodeWriter(path, { builtEpisodes: true, replay: gameSource('kuhn-poker', game), maxPendingEpisodes: 16 });
    await writer.replaying;
    for (const episode of list.slice(0, 16)) writer.append(episode);
    expect(writer.pending.episodes).toBe(16);
    expect(writer.pending.bytes).toBeGreaterThan(0);
    const ready = writer.ready();
    expect(ready).toBeInstanceOf(Promise);
    await ready;
    expect(writer.pending.episodes).toBeLessThanOrEqual(8);
    await writer.flush();
    expect([writer.pending.episodes, writer.pending.bytes]).toEqual([0, 0]);
    expect((await readAll(path)).episodes.map((e) => e.id)).toEqual(list.slice(0, 16).map((e) => e.id));
    await writer.close();
    expect(writer.count).toBe(16);
  });

  /** Ten Kuhn arena episodes, and a replaying writer to `name` whose thread has taken over. */
  const replayingKuhn = async (name: string) => {
    const game = createGame('kuhn-poker');
    const list = await arenaEpisodes(game, 10);
    const path = join(dir, name);
    const writer = await openEpisodeWriter(path, { builtEpisodes: true, replay: gameSource('kuhn-poker', game) });
    await writer.replaying;
    return { list, path, writer };
  };

  it('refuses an episode that is not JSON data at once, as the plain writer does, and writes the rest', async () => {
    const { list, path, writer } = await replayingKuhn('bad.msgpack');
    writer.append(list[0]);
    const bad = { ...list[1], steps: list[1].steps.map((step) => ({ ...step, meta: { when: new Date(0) } })) };
    expect(() => writer.append(bad)).toThrow(EpisodeError);
    expect(() => writer.append(bad)).toThrow(/cannot encode episode "seed0-1": steps\.0\.meta\.when/);
    writer.append(list[2]);
    await writer.close();
    expect((await readAll(path)).episodes.map((e) => e.id)).toEqual(['seed0-0', 'seed0-2']);
  });

  it('stops at an episode whose replay does not give its returns: the ones before it are in the file, and flush and close say why', async () => {
    const { list, path, writer } = await replayingKuhn('diverged.msgpack');
    const forged = { ...list[3], returns: [7, -7] };
    for (const episode of [...list.slice(0, 3), forged, ...list.slice(4)]) writer.append(episode);
    await expect(writer.flush()).rejects.toThrow(/cannot write episode "seed0-3": replaying its actions through kuhn-poker gives returns \[-?\d,-?\d\], where the match had \[7,-7\]/);
    expect(() => writer.append(list[0])).toThrow(/seed0-3/);
    await expect(writer.close()).rejects.toThrow(EpisodeError);
    expect((await readAll(path)).episodes.map((e) => e.id)).toEqual(['seed0-0', 'seed0-1', 'seed0-2']);
  });

  it('fails, saying which, when the thread loads a game other than the writer', async () => {
    const game = createGame('kuhn-poker');
    const [episode] = await arenaEpisodes(game, 1);
    const loader = join(dir, 'other-loader.mjs');
    writeFileSync(loader, `export async function loadGame() { return { id: 'kuhn-poker', params: { hands: 3, scoring: 'chips' } }; }\n`);
    const writer = await openEpisodeWriter(join(dir, 'other.msgpack'), { builtEpisodes: true, replay: { game, module: pathToFileURL(loader).href, ref: 'kuhn-poker' } });
    writer.append(episode);
    const why = /loaded kuhn-poker \{"hands":3,"scoring":"chips"\} from kuhn-poker, not the writer's kuhn-poker \{"hands":1,"scoring":"chips"\}/;
    await expect(writer.replaying).rejects.toThrow(why);
    expect(() => writer.append(episode)).toThrow(why);
    await expect(writer.close()).rejects.toThrow(EpisodeError);
  });

  it('fails when the thread cannot load its game, keeping what was written before', async () => {
    const game = createGame('kuhn-poker');
    const [episode] = await arenaEpisodes(game, 1);
    const path = join(dir, 'unloadable.msgpack');
    const writer = await openEpisodeWriter(path, { builtEpisodes: true, replay: { game, module: pathToFileURL(join(dir, 'missing.mjs')).href, ref: 'kuhn-poker' } });
    writer.append(episode);
    await expect(writer.replaying).rejects.toThrow(/missing\.mjs/);
    await expect(writer.close()).rejects.toThrow(/missing\.mjs/);
    expect((await readAll(path)).episodes.map((e) => e.id)).toEqual([episode.id]);
  });

  it('takes only episodes a referee built', async () => {
    const game = createGame('kuhn-poker');
    await expect(openEpisodeWriter(join(dir, 'x.msgpack'), { replay: gameSource('kuhn-poker', game) })).rejects.toThrow(ConfigError);
  });
});
