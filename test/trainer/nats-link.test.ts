import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createPlayer } from '../../agents/index.ts';
import { kuhnPoker } from '../../games/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { playMatch } from '../../src/runtime/index.ts';
import { runActors, type ActorLearnerLink, type MatchJob, type MatchReport } from '../../src/trainer/actor-learner.ts';
import { connectNatsLink, readRunDescription } from '../../src/trainer/nats-link.ts';
import { startNats } from './nats-server.ts';
import { stallingProxy } from './stalling-proxy.ts';

const game = kuhnPoker();
const spec = z.object({ label: z.string() });
type Spec = z.infer<typeof spec>;
const job = (index: number): MatchJob<Spec> => ({ id: `u1-self-${index}`, seed: 1000 + index, index, spec: { label: 'self' } });
const play = (j: MatchJob<Spec>) => playMatch({ game, players: [createPlayer('random', game), { ...createPlayer('random', game), name: 'random #2' }], seed: j.seed, matchId: j.id });

let nats: { url: string; stop(): Promise<void> };
beforeAll(async () => {
  nats = await startNats();
}, 30_000);
afterAll(async () => nats?.stop());

describe('the actor/learner link over NATS JetStream', () => {
  it('hands each job to one of the actors of other connections, with the newest version, and brings every episode back to the learner', async () => {
    const learner = await connectNatsLink({ url: nats.url, run: 'two-actors', side: 'learner', spec });
    const actors = await Promise.all([0, 1].map(() => connectNatsLink({ url: nats.url, run: 'two-actors', side: 'actor', spec })));
    const stop = new AbortController();
    const played: { actor: number; id: string; model: string }[] = [];
    try {
      await learner.publish({ model: 'tiny@3', version: 3 });
      const running = actors.map((link, actor) =>
        runActors(link, {
          concurrency: 2,
          signal: stop.signal,
          play: async (j, version) => {
            played.push({ actor, id: j.id, model: version.model });
            return play(j);
          },
        }),
      );
      await learner.handOut(Array.from({ length: 8 }, (_, i) => job(i)));
      const reports: MatchReport<Spec>[] = [];
      while (reports.length < 8) reports.push((await learner.nextReport())!);
      expect(reports.map((r) => r.job.id).sort()).toEqual(Array.from({ length: 8 }, (_, i) => job(i).id).sort());
      for (const report of reports) {
        expect(report.version).toBe(3);
        // The episode crossed the bus and was checked against the episode schema: the match the seed makes.
        expect((report as { result: Episode }).result).toEqual(await play(report.job));
      }
      expect(played.every((p) => p.model === 'tiny@3')).toBe(true);
      expect(new Set(played.map((p) => p.id)).size).toBe(8);
      stop.abort();
      await Promise.all(actors.map((link) => link.close()));
      await Promise.all(running);
    } finally {
      stop.abort();
      await Promise.all([learner, ...actors].map((link) => link.close()));
    }
  }, 30_000);

  it('gives a job whose actor died unreported to another actor, and stores a job reported twice once', async () => {
    const options = { url: nats.url, run: 'redelivery', spec, ackWaitSeconds: 1 };
    const learner = await connectNatsLink({ ...options, side: 'learner' });
    const first = await connectNatsLink({ ...options, side: 'actor' });
    try {
      await learner.publish({ model: 'tiny@0', version: 0 });
      await learner.handOut([job(0)]);
      const taken = await first.nextJob();
      expect(taken?.id).toBe(job(0).id);
      // The actor's process dies: its connection drops without a report or a nak.
      await (first as unknown as { nc: { close(): Promise<void> } }).nc.close();
      const second = await connectNatsLink({ ...options, side: 'actor' });
      try {
        const again = await second.nextJob();
        expect(again).toEqual(job(0));
        const episode = await play(again!);
        await second.report({ job: again!, version: 0, result: episode });
        // The same job reported again (an actor that finished it after all): JetStream keeps one copy.
        await second.report({ job: again!, version: 0, result: episode });
        expect((await learner.nextReport())?.job.id).toBe(job(0).id);
        const late = await Promise.race([learner.nextReport(), new Promise((resolve) => setTimeout(() => resolve('nothing'), 1500))]);
        expect(late).toBe('nothing');
      } finally {
        await second.close();
      }
    } finally {
      await learner.close();
    }
  }, 30_000);

  it('drops a malformed job for good, and hands a learner only well-formed reports', async () => {
    const options = { url: nats.url, run: 'malformed', spec };
    const learner = await connectNatsLink({ ...options, side: 'learner' });
    const actor = await connectNatsLink({ ...options, side: 'actor' });
    const raw = await connect({ servers: nats.url });
    try {
      await learner.publish({ model: 'tiny@0', version: 0 });
      raw.publish('selfplay.malformed.jobs', JSON.stringify({ id: 7, seed: 'x' }));
      raw.publish('selfplay.malformed.episodes', '{not json');
      raw.publish('selfplay.malformed.episodes', JSON.stringify({ job: job(1), version: 0, result: { schema: 1 } }));
      await raw.flush();
      await learner.handOut([job(2)]);
      expect((await actor.nextJob())?.id).toBe(job(2).id);
      await actor.report({ job: job(2), version: 0, error: 'the host is down' });
      // The learner learns where the bus keeps the report (its stream sequence: after the two malformed ones), for a replay.
      expect(await learner.nextReport()).toEqual({ job: job(2), version: 0, error: 'the host is down', position: 3 });
    } finally {
      await raw.close();
      await Promise.all([learner, actor].map((link: ActorLearnerLink<Spec>) => link.close()));
    }
  }, 30_000);

  it('lets one learner hold a run: a second is refused while the first lives, and a killed one frees it when its lease runs out', async () => {
    const options = { url: nats.url, run: 'held', spec, side: 'learner' as const, leaseSeconds: 1 };
    const first = await connectNatsLink(options);
    await expect(connectNatsLink(options)).rejects.toThrow(new RegExp(`another learner holds run "held" \\(\\{"pid":${process.pid}.*frees it within 1 s`));
    await first.describe({ game: 'kuhn-poker' });
    expect(await readRunDescription({ url: nats.url, run: 'held' })).toEqual({ game: 'kuhn-poker' });
    await expect(readRunDescription({ url: nats.url, run: 'nobody', timeoutMs: 300 })).rejects.toThrow(/no run "nobody" on the NATS server at .* start its learner first/);
    // Closed: the run is free at once.
    await first.close();
    const second = await connectNatsLink(options);
    // Killed (its connection drops without a word): free once the lease runs out.
    await (second as unknown as { nc: { close(): Promise<void> } }).nc.close();
    await expect(connectNatsLink(options)).rejects.toThrow(/another learner holds run "held"/);
    await new Promise((resolve) => setTimeout(resolve, 1600));
    const third = await connectNatsLink(options);
    await third.close();
  }, 30_000);

  it('has an actor that starts first wait for the run and its description, and say when the learner never wrote one', async () => {
    const waiting = readRunDescription({ url: nats.url, run: 'late', timeoutMs: 10_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const learner = await connectNatsLink({ url: nats.url, run: 'late', side: 'learner', spec });
    try {
      await expect(readRunDescription({ url: nats.url, run: 'late', timeoutMs: 200 })).rejects.toThrow(/run "late" has no description: its learner has not written one within 0.2 s/);
      await learner.describe({ game: 'leduc-poker' });
      expect(await waiting).toEqual({ game: 'leduc-poker' });
    } finally {
      await learner.close();
    }
  }, 30_000);

  it('sends a setup request the server answers late again, takes the run whose claim lost its answer, and says when the server never answers in time', async () => {
    // The bucket's stream is added on the third try: the answers to the first two come after their 0.5 s.
    const slow = await stallingProxy(nats.url, '$JS.API.STREAM.CREATE.KV_selfplay_slow_versions', 1200);
    try {
      const lines: string[] = [];
      const learner = await connectNatsLink({ url: slow.url, run: 'slow', side: 'learner', spec, setupTimeoutMs: 500, log: (line) => lines.push(line) });
      expect(slow.stalls).toBe(1);
      expect(lines[0]).toBe('opening the versions bucket of run "slow": the NATS server has not answered in 0.5 s; asking again (try 2 of 4)');
      await learner.describe({ game: 'kuhn-poker' });
      expect(await readRunDescription({ url: nats.url, run: 'slow' })).toEqual({ game: 'kuhn-poker' });
      await learner.close();
    } finally {
      await slow.close();
    }
    // The first claim on the run lands but its answer is late; the second is refused, by this learner's own claim.
    const lost = await stallingProxy(nats.url, '$KV.selfplay_claimed_lease.learner', 800);
    try {
      const options = { url: lost.url, run: 'claimed', side: 'learner' as const, spec, setupTimeoutMs: 500 };
      const learner = await connectNatsLink(options);
      expect(lost.stalls).toBe(1);
      await expect(connectNatsLink({ ...options, url: nats.url })).rejects.toThrow(new RegExp(`another learner holds run "claimed" \\(\\{"pid":${process.pid}`));
      await learner.close();
    } finally {
      await lost.close();
    }
    const stopped = await stallingProxy(nats.url, '$JS.API.STREAM.CREATE.SELFPLAY_stuck_JOBS', 10_000);
    try {
      await expect(connectNatsLink({ url: stopped.url, run: 'stuck', side: 'learner', spec, setupTimeoutMs: 300 })).rejects.toThrow(
        /adding the jobs stream of run "stuck" on the NATS server went unanswered 4 times \(0\.3 s each\)/,
      );
    } finally {
      await stopped.close();
    }
  }, 30_000);

  it('says clearly what is wrong: no server, no JetStream, no run, a bad run name', async () => {
    await expect(connectNatsLink({ url: 'nats://127.0.0.1:1', run: 'r', side: 'learner', spec })).rejects.toThrow(/cannot reach the NATS server at nats:\/\/127\.0\.0\.1:1/);
    await expect(connectNatsLink({ url: nats.url, run: 'never-started', side: 'actor', spec })).rejects.toThrow(/no run "never-started" .* start its learner first/);
    await expect(connectNatsLink({ url: nats.url, run: 'a.b', side: 'learner', spec })).rejects.toThrow(/letters, digits/);
    const plain = await startNats(false);
    try {
      await expect(connectNatsLink({ url: plain.url, run: 'r', side: 'learner', spec })).rejects.toThrow(/JetStream is not enabled .* -js/);
    } finally {
      await plain.stop();
    }
  }, 30_000);
});
