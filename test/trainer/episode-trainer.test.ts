import { lastValueFrom, tap } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { kuhnPoker } from '../../games/index.ts';
import { evaluateStrategy } from '../../src/analysis/best-response.ts';
import type { Episode } from '../../src/episodes/index.ts';
import { runArena } from '../../src/runtime/index.ts';
import { EpisodeTrainer } from '../../src/trainer/episode-trainer.ts';
import { learnerPlayer } from '../../src/trainer/learner-player.ts';
import { TabularSoftmax } from '../../src/trainer/tabular-softmax.ts';

const game = kuhnPoker();

/** A hand-made Kuhn episode: seat 0 (the learner, at `version`) bets with K and seat 1 folds. */
const episode = (id: string, version: number, learnerSeats = [0]): Episode => ({
  schema: 1,
  id,
  game: { id: 'kuhn-poker', params: { ...game.params } },
  seed: 0,
  players: [0, 1].map((seat) => ({ seat, name: `p${seat}`, ...(learnerSeats.includes(seat) ? { policy: { id: 'kuhn', version } } : {}) })),
  steps: [
    { seat: 'chance', action: '[deal K]', parsed: 2, valid: true },
    { seat: 'chance', action: '[deal J]', parsed: 0, valid: true },
    { seat: 0, infoKey: '0|K', action: '[bet]', parsed: 1, valid: true },
    { seat: 1, infoKey: '1|Jb', action: '[fold]', parsed: 0, valid: true },
  ],
  history: [2, 0, 1, 0],
  returns: [1, -1],
  outcome: 'normal',
});

describe('EpisodeTrainer', () => {
  it('deduplicates episodes by id', () => {
    const trainer = new EpisodeTrainer(game, new TabularSoftmax(game), { policyId: 'kuhn', batchEpisodes: 100 });
    expect(trainer.ingest(episode('a', 0)).accepted).toBe(true);
    expect(trainer.ingest(episode('a', 0))).toEqual({ accepted: false, version: 0, reason: 'duplicate' });
    expect(trainer.stats).toMatchObject({ received: 2, accepted: 1, duplicates: 1 });
  });

  it('drops episodes played by a version older than the staleness bound, and counts them', () => {
    const trainer = new EpisodeTrainer(game, new TabularSoftmax(game), { policyId: 'kuhn', batchEpisodes: 1, maxStaleness: 1 });
    for (let k = 0; k < 3; k++) trainer.ingest(episode(`e${k}`, k));
    expect(trainer.version).toBe(3);
    expect(trainer.ingest(episode('old', 1))).toEqual({ accepted: false, version: 3, reason: 'stale' });
    expect(trainer.ingest(episode('recent', 2)).accepted).toBe(true);
    expect(trainer.stats.stale).toBe(1);
  });

  it('ignores episodes without the learner and failed matches', () => {
    const trainer = new EpisodeTrainer(game, new TabularSoftmax(game), { policyId: 'kuhn' });
    expect(trainer.ingest(episode('x', 0, []))).toMatchObject({ accepted: false, reason: 'no-learner-turns' });
    expect(trainer.ingest({ ...episode('y', 0), outcome: 'error' })).toMatchObject({ accepted: false, reason: 'error-outcome' });
  });

  it("turns the learner's turns into samples with advantages", () => {
    const trainer = new EpisodeTrainer(game, new TabularSoftmax(game), { policyId: 'kuhn', algo: 'rae' });
    const samples = trainer.samples([episode('s', 0, [0, 1])]);
    expect(samples.map((s) => [s.seat, s.infoKey, s.action, s.reward, s.advantage])).toEqual([
      [0, '0|K', '[bet]', 1, 1],
      [1, '1|Jb', '[fold]', -1, -1],
    ]);
  });

  it('state-rloo: each turn against the other turns at its information state, a state seen once against its role baseline', () => {
    const trainer = new EpisodeTrainer(game, new TabularSoftmax(game), { policyId: 'kuhn', algo: 'state-rloo' });
    const lost = (id: string): Episode => ({ ...episode(id, 0, [0, 1]), returns: [-1, 1] });
    const twoSeats = [episode('a', 0, [0, 1]), episode('b', 0, [0, 1]), lost('c'), { ...episode('d', 0, [0]), steps: episode('d', 0).steps.slice(0, 3) }];
    const samples = trainer.samples(twoSeats);
    // '0|K' four times with returns 1, 1, -1, 1: each minus the mean of the other three.
    const atK = samples.filter((s) => s.infoKey === '0|K').map((s) => s.advantage);
    expect(atK).toEqual([1 - 1 / 3, 1 - 1 / 3, -1 - 1, 1 - 1 / 3]);
    // '1|Jb' three times with returns -1, -1, 1.
    expect(samples.filter((s) => s.infoKey === '1|Jb').map((s) => s.advantage)).toEqual([-1 - 0, -1 - 0, 1 - -1]);
    const once = new EpisodeTrainer(game, new TabularSoftmax(game), { policyId: 'kuhn', algo: 'state-rloo' }).samples([episode('e', 0)]);
    // Alone at its state: RAE's advantage, the return minus the (fresh, 0) baseline of its role.
    expect(once.map((s) => s.advantage)).toEqual([1]);
  });

  it('learns Kuhn poker from arena episodes: every move through the actor runtime', async () => {
    const learner = new TabularSoftmax(game);
    const trainer = new EpisodeTrainer(game, learner, { policyId: 'kuhn', batchEpisodes: 2000, maxStaleness: 1 });
    const start = evaluateStrategy(learner.tree, learner.averageStrategy()).exploitability;
    const players = [learnerPlayer(learner, 'kuhn', 'a'), learnerPlayer(learner, 'kuhn', 'b')];
    await lastValueFrom(runArena({ game, players, matches: 120_000, concurrency: 1, seed: 5 }).pipe(tap((e) => trainer.ingest(e))));
    const end = evaluateStrategy(learner.tree, learner.averageStrategy()).exploitability;
    expect(trainer.stats.updates).toBe(60);
    expect(trainer.stats.stale).toBe(0);
    expect(end).toBeLessThan(start / 3);
  });
});
