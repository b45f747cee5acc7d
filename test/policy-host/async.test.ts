import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { kuhnPoker } from '../../games/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { hostedJobSchema, LEARNER, MIRROR, runHostedActors, trainHosted, type HostedIteration, type HostedRunState } from '../../src/trainer/hosted-loop.ts';
import { connectNatsLink } from '../../src/trainer/nats-link.ts';
import { startNats } from '../trainer/nats-server.ts';
import { runCli } from '../cli/run-cli.ts';
import { testHost, tinkerBackend } from './host-fixture.ts';

const ROOT = join(import.meta.dirname, '../..');

// The NATS server of a test, stopped after it even when it times out (a test's own finally waits for what timed out).
let server: Awaited<ReturnType<typeof startNats>> | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const game = kuhnPoker();
const fixture = testHost('selfplay-async-', ['--seed', '3']);

/** Trains a model of its own on the test host and returns each update with the episodes it trained on. */
async function run(maxStaleness: number, epochs = 1): Promise<{ first: number; updates: { it: HostedIteration; episodes: readonly Episode[] }[] }> {
  const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3, loss: 'ppo', ratioCap: 2, epochs });
  onTestFinished(close);
  const first = backend.version;
  const updates: { it: HostedIteration; episodes: readonly Episode[] }[] = [];
  await trainHosted({ game, backend, maxStaleness, iterations: 6, gamesPerIteration: 8, concurrency: 8, seed: 4, onIteration: (it, _state, episodes) => void updates.push({ it, episodes }) });
  return { first, updates };
}

/** The host version that played the learner's seats of an episode (both seats in self-play). */
function playedBy(episode: Episode): number {
  const versions = new Set(episode.players.filter((p) => p.name === LEARNER || p.name === MIRROR).map((p) => Number(p.policy!.version)));
  expect(versions.size).toBe(1);
  return [...versions][0];
}

