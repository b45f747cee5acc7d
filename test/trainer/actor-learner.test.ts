import { describe, expect, it } from 'vitest';
import type { Episode } from '../../src/episodes/episode.ts';
import { InProcessLink, runActors, type MatchJob, type MatchReport } from '../../src/trainer/actor-learner.ts';

const job = (index: number): MatchJob<string> => ({ id: `m${index}`, seed: index, index, spec: `spec ${index}` });
const episodeOf = (job: MatchJob<string>, version: number) => ({ id: job.id, seed: job.seed, version }) as unknown as Episode;

describe('the in-process link between actors and a learner', () => {
  it('hands each job to one actor, which plays it with the version newest when it starts, and reports it back', async () => {
    const link = new InProcessLink<string>({ model: 'p@0', version: 0 });
    const stop = new AbortController();
    const started: { id: string; model: string }[] = [];
    const release: (() => void)[] = [];
    const actors = runActors(link, {
      concurrency: 2,
      signal: stop.signal,
      play: async (j, version) => {
        started.push({ id: j.id, model: version.model });
        await new Promise<void>((resolve) => release.push(resolve));
        return episodeOf(j, version.version);
      },
    });
    await link.handOut([job(0), job(1), job(2)]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    // Two actors: two matches in play, the third waits for one of them.
    expect(started).toEqual([{ id: 'm0', model: 'p@0' }, { id: 'm1', model: 'p@0' }]);
    await link.publish({ model: 'p@1', version: 1 });
    release.shift()!();
    const first = (await link.nextReport()) as MatchReport<string> & { result: Episode };
    expect(first.job.id).toBe('m0');
    expect(first.version).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 10));
    // The third match started after the publish: it plays the new version.
    expect(started[2]).toEqual({ id: 'm2', model: 'p@1' });
    release.splice(0).forEach((resolve) => resolve());
    const reports = [await link.nextReport(), await link.nextReport()];
    expect(reports.map((r) => [r!.job.id, r!.version]).sort()).toEqual([['m1', 0], ['m2', 1]]);
    stop.abort();
    await link.close();
    await actors;
    expect(await link.nextReport()).toBeUndefined();
    expect(await link.nextJob()).toBeUndefined();
  });

  it('reports a match that failed with its error, and stops its actors when closed, aborting the matches in play', async () => {
    const link = new InProcessLink<string>({ model: 'p@0', version: 0 });
    const stop = new AbortController();
    let aborted = 0;
    const actors = runActors(link, {
      concurrency: 3,
      signal: stop.signal,
      play: (j, _version, signal) =>
        j.index === 0
          ? Promise.reject(new Error('the host is down'))
          : new Promise<Episode>((_, reject) => signal.addEventListener('abort', () => (aborted++, reject(new Error('aborted'))))),
    });
    await link.handOut([job(0), job(1), job(2)]);
    expect(await link.nextReport()).toEqual({ job: job(0), version: 0, error: 'the host is down' });
    stop.abort();
    await link.close();
    await actors;
    expect(aborted).toBe(2);
    // Nothing is reported for the matches aborted by the stop, and jobs handed out after it go nowhere.
    await link.handOut([job(3)]);
    expect(await link.nextReport()).toBeUndefined();
  });
});
