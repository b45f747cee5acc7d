import { kuhnPoker } from '../games/index.ts';
import { randomPlayout, Rng } from '../src/core/index.ts';
import { uniformStrategy } from '../src/analysis/strategy.ts';
import { FastTrainer } from '../src/trainer/fast-loop.ts';
import { playCompiled } from '../src/trainer/fast-play.ts';
import { SampleBatch, type Sample } from '../src/trainer/samples.ts';
import { TabularSoftmax } from '../src/trainer/tabular-softmax.ts';
import { median, table } from './measure.ts';

async function timeToTarget(target: number): Promise<{ seconds: number; episodes: number; exploitability: number }> {
  let hit: { seconds: number; episodes: number; exploitability: number } | undefined;
  const controller = new AbortController();
  const run = new FastTrainer(kuhnPoker(), { episodes: 1e12, seconds: 60, seed: 1, evaluateEvery: 5, signal: controller.signal });
  await run.run({
    onUpdate: (m) => {
      if (!hit && m.exploitability !== undefined && m.exploitability <= target) {
        hit = { seconds: m.seconds, episodes: m.episodes, exploitability: m.exploitability };
        controller.abort();
      }
    },
  });
  return hit ?? { seconds: Infinity, episodes: run.episodes, exploitability: run.exploitability().exploitability };
}

/** The trainer's fast path against raw kernel playouts, the update rate of the tabular learner, and time to exploitability 0.005 on Kuhn. */
export async function benchTrainer(rounds = 3): Promise<string> {
  const game = kuhnPoker();
  const loop: number[] = [];
  const raw: number[] = [];
  const updates: number[] = [];
  const generic: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const trainer = new FastTrainer(game, { episodes: 3_000_000, seed: r, evaluateEvery: 1e9 });
    const start = performance.now();
    await trainer.run();
    loop.push(3_000_000 / ((performance.now() - start) / 1000));

    const rng = new Rng(r);
    const t = performance.now();
    for (let i = 0; i < 1_000_000; i++) randomPlayout(game, rng);
    raw.push(1_000_000 / ((performance.now() - t) / 1000));

    const learner = new TabularSoftmax(game);
    const batch = new SampleBatch(2);
    const uniform = uniformStrategy(learner.tree);
    playCompiled(learner.tree, [uniform, uniform], [true, true], 500_000, new Rng(r), batch);
    for (let i = 0; i < batch.length; i++) batch.advantage[i] = batch.returns[batch.episode[i] * 2 + batch.seat[i]];
    const u = performance.now();
    for (let k = 0; k < 10; k++) learner.update(batch);
    updates.push((10 * batch.length) / ((performance.now() - u) / 1000));

    const samples: Sample[] = Array.from({ length: 100_000 }, (_, i) => {
      const slot = batch.slot[i];
      const infoset = learner.tree.actionStart.findIndex((start, k) => start <= slot && slot < learner.tree.actionStart[k + 1]);
      return { episodeId: String(i), policy: { id: 'p', version: 0 }, seat: batch.seat[i], role: 'r', infoKey: learner.tree.infoKeys[infoset], action: learner.tree.actionTexts[infoset][slot - learner.tree.actionStart[infoset]], reward: 0, advantage: batch.advantage[i] };
    });
    const g = performance.now();
    learner.update(samples);
    generic.push(samples.length / ((performance.now() - g) / 1000));
  }
  const target = await timeToTarget(0.005);
  const rows = [
    { measure: 'fast-path training loop, Kuhn (episodes/s)', value: median(loop) },
    { measure: 'raw kernel random playouts, Kuhn (games/s)', value: median(raw) },
    { measure: 'training loop / raw kernel', value: median(loop) / median(raw) },
    { measure: 'tabular MMD update from a flat batch (samples/s)', value: median(updates) },
    { measure: 'tabular MMD update from Sample objects (samples/s)', value: median(generic) },
    { measure: 'Kuhn: seconds to exploitability <= 0.005 (average policy)', value: target.seconds },
    { measure: 'Kuhn: episodes to exploitability <= 0.005', value: target.episodes },
  ];
  return `${table(rows)}\n\nfast path: self-play on the compiled tree, RAE advantages, magnetic mirror descent, exploitability not computed during the timed runs; median of ${rounds} rounds`;
}
