import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StalenessPacer } from '../../src/trainer/staleness-pacer.ts';

/**
 * A random run of actors and a learner around a pacer: at each step either an
 * actor finishes a random match in play (played by any version from the one
 * newest when it was handed out to the newest now), or the learner starts an
 * update (when ready) or publishes the one under way; the learner hands out
 * matches whenever there is room. Returns what each update trained on.
 */
function simulate(maxStaleness: number, batchSize: number, choices: readonly number[], updates: number, restarts = false) {
  let pacer = new StalenessPacer<number, string>(maxStaleness, batchSize, 0);
  const inPlay: { job: number; releasedAt: number }[] = [];
  const trained: { version: number; jobs: number[]; played: number[]; releasedAt: number[] }[] = [];
  const releasedAt = new Map<number, number>();
  let nextJob = 0;
  let training: number[] | undefined;
  let step = 0;
  let restarted = 0;
  const choice = () => choices[step++ % choices.length];
  while (trained.length < updates) {
    const room = pacer.room();
    if (room > 0) {
      const jobs = Array.from({ length: room }, () => nextJob++);
      pacer.release(jobs);
      for (const job of jobs) {
        inPlay.push({ job, releasedAt: pacer.version });
        releasedAt.set(job, pacer.version);
      }
    }
    // A few restarts a run (a learner that restarted before every update would never train anything).
    if (restarts && restarted < 3 && training === undefined && choice() % 7 === 0) {
      restarted++;
      // The learner restarts from its checkpoint: what was out comes back in play, finished ones to be played again.
      const out = pacer.outstanding();
      pacer = new StalenessPacer<number, string>(maxStaleness, batchSize, pacer.version);
      for (const { job, releasedAt } of out) {
        pacer.adopt(job, releasedAt);
        if (!inPlay.some((m) => m.job === job)) inPlay.push({ job, releasedAt });
      }
    }
    const learnerCanAct = training !== undefined || pacer.ready();
    if (inPlay.length === 0 && !learnerCanAct) throw new Error(`stuck: nothing in play, the learner not ready (out ${pacer.out})`);
    if (learnerCanAct && (inPlay.length === 0 || choice() % 3 === 0)) {
      if (training) {
        pacer.published(pacer.version + 1);
        training = undefined;
      } else {
        const batch = pacer.take();
        training = batch.map((f) => f.job);
        trained.push({ version: pacer.version, jobs: batch.map((f) => f.job), played: batch.map((f) => f.version), releasedAt: batch.map((f) => releasedAt.get(f.job)!) });
      }
    } else {
      const [match] = inPlay.splice(choice() % inPlay.length, 1);
      const version = match.releasedAt + (choice() % (pacer.version - match.releasedAt + 1));
      pacer.finish(match.job, version, `episode ${match.job}`);
    }
    expect(pacer.out).toBeLessThanOrEqual((maxStaleness + 1) * batchSize);
  }
  return trained;
}

describe('StalenessPacer: asynchronous training with at most K versions of lag', () => {
  it('never trains on a match more than K versions older than the weights it updates, never waits forever, and loses no match', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.array(fc.nat(1000), { minLength: 1, maxLength: 50 }), (k, batch, choices) => {
        const trained = simulate(k, batch, choices, 12);
        for (const update of trained) {
          expect(update.played.length).toBeGreaterThanOrEqual(batch);
          for (const played of update.played) {
            expect(update.version - played).toBeGreaterThanOrEqual(0);
            expect(update.version - played).toBeLessThanOrEqual(k);
          }
        }
        // No match is trained on twice.
        const jobs = trained.flatMap((u) => u.jobs);
        expect(new Set(jobs).size).toBe(jobs.length);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps the bound across restarts of the learner that take back what was out (outstanding, adopt), and trains nothing twice', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 5 }), fc.array(fc.nat(1000), { minLength: 1, maxLength: 50 }), (k, batch, choices) => {
        const trained = simulate(k, batch, choices, 12, true);
        for (const update of trained) for (const played of update.played) expect(update.version - played).toBeLessThanOrEqual(k);
        const jobs = trained.flatMap((u) => u.jobs);
        expect(new Set(jobs).size).toBe(jobs.length);
      }),
      { numRuns: 200 },
    );
  });

  it('with K = 0 is synchronous: each update trains on exactly the batch handed out at its version, all played by it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.nat(1000), { minLength: 1, maxLength: 50 }), (batch, choices) => {
        for (const update of simulate(0, batch, choices, 8)) {
          expect(update.played).toEqual(Array(batch).fill(update.version));
          expect(update.releasedAt).toEqual(Array(batch).fill(update.version));
        }
      }),
    );
  });

  it('lets actors run ahead with K >= 1: matches handed out before the update under way publishes', () => {
    const pacer = new StalenessPacer<number, null>(2, 2, 0);
    expect(pacer.room()).toBe(6);
    pacer.release([0, 1, 2, 3, 4, 5]);
    expect(pacer.room()).toBe(0);
    pacer.finish(3, 0, null);
    expect(pacer.ready()).toBe(false);
    pacer.finish(1, 0, null);
    expect(pacer.take().map((f) => f.job)).toEqual([3, 1]);
    expect(pacer.ready()).toBe(false);
    pacer.published(1);
    expect(pacer.room()).toBe(2);
    pacer.release([6, 7]);
    pacer.finish(6, 1, null);
    pacer.finish(7, 1, null);
    // Version 1 trains on the version-1 matches: the version-0 ones in play are not yet due (due at version 2).
    expect(pacer.take().map((f) => f.job)).toEqual([6, 7]);
    pacer.published(2);
    pacer.release([8, 9]);
    pacer.finish(8, 2, null);
    pacer.finish(9, 2, null);
    pacer.finish(0, 0, null);
    // At version 2 the matches handed out at version 0 are due: the update waits for all four, then takes them first.
    expect(pacer.ready()).toBe(false);
    pacer.finish(2, 0, null);
    pacer.finish(4, 0, null);
    expect(pacer.ready()).toBe(false);
    pacer.finish(5, 0, null);
    expect(pacer.take().map((f) => f.job)).toEqual([0, 2, 4, 5]);
  });

  it('refuses what would break its accounting, with a clear error', () => {
    const pacer = new StalenessPacer<number, null>(1, 2, 3);
    expect(() => new StalenessPacer(-1, 2, 0)).toThrow(/whole number of versions/);
    expect(() => new StalenessPacer(1, 0, 0)).toThrow(/at least one match/);
    expect(() => pacer.release([1, 2, 3, 4, 5])).toThrow(/exceed the room for 4/);
    pacer.release([1]);
    expect(() => pacer.release([1])).toThrow(/handed out twice/);
    expect(() => pacer.finish(9, 3, null)).toThrow(/not handed out/);
    expect(() => pacer.finish(1, 2, null)).toThrow(/handed out at version 3 reports version 2/);
    expect(() => pacer.take()).toThrow(/not ready/);
    expect(() => pacer.published(3)).toThrow(/not newer/);
  });
});
