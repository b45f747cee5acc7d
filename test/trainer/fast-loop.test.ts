import { describe, expect, it } from 'vitest';
import { kuhnPoker, leducPoker } from '../../games/index.ts';
import { evaluateStrategy } from '../../src/analysis/best-response.ts';
import { compile } from '../../src/analysis/compile.ts';
import { uniformStrategy } from '../../src/analysis/strategy.ts';
import { Rng, replay } from '../../src/core/index.ts';
import { validateEpisode } from '../../src/episodes/index.ts';
import { FastTrainer } from '../../src/trainer/fast-loop.ts';
import { episodeFromPath, playCompiled } from '../../src/trainer/fast-play.ts';
import { SampleBatch } from '../../src/trainer/samples.ts';
import { TabularSoftmax } from '../../src/trainer/tabular-softmax.ts';

describe('fast play on the compiled tree', () => {
  it('samples chance and decisions with the right frequencies (Kuhn, uniform play)', () => {
    const tree = compile(kuhnPoker());
    const uniform = uniformStrategy(tree);
    const batch = new SampleBatch(2);
    playCompiled(tree, [uniform, uniform], [true, true], 200_000, new Rng(1), batch);
    let total = 0;
    for (let e = 0; e < batch.episodes; e++) total += batch.returns[e * 2];
    // Uniform play on Kuhn is worth 1/8 to seat 0 (REFERENCE.md).
    expect(total / batch.episodes).toBeCloseTo(1 / 8, 1);
    expect(batch.length).toBeGreaterThan(2 * 200_000);
  });

  it('turns a path into the episode record the arena would write', () => {
    const game = kuhnPoker();
    const tree = compile(game);
    const uniform = uniformStrategy(tree);
    const paths: Int32Array[] = [];
    playCompiled(tree, [uniform, uniform], [true, true], 20, new Rng(2), new SampleBatch(2), paths);
    for (const path of paths) {
      const episode = episodeFromPath(game, tree, path, { id: 'x', seed: 0, players: [{ seat: 0, name: 'a' }, { seat: 1, name: 'b' }] });
      expect(validateEpisode(episode)).toBe(episode);
      expect(episode.steps.slice(0, 2).every((s) => s.seat === 'chance')).toBe(true);
      expect(game.returns(replay(game, episode.history))).toEqual(episode.returns);
    }
  });
});

describe('self-play training (tabular softmax, magnetic mirror descent)', () => {
  it('cuts Kuhn exploitability at least fivefold from sampled episodes (fixed seed)', async () => {
    const game = kuhnPoker();
    const start = evaluateStrategy(compile(game), uniformStrategy(compile(game))).exploitability;
    const trainer = new FastTrainer(game, { episodes: 1_500_000, seed: 7 });
    const last = await trainer.run();
    expect(start).toBeCloseTo(11 / 24, 12);
    expect(last!.exploitability!).toBeLessThan(start / 5);
    expect(last!.episodes).toBe(1_500_000);
  });

  it.each(['rae', 'grpo', 'rloo'] as const)('learns with the %s estimator', async (algo) => {
    const trainer = new FastTrainer(kuhnPoker(), { algo, episodes: 600_000, seed: 3 });
    expect((await trainer.run())!.exploitability!).toBeLessThan(0.2);
  });

  it('learns against a pool of its earlier versions', async () => {
    const trainer = new FastTrainer(kuhnPoker(), { episodes: 600_000, seed: 4, opponents: 'pool-recent' });
    expect((await trainer.run())!.exploitability!).toBeLessThan(0.2);
  });

  it('resumed from a checkpoint, continues exactly like an uninterrupted run', async () => {
    const game = kuhnPoker();
    const options = { episodes: 400_000, seed: 11, batch: 10_000, batchGrowth: 1e9, opponents: 'pool-uniform' as const };
    const straight = new FastTrainer(game, options);
    await straight.run();

    const first = new FastTrainer(game, { ...options, episodes: 200_000 });
    await first.run();
    const state = JSON.parse(JSON.stringify(first.state(1.5)));
    const resumed = new FastTrainer(game, options, state);
    await resumed.run();

    expect(resumed.updates).toBe(straight.updates);
    expect(resumed.learner.snapshot()).toEqual(straight.learner.snapshot());
  });

  it('the same seed gives the same run; another seed another', async () => {
    const run = async (seed: number) => {
      const t = new FastTrainer(kuhnPoker(), { episodes: 100_000, seed });
      await t.run();
      return t.learner.snapshot().logits;
    };
    expect(await run(1)).toEqual(await run(1));
    expect(await run(1)).not.toEqual(await run(2));
  });

  it('stops at an abort between updates', async () => {
    const controller = new AbortController();
    const trainer = new FastTrainer(kuhnPoker(), { episodes: 1e9, seed: 1, signal: controller.signal });
    await trainer.run({ onUpdate: (m) => void (m.update === 3 && controller.abort()) });
    expect(trainer.updates).toBe(3);
  });

  it('refuses games it cannot learn, and bad settings', () => {
    expect(() => new FastTrainer(kuhnPoker(), { episodes: 1, algo: 'ppo' as never })).toThrow(/unknown algorithm "ppo"; use rae, grpo, rloo/);
    expect(() => new TabularSoftmax(kuhnPoker(), { stepSize: -1 })).toThrow(/stepSize must be a number >= 0/);
  });

  it('a snapshot of one game does not load into another', () => {
    const kuhn = new TabularSoftmax(kuhnPoker());
    const leduc = new TabularSoftmax(leducPoker());
    expect(() => leduc.load(kuhn.snapshot())).toThrow(/this snapshot is for kuhn-poker/);
    expect(() => kuhn.load({ format: 'nope' })).toThrow(/not a tabular-softmax snapshot/);
  });
});
