import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';
import { encodeEpisode, readEpisodes } from '../../src/episodes/index.ts';

const run = runCli;

const dir = mkdtempSync(join(tmpdir(), 'selfplay-play-'));

describe('selfplay play with agents and files', () => {
  it('plays many matches and prints the JSON summary the issue specifies', async () => {
    const { code, out } = await run('play', 'tic-tac-toe', '--agent', 'mcts:iterations=300', '--agent', 'random', '--matches', '40', '--json');
    expect(code).toBe(0);
    const summary = JSON.parse(out);
    expect(summary.matches).toBe(40);
    expect(summary.agents.map((a: { agent: string }) => a.agent)).toEqual(['mcts:iterations=300', 'random']);
    const [mcts, random] = summary.agents;
    expect(mcts.wins + mcts.draws + mcts.losses).toBe(40);
    expect(mcts.wins).toBeGreaterThan(30);
    expect(random.wins).toBe(mcts.losses);
  });

  it('writes byte-identical episode files for the same seed, in either format', async () => {
    for (const ext of ['msgpack', 'jsonl']) {
      const a = join(dir, `a.${ext}`);
      const b = join(dir, `b.${ext}`);
      await run('play', 'kuhn-poker', '--agent', 'random', '--agent', 'random', '--matches', '200', '--seed', '4', '--out', a);
      await run('play', 'kuhn-poker', '--agent', 'random', '--agent', 'random', '--matches', '200', '--seed', '4', '--out', b);
      expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
      let count = 0;
      for await (const episode of readEpisodes(a)) {
        expect(episode.game.id).toBe('kuhn-poker');
        count++;
      }
      expect(count).toBe(200);
    }
  });

  it('writes a long run from the writer thread: every match, in order, each record the standard encoding of its episode', async () => {
    for (const ext of ['msgpack', 'jsonl'] as const) {
      const file = join(dir, `thread.${ext}`);
      // 1,000 matches or more: --out encodes in a thread of its own.
      const { code } = await run('play', 'leduc-poker', '--matches', '1000', '--seed', '9', '--out', file);
      expect(code).toBe(0);
      const records: Buffer[] = [];
      const ids: string[] = [];
      for await (const episode of readEpisodes(file)) {
        ids.push(episode.id);
        records.push(Buffer.from(encodeEpisode(episode, ext)));
      }
      expect(ids).toEqual(Array.from({ length: 1000 }, (_, i) => `seed9-${i}`));
      expect(Buffer.concat(records).equals(readFileSync(file))).toBe(true);
    }
  });

  it('replays an episode readably, lists episodes, and explains a bad index', async () => {
    const file = join(dir, 'replay.jsonl');
    await run('play', 'tic-tac-toe', '--matches', '5', '--seed', '1', '--out', file);
    const shown = await run('replay', file, '--match', '2');
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/^episode seed1-\d: tic-tac-toe, seed \d+/);
    expect(shown.out).toMatch(/seat 0 sees:/);
    expect(shown.out).toMatch(/returns: seat 0/);
    const listed = await run('replay', file, '--list');
    expect(listed.out.split('\n')).toHaveLength(5);
    const missing = await run('replay', file, '--match', '9');
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/has 5 episodes; there is no episode 9/);
  });

  it('replays what is complete in a file cut mid-write, and says so', async () => {
    const file = join(dir, 'cut.jsonl');
    await run('play', 'tic-tac-toe', '--matches', '3', '--out', file);
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.slice(0, text.length - 40));
    const listed = await run('replay', file, '--list');
    expect(listed.out.split('\n')).toHaveLength(2);
    expect(listed.err).toMatch(/ends with \d+ bytes of an unfinished episode/);
  });

  it('refuses an unknown file format, agent or seat count', async () => {
    expect((await run('play', 'tic-tac-toe', '--out', join(dir, 'x.csv'))).err).toMatch(/\.msgpack|\.jsonl/);
    expect((await run('play', 'tic-tac-toe', '--agent', 'oracle', '--agent', 'random')).err).toMatch(/unknown agent "oracle"; agents: random, mcts/);
    expect((await run('play', 'tic-tac-toe', '--agent', 'random')).err).toMatch(/has 2 seats: give one --agent per seat \(got 1\)/);
    expect((await run('play', 'kuhn-poker', '--agent', 'mcts', '--agent', 'random')).err).toMatch(/perfect-information/);
  });

  it('streams episodes to --out as matches end: a SIGKILL mid-run keeps what was played', async () => {
    // A million matches: a run that held its episodes until the end would have nothing on disk for minutes.
    const path = join(dir, 'streamed.msgpack');
    const child = spawn(process.execPath, ['bin/selfplay.js', 'play', 'kuhn-poker', '--matches', '1000000', '--out', path], { stdio: 'ignore' });
    const exited = once(child, 'exit');
    const size = () => (existsSync(path) ? statSync(path).size : 0);
    // About 500 bytes an episode: wait for a few thousand (no timing asserted: a loaded machine only waits longer).
    for (let waited = 0; size() < 2_000_000 && child.exitCode === null && waited < 30_000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill('SIGKILL');
    const [, signal] = await exited;
    expect(signal).toBe('SIGKILL');
    const ids = new Set<string>();
    for await (const episode of readEpisodes(path)) ids.add(episode.id);
    expect(ids.size).toBeGreaterThan(3000);
    expect([...ids].every((id) => /^seed0-\d+$/.test(id))).toBe(true);
  }, 60_000);
});
