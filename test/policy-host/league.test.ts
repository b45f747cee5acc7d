import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPlayer } from '../../agents/index.ts';
import { kuhnPoker, ticTacToe as ticTacToeGame } from '../../games/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { readEpisodes } from '../../src/episodes/reader.ts';
import { LEARNER, MIRROR, trainHosted, type HostedIteration } from '../../src/trainer/hosted-loop.ts';
import { rateVersions } from '../../src/trainer/version-ratings.ts';
import { runCli } from '../cli/run-cli.ts';
import { python, testHost, tinkerBackend } from './host-fixture.ts';

const ROOT = join(import.meta.dirname, '../..');
const game = kuhnPoker();

const fixture = testHost('selfplay-league-', ['--seed', '2', '--keep', '2']);
const { dir } = fixture;

describe('a league of past versions', () => {
  it('plays each share its opponents, records which version sat in each seat, and trains only on the learner\'s seats', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3, loss: 'ppo' });
    onTestFinished(close);
    const id = backend.policyId;
    const model = backend.model.id;
    const first = backend.version;
    const seen: { it: HostedIteration; episodes: readonly Episode[] }[] = [];
    await trainHosted({
      game,
      backend,
      opponents: 'self:0.5,uniform:0.25,random:0.25',
      // Synchronous, so that each update's games were all played by one version.
      maxStaleness: 0,
      leagueEvery: 1,
      iterations: 4,
      gamesPerIteration: 16,
      seed: 1,
      concurrency: 8,
      onIteration: (it, _state, episodes) => void seen.push({ it, episodes }),
    });
    const health = (await backend.host.health()).policies.find((p) => p.id === model)!;
    // Every update joined the league, pinned on the host though --keep is 2.
    expect(health.pinned).toEqual([first + 1, first + 2, first + 3, first + 4]);
    expect(health.published).toEqual(expect.arrayContaining(health.pinned));
    for (const { it, episodes } of seen) {
      const played = Number(it.played.split('@')[1]);
      expect(episodes).toHaveLength(16);
      expect(it.games).toBe(16);
      let learnerTurns = 0;
      for (const episode of episodes) {
        const share = episode.id.split('-')[1];
        const byName = new Map(episode.players.map((p) => [p.name, p]));
        expect(byName.get(LEARNER)!.policy).toEqual({ id, version: played });
        const [opponent] = episode.players.filter((p) => p.name !== LEARNER);
        if (share === 'self' || (share === 'uniform' && it.iteration === 0)) {
          // Self-play, and a league share while the league is still empty: the same version in both seats.
          expect(opponent.name).toBe(MIRROR);
          expect(opponent.policy).toEqual({ id, version: played });
        } else if (share === 'uniform') {
          const version = Number(opponent.policy!.version);
          expect(opponent.name).toBe(`${model}@${version}`);
          expect(version).toBeLessThanOrEqual(played);
          expect(version).toBeGreaterThan(first);
          expect(episode.steps.filter((s) => s.seat === opponent.seat).every((s) => (s.meta as { model: string }).model === opponent.name)).toBe(true);
        } else {
          expect(share).toBe('random');
          expect(opponent.name).toBe('random');
          expect(opponent.policy).toBeUndefined();
        }
        const learners = episode.players.filter((p) => p.name === LEARNER || p.name === MIRROR).map((p) => p.seat);
        if (episode.outcome === 'normal') learnerTurns += episode.steps.filter((s) => typeof s.seat === 'number' && learners.includes(s.seat) && s.valid).length;
      }
      // The samples are exactly the learner's own turns: none from a league version or the anchor.
      expect(it.samples).toBe(learnerTurns);
      expect(Object.keys(it.returns).sort()).toEqual(['random', 'self', 'uniform']);
      expect(Object.values(it.returns).reduce((n, r) => n + r.games, 0)).toBe(16);
      expect(it.league.map((m) => m.model)).toEqual(Array.from({ length: it.update }, (_, k) => `${model}@${first + k + 1}`));
    }
  }, 180_000);

  it('rates versions and anchors by a paired round robin: MCTS above random at tic-tac-toe', async () => {
    const ticTacToe = ticTacToeGame();
    const { backend, close } = await tinkerBackend(fixture.host.url);
    onTestFinished(close);
    const { model, version } = { model: backend.policy(), version: backend.version };
    const ratings = await rateVersions(ticTacToe, [{ model, version }], {
      sampling: { apiBase: backend.samplingBase },
      policyId: backend.policyId,
      anchors: [createPlayer('random', ticTacToe), createPlayer('mcts:iterations=50', ticTacToe)],
      gamesPerPair: 23,
      seed: 4,
      samples: 100,
    });
    expect(ratings[0].name).toBe('mcts:iterations=50');
    expect(ratings.map((r) => r.name).sort()).toEqual(['mcts:iterations=50', model, 'random'].sort());
    // 24 games (rounded up to even) for each of the 3 pairs, two entrants each.
    expect(ratings.reduce((n, r) => n + r.games, 0)).toBe(2 * 3 * 24);
    for (const r of ratings) expect(r.low).toBeLessThanOrEqual(r.rating), expect(r.high).toBeGreaterThanOrEqual(r.rating);
  }, 120_000);
});

