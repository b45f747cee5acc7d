import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { kuhnPoker, leducPoker } from '../../games/index.ts';
import { compile } from '../../src/analysis/compile.ts';
import { uniformStrategy } from '../../src/analysis/strategy.ts';
import { Rng } from '../../src/core/index.ts';
import { InProcessLink, runActors, type MatchJob } from '../../src/trainer/actor-learner.ts';
import { FastTrainer } from '../../src/trainer/fast-loop.ts';
import { playCompiled, samplesFromTerminals } from '../../src/trainer/fast-play.ts';
import { SampleBatch } from '../../src/trainer/samples.ts';
import { BusPlay, chunkSeed, decodeStrategy, encodeStrategy, runTabularActors, terminalsCodec, type TabularJob } from '../../src/trainer/tabular-bus.ts';

const kuhn = compile(kuhnPoker());
const leduc = compile(leducPoker());
const used = (batch: SampleBatch) => ({
  slot: Array.from(batch.slot.subarray(0, batch.length)),
  seat: Array.from(batch.seat.subarray(0, batch.length)),
  episode: Array.from(batch.episode.subarray(0, batch.length)),
  returns: Array.from(batch.returns.subarray(0, batch.episodes * batch.seats)),
});

/** The terminals the actors must send for a chunk: its episodes played here from the chunk's seed. */
function expectedChunk(tree = kuhn, strategy: Float64Array, episodes: number, seed: number): Int32Array {
  const paths: Int32Array[] = [];
  playCompiled(tree, [strategy, strategy], [false, false], episodes, new Rng(seed), new SampleBatch(2), paths);
  return Int32Array.from(paths, (path) => path[path.length - 1]);
}

describe('episodes that travel as terminal nodes', () => {
  it('give back exactly the samples, returns and paths of the episodes played on the tree', () => {
    fc.assert(
      fc.property(fc.constantFrom(kuhn, leduc), fc.integer({ min: 0, max: 2 ** 31 }), fc.integer({ min: 1, max: 200 }), fc.boolean(), fc.boolean(), (tree, seed, n, first, second) => {
        const strategy = uniformStrategy(tree);
        const played = new SampleBatch(2);
        const paths: Int32Array[] = [];
        playCompiled(tree, [strategy, strategy], [first, second], n, new Rng(seed), played, paths);
        const rebuilt = new SampleBatch(2);
        const rebuiltPaths: Int32Array[] = [];
        samplesFromTerminals(tree, Int32Array.from(paths, (p) => p[p.length - 1]), [first, second], rebuilt, rebuiltPaths);
        expect(used(rebuilt)).toEqual(used(played));
        expect(rebuiltPaths).toEqual(paths);
      }),
      { numRuns: 60 },
    );
  });

  it('refuses a number that is not a terminal node', () => {
    expect(() => samplesFromTerminals(kuhn, Int32Array.of(0), [true, true], new SampleBatch(2))).toThrow(/node 0 is not a terminal node of kuhn-poker/);
    expect(() => samplesFromTerminals(kuhn, Int32Array.of(kuhn.nodeCount), [true, true], new SampleBatch(2))).toThrow(/is not a terminal node/);
  });

  it('round-trip through text, and text that is not theirs is refused', () => {
    const terminals = Int32Array.of(5, 17, 2 ** 30);
    expect(terminalsCodec.decode(JSON.parse(JSON.stringify(terminalsCodec.encode(terminals))))).toEqual(terminals);
    expect(() => terminalsCodec.decode(42)).toThrow(/not base64 text/);
    expect(() => terminalsCodec.decode('a!b')).toThrow(/not base64 text/);
    expect(() => terminalsCodec.decode(Buffer.from([1, 2, 3]).toString('base64'))).toThrow(/3 bytes, not a whole number of 4-byte values/);
    const strategy = uniformStrategy(leduc);
    expect(decodeStrategy(leduc, encodeStrategy(strategy))).toEqual(strategy);
    expect(() => decodeStrategy(kuhn, encodeStrategy(strategy))).toThrow(/holds \d+ probabilities; kuhn-poker has 24 actions/);
    const bad = uniformStrategy(kuhn);
    bad[3] = 0.9;
    expect(() => decodeStrategy(kuhn, encodeStrategy(bad))).toThrow(/sum to 1.4/);
    bad[3] = Number.NaN;
    expect(() => decodeStrategy(kuhn, encodeStrategy(bad))).toThrow(/probability NaN at action slot 3/);
    expect(() => decodeStrategy(kuhn, undefined)).toThrow(/holds 0 probabilities/);
  });
});