describe('asynchronous training: actors play on while the host trains, at most K versions behind', () => {
  it('never trains on a match played more than K = 2 updates before the weights it updates, and does train on older ones', async () => {
    const { first, updates } = await run(2);
    expect(updates.map((u) => u.it.version)).toEqual([1, 2, 3, 4, 5, 6].map((k) => first + k));
    const ages = updates.flatMap(({ it, episodes }) => {
      expect(episodes.length).toBeGreaterThanOrEqual(8);
      // The weights an update trains are the version before the one it publishes (one optimizer step per update).
      return episodes.map((episode) => it.version - 1 - playedBy(episode));
    });
    expect(Math.min(...ages)).toBe(0);
    expect(Math.max(...ages)).toBeLessThanOrEqual(2);
    // The host kept sampling while it trained: some matches were played by a version one or two updates old.
    expect(Math.max(...ages)).toBeGreaterThan(0);
    expect(updates.map((u) => u.it.ageMax)).toEqual(updates.map(({ it, episodes }) => Math.max(...episodes.map((e) => it.version - 1 - playedBy(e)))));
    // Every match is trained on once.
    const ids = updates.flatMap((u) => u.episodes.map((e) => e.id));
    expect(new Set(ids).size).toBe(ids.length);
    for (const { it } of updates) {
      expect(it.hostBusy).toBeGreaterThan(0);
      expect(it.hostBusy).toBeLessThanOrEqual(1);
    }
  }, 120_000);

  it('with K = 0 trains each update on exactly its batch, all of it played by the version it updates', async () => {
    const { updates } = await run(0);
    for (const { it, episodes } of updates) {
      expect(episodes).toHaveLength(8);
      expect(it.ageMax).toBe(0);
      for (const episode of episodes) expect(playedBy(episode)).toBe(it.version - 1);
    }
  }, 120_000);

  it('counts staleness in updates, not in host versions (each update takes several optimizer steps with epochs)', async () => {
    const { first, updates } = await run(1, 3);
    expect(updates.map((u) => u.it.version)).toEqual([3, 6, 9, 12, 15, 18].map((k) => first + k));
    for (const { it, episodes } of updates) {
      for (const episode of episodes) expect([it.version - 3, it.version - 6]).toContain(playedBy(episode));
      expect(it.ageMax).toBeLessThanOrEqual(1);
    }
  }, 120_000);

  it('trains with actors on the other side of NATS JetStream (runHostedActors, as another process runs them): the same bound, every match once', async () => {
    const nats = (server = await startNats());
    const stop = new AbortController();
    try {
      const learnerLink = await connectNatsLink({ url: nats.url, run: 'bus-test', side: 'learner', spec: hostedJobSchema });
      const actorLink = await connectNatsLink({ url: nats.url, run: 'bus-test', side: 'actor', spec: hostedJobSchema });
      const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3, loss: 'ppo', ratioCap: 2 });
      onTestFinished(close);
      const actors = runHostedActors(actorLink, { game, sampling: { apiBase: backend.samplingBase }, policyId: backend.policyId, anchors: new Map(), concurrency: 8, signal: stop.signal });
      const first = backend.version;
      const updates: { it: HostedIteration; episodes: readonly Episode[] }[] = [];
      await trainHosted({ game, backend, link: learnerLink, localActors: 0, maxStaleness: 1, iterations: 4, gamesPerIteration: 8, seed: 6, onIteration: (it, _state, episodes) => void updates.push({ it, episodes }) });
      expect(updates.map((u) => u.it.version)).toEqual([1, 2, 3, 4].map((k) => first + k));
      for (const { it, episodes } of updates) {
        expect(episodes.length).toBeGreaterThanOrEqual(8);
        for (const episode of episodes) expect(it.version - 1 - playedBy(episode)).toBeLessThanOrEqual(1);
      }
      const ids = updates.flatMap((u) => u.episodes.map((e) => e.id));
      expect(new Set(ids).size).toBe(ids.length);
      stop.abort();
      await actors;
      await Promise.all([learnerLink.close(), actorLink.close()]);
    } finally {
      stop.abort();
    }
  }, 120_000);

  it('runs the learner and two actor processes from the command line: train-llm --bus and selfplay actor', async () => {
    const nats = (server = await startNats());
    const actors: ChildProcess[] = [];
    try {
      const missing = await runCli('actor', '--bus', nats.url, '--run', 'nobody', '--wait', '0.5');
      expect(missing.code).toBe(2);
      expect(missing.err).toMatch(/no run "nobody" .* start its learner first/);
      // Actors may start first: they wait for the run's learner (--wait, 30 s by default).
      for (let i = 0; i < 2; i++) actors.push(spawn(process.execPath, ['bin/selfplay.js', 'actor', '--bus', nats.url, '--run', 'cli-bus', '--concurrency', '4', '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }));
      const learner = runCli('train-llm', 'kuhn-poker', '--tinker', fixture.host.url, '--bus', nats.url, '--run', 'cli-bus', '--iterations', '3', '--games', '8', '--eval-games', '0', '--rate-games', '0', '--exact-every', '0', '--out', join(fixture.dir, 'cli-bus'), '--json');
      const { code, out, err } = await learner;
      expect(err).not.toMatch(/Error/);
      expect(code).toBe(0);
      const steps = JSON.parse(out).iterations as HostedIteration[];
      expect(steps).toHaveLength(3);
      for (const step of steps) expect(step.ageMax).toBeLessThanOrEqual(2);
      // Ctrl-C: each actor stops, releasing what it holds, and says how many matches it played.
      const played = await Promise.all(
        actors.map(async (child) => {
          const output: string[] = [];
          child.stdout!.on('data', (chunk) => output.push(String(chunk)));
          const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
          child.kill('SIGINT');
          expect(await exited).toBe(0);
          return JSON.parse(output.join('')) as { run: string; game: string; jobs: number };
        }),
      );
      expect(played.map((p) => [p.run, p.game])).toEqual([['cli-bus', 'kuhn-poker'], ['cli-bus', 'kuhn-poker']]);
      expect(played.reduce((n, p) => n + p.jobs, 0)).toBeGreaterThanOrEqual(3 * 8);
    } finally {
      for (const child of actors) child.kill('SIGKILL');
    }
  }, 120_000);

  it('over NATS, plays matches in the learner process too with --local-actors, on a connection of their own', async () => {
    const nats = (server = await startNats());
    const { code, out, err } = await runCli('train-llm', 'kuhn-poker', '--tinker', fixture.host.url, '--bus', nats.url, '--local-actors', '4', '--iterations', '2', '--games', '8', '--eval-games', '0', '--rate-games', '0', '--exact-every', '0', '--out', join(fixture.dir, 'local-bus'), '--json');
    expect(err).not.toMatch(/Error/);
    expect(code).toBe(0);
    expect(JSON.parse(out).iterations).toHaveLength(2);
  }, 120_000);

  it('over NATS, resumes a learner that died after a checkpoint: every match it had out is trained once, none twice', async () => {
    const nats = (server = await startNats());
    const stop = new AbortController();
    try {
      const options = { url: nats.url, run: 'crash', spec: hostedJobSchema, leaseSeconds: 1 };
      const first = await connectNatsLink({ ...options, side: 'learner' });
      const actorLink = await connectNatsLink({ ...options, side: 'actor' });
      // The model lives on the host through the learner's death, and so do the actors, as actor processes do.
      const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3, loss: 'ppo' });
      onTestFinished(close);
      const actors = runHostedActors(actorLink, { game, sampling: { apiBase: backend.samplingBase }, policyId: backend.policyId, anchors: new Map(), concurrency: 8, signal: stop.signal });
      const run = { game, localActors: 0, maxStaleness: 2, gamesPerIteration: 8, seed: 7 } as const;
      const trained: string[] = [];
      let checkpoint: HostedRunState | undefined;
      await expect(
        trainHosted({
          ...run,
          backend,
          link: first,
          iterations: 10,
          onIteration: (it, state, episodes) => {
            // Update 4 is trained and then the learner dies before its checkpoint: it counts for nothing.
            if (it.update === 4) throw new Error('killed before its checkpoint');
            trained.push(...episodes.map((e) => e.id));
            checkpoint = state;
          },
        }),
      ).rejects.toThrow('killed before its checkpoint');
      expect(checkpoint!.iteration).toBe(3);
      expect(checkpoint!.outstanding!.length).toBeGreaterThan(0);
      // Its connection drops without a word; its hold on the run lapses a second later.
      await (first as unknown as { nc: { close(): Promise<void> } }).nc.close();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const second = await connectNatsLink({ ...options, side: 'learner' });
      let last: HostedRunState | undefined;
      const resumed: HostedIteration[] = [];
      await trainHosted({
        ...run,
        backend,
        link: second,
        iterations: 6,
        resume: checkpoint,
        onIteration: (it, state, episodes) => {
          trained.push(...episodes.map((e) => e.id));
          resumed.push(it);
          last = state;
        },
      });
      expect(resumed.map((it) => it.update)).toEqual([4, 5, 6]);
      // Exactly once: no match trained twice across the two lives...
      expect(new Set(trained).size).toBe(trained.length);
      // ...and none lost: what the checkpoint had out was trained after the resume, or is still out.
      const stillOut = new Set(last!.outstanding!.map((o) => o.job.id));
      for (const { job } of checkpoint!.outstanding!) expect(trained.includes(job.id) || stillOut.has(job.id)).toBe(true);
      for (const it of resumed) expect(it.ageMax).toBeLessThanOrEqual(2);
      stop.abort();
      await actors;
      await Promise.all([second.close(), actorLink.close()]);
    } finally {
      stop.abort();
    }
  }, 120_000);
});