describe('selfplay train-llm run folders', () => {
  it('resumes a run killed by SIGKILL: its own host stops with it, the league comes back on a fresh host, each update is written once', async () => {
    const out = join(dir, 'killed-run');
    const child = spawn(
      process.execPath,
      ['bin/selfplay.js', 'train-llm', 'kuhn-poker', '--python', python, '--iterations', '100', '--games', '8', '--concurrency', '4', '--league-every', '1', '--opponents', 'self:0.5,pfsp:0.5', '--eval-games', '0', '--rate-games', '0', '--exact-every', '0', '--out', out],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let hostUrl: string | undefined;
    createInterface({ input: child.stderr! }).on('line', (line) => (hostUrl ??= /policy host on (\S+)/.exec(line)?.[1]));
    const metrics = join(out, 'metrics.jsonl');
    const rows = () => (existsSync(metrics) ? readFileSync(metrics, 'utf8').split('\n').filter(Boolean).length : 0);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    while (rows() < 3) await new Promise((resolve) => setTimeout(resolve, 100));
    child.kill('SIGKILL');
    await exited;
    expect(hostUrl).toBeDefined();
    // The host it started reads its stdin to the end: with the parent gone, it stops.
    let hostAlive = true;
    for (let wait = 0; wait < 100 && hostAlive; wait++) {
      hostAlive = await fetch(`${hostUrl}/health`).then(() => true, () => false);
      if (hostAlive) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(hostAlive).toBe(false);
    const state = JSON.parse(readFileSync(join(out, 'checkpoints/state.json'), 'utf8'));
    const done = state.state.iteration as number;
    expect(done).toBeGreaterThanOrEqual(2);
    // Kuhn poker trains with mmd, which fits mean-scored moves: the host it started scored them so.
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ objective: 'mmd', choiceScoring: 'mean' });

    const resumed = await runCli('train-llm', '--resume', out, '--python', python, '--iterations', String(done + 2), '--json');
    expect(resumed.err).not.toMatch(/Error/);
    expect(resumed.code).toBe(0);
    const result = JSON.parse(resumed.out);
    expect(result.iterations.map((it: HostedIteration) => it.update)).toEqual([done + 1, done + 2]);
    // The league the checkpoint held is served again (a fresh host, so a new model republished from its checkpoints:
    // the same versions under the new model's id) and grows on.
    const members = (league: { model: string }[]) => league.map((m) => m.model.split('@')[1]);
    expect(members(result.iterations[0].league).slice(0, done)).toEqual(members(state.state.league.members));
    expect(result.iterations[0].league[0].model.split('@')[0]).toBe(result.model.split('@')[0]);
    expect(result.iterations[1].league).toHaveLength(done + 2);
    const rowsWritten = readFileSync(metrics, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
    expect(rowsWritten.map((row) => row.update)).toEqual(Array.from({ length: done + 2 }, (_, k) => k + 1));
    // An mmd run (the default for games) charts its own entropy and KL: every row has both, none the policy gradient's.
    for (const row of rowsWritten) {
      expect(row.moveEntropy).toBeGreaterThan(0);
      expect(row.targetKl).toBeGreaterThanOrEqual(0);
      expect(row).not.toHaveProperty('entropy');
    }
    const ids: string[] = [];
    for await (const episode of readEpisodes(join(out, 'episodes.msgpack'))) ids.push(episode.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(8 * (done + 2));
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain("Learner's mean return by opponent");
    // Each checkpoint replaces the one before on the host: the one state.json names, and at most one a kill left behind.
    const saved = JSON.parse(readFileSync(join(out, 'checkpoints/state.json'), 'utf8')) as { weights: string; members: Record<string, string> };
    const files = readdirSync(join(out, 'checkpoints/host'));
    const [, model, name] = /^tinker:\/\/([^/]+)\/weights\/(.+)$/.exec(saved.weights)!;
    expect(files).toContain(`tinker-${model}-${name}.pt`);
    expect(files.filter((f) => /-update-\d+\.pt$/.test(f)).length).toBeLessThanOrEqual(2);
    expect(Object.keys(saved.members)).toHaveLength(done + 2);
  }, 240_000);

  it('stops at once, saying why, when the host it started dies under it, and the run resumes', async () => {
    const out = join(dir, 'host-killed');
    const child = spawn(
      process.execPath,
      ['bin/selfplay.js', 'train-llm', 'kuhn-poker', '--python', python, '--iterations', '1000', '--games', '8', '--concurrency', '4', '--eval-games', '0', '--rate-games', '0', '--exact-every', '0', '--out', out],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    onTestFinished(() => void child.kill('SIGKILL'));
    let err = '';
    child.stderr!.on('data', (chunk) => (err += String(chunk)));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    // Killed after its first checkpoint, so that the resume has an update to go on from (a row of metrics.jsonl comes just before it).
    const state = join(out, 'checkpoints/state.json');
    while (!existsSync(state)) await new Promise((resolve) => setTimeout(resolve, 100));
    // The host this run started: the Python process whose checkpoints go into the run folder.
    const hostDir = join(out, 'checkpoints/host');
    const host = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .find((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(hostDir);
        } catch {
          return false;
        }
      });
    expect(host).toBeDefined();
    const killed = performance.now();
    process.kill(Number(host), 'SIGKILL');
    expect(await exited).toBe(2);
    // Not after the Tinker client's retries (half a minute): as soon as the step in flight needs the host.
    expect(performance.now() - killed).toBeLessThan(15_000);
    expect(err).toMatch(/the policy host this run started exited \(SIGKILL\)/);
    const done = JSON.parse(readFileSync(state, 'utf8')).state.iteration as number;
    const resumed = await runCli('train-llm', '--resume', out, '--python', python, '--iterations', String(done + 1), '--json');
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.out).iterations.map((it: HostedIteration) => it.update)).toEqual([done + 1]);
  }, 120_000);
});