describe('tabular self-play with actors on a link', () => {
  const train = async (concurrency: number, chunk: number, episodes: number) => {
    const link = new InProcessLink<TabularJob, Int32Array>({ model: 'none', version: -1 });
    const stop = new AbortController();
    const actors = runTabularActors(link, { game: kuhnPoker(), concurrency, signal: stop.signal });
    const trainer = new FastTrainer(kuhnPoker(), { episodes, seed: 3, batch: 2000, evaluateEvery: 1000, remote: new BusPlay(link, { model: 'kuhn-poker/tabular-softmax', chunk }) });
    const last = await trainer.run();
    stop.abort();
    await link.close();
    await actors;
    return { trainer, last };
  };

  it('trains the same policy however many actors play the chunks, in whatever order they finish, and learns Kuhn poker', async () => {
    const one = await train(1, 250, 200_000);
    const four = await train(4, 250, 200_000);
    expect(four.trainer.learner.probabilities).toEqual(one.trainer.learner.probabilities);
    // The same amount of in-process self-play: the same updates, and the same neighbourhood (the uniform policy's exploitability is 0.458).
    const local = await new FastTrainer(kuhnPoker(), { episodes: 200_000, seed: 3, batch: 2000, evaluateEvery: 1000 }).run();
    expect(four.trainer.updates).toBe(local!.update);
    expect(one.last!.exploitability!).toBeLessThan(Math.max(0.05, 2 * local!.exploitability!));
  }, 60_000);

  it('counts each chunk once, ignores what is not its jobs, and hands out again a chunk whose actor failed or sent something else', async () => {
    const link = new InProcessLink<TabularJob, Int32Array>({ model: 'none', version: -1 });
    const strategy = uniformStrategy(kuhn);
    const play = new BusPlay(link, { model: 'kuhn-poker/tabular-softmax', chunk: 40 });
    const result = play.play({ tree: kuhn, update: 7, version: 6, strategy, episodes: 100, seed: 9 });
    const jobs: MatchJob<TabularJob>[] = [];
    for (let i = 0; i < 3; i++) jobs.push((await link.nextJob())!);
    expect(jobs.map((j) => [j.spec.chunk, j.spec.episodes, j.seed])).toEqual([0, 1, 2].map((c) => [c, c === 2 ? 20 : 40, chunkSeed(9, 7, c)]));
    expect(decodeStrategy(kuhn, link.latest().data)).toEqual(strategy);
    const right = (job: MatchJob<TabularJob>) => expectedChunk(kuhn, strategy, job.spec.episodes, job.seed);
    // Another update's chunk, a chunk at another version, another seed: not this update's.
    await link.report({ job: { ...jobs[0], spec: { ...jobs[0].spec, update: 6 } }, version: 6, result: Int32Array.of(1) });
    await link.report({ job: { ...jobs[0], spec: { ...jobs[0].spec, version: 5 } }, version: 5, result: Int32Array.of(1) });
    await link.report({ job: { ...jobs[0], seed: 1 }, version: 6, result: right({ ...jobs[0], seed: 1 }) });
    // Failures: an error, too few episodes, a node that is not terminal; each chunk goes out again.
    await link.report({ job: jobs[0], version: 6, error: 'killed' });
    await link.report({ job: jobs[1], version: 6, result: right(jobs[1]).subarray(1) });
    const wrong = right(jobs[2]);
    wrong[0] = 0;
    await link.report({ job: jobs[2], version: 6, result: wrong });
    const again: MatchJob<TabularJob>[] = [];
    for (let i = 0; i < 3; i++) again.push((await link.nextJob())!);
    expect(again.map((j) => [j.spec, j.seed])).toEqual(jobs.map((j) => [j.spec, j.seed]));
    expect(new Set([...jobs, ...again].map((j) => j.id)).size).toBe(6);
    // A chunk reported twice counts once; the first copies of the failed chunks still count once they come right.
    for (const job of [jobs[2], again[2], jobs[0], jobs[1]]) await link.report({ job, version: 6, result: right(job) });
    const terminals = await result;
    expect(terminals).toEqual(Int32Array.from([...right(jobs[0]), ...right(jobs[1]), ...right(jobs[2])]));
    expect(play.retried).toBe(3);
    expect(play.lastFailure).toMatch(/chunk 2 of update 7: node 0 is not a terminal node/);
    await link.close();
  });

  it('gives up on a chunk that fails again and again, saying why', async () => {
    const link = new InProcessLink<TabularJob, Int32Array>({ model: 'none', version: -1 });
    const play = new BusPlay(link, { model: 'kuhn-poker/tabular-softmax', chunk: 10 });
    const result = play.play({ tree: kuhn, update: 1, version: 0, strategy: uniformStrategy(kuhn), episodes: 10, seed: 0 });
    const failing = (async () => {
      for (let job = await link.nextJob(); job; job = await link.nextJob()) await link.report({ job, version: 0, error: 'the version data is not base64 text' });
    })();
    await expect(result).rejects.toThrow(/chunk 0 of update 1: the version data is not base64 text \(10 times: the actors cannot play it\)/);
    await link.close();
    await failing;
  });

  it('has an actor refuse a job for a version other than the run is at, and play one whose version it has not yet heard of', async () => {
    const link = new InProcessLink<TabularJob, Int32Array>({ model: 'kuhn-poker/tabular-softmax', version: 4, data: encodeStrategy(uniformStrategy(kuhn)) });
    const stop = new AbortController();
    const reports: unknown[] = [];
    const actors = runTabularActors(link, { game: kuhnPoker(), concurrency: 1, signal: stop.signal, onReport: (r) => reports.push(r) });
    const job = (version: number): MatchJob<TabularJob> => ({ id: `v${version}`, seed: 1, index: 0, spec: { update: version + 1, chunk: 0, version, episodes: 5 } });
    await link.handOut([job(3), job(4)]);
    const [stale, current] = [await link.nextReport(), await link.nextReport()];
    expect(stale).toMatchObject({ version: 4, error: 'the run is at version 4, not 3' });
    expect(current).toMatchObject({ version: 4, result: expectedChunk(kuhn, uniformStrategy(kuhn), 5, 1) });
    stop.abort();
    await link.close();
    await actors;
    expect(reports).toHaveLength(2);
  });
});

describe('runActors with a version chosen per job', () => {
  it('reports a failure to find the version as the job failing', async () => {
    const link = new InProcessLink<string, number>({ model: 'm', version: 0 });
    const stop = new AbortController();
    const actors = runActors(link, {
      concurrency: 1,
      signal: stop.signal,
      version: async () => {
        throw new Error('server gone');
      },
      play: async () => 1,
    });
    await link.handOut([{ id: 'a', seed: 0, index: 0, spec: 'x' }]);
    expect(await link.nextReport()).toMatchObject({ version: 0, error: 'server gone' });
    stop.abort();
    await link.close();
    await actors;
  });
});
