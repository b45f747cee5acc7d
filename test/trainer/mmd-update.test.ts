import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createPlayer } from '../../agents/index.ts';
import { kuhnPoker } from '../../games/kuhn-poker/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { runArena } from '../../src/runtime/index.ts';
import { RoleBaselines } from '../../src/trainer/advantages.ts';
import { learnerSamples } from '../../src/trainer/episode-trainer.ts';
import { MmdUpdate } from '../../src/trainer/mmd-update.ts';
import type { Sample } from '../../src/trainer/samples.ts';
import type { TokenObjective } from '../../src/trainer/sequence-objectives.ts';
import { TabularSoftmax } from '../../src/trainer/tabular-softmax.ts';
import type { TinkerBackend } from '../../src/trainer/tinker-backend.ts';
import { runCli } from '../cli/run-cli.ts';

const game = kuhnPoker();
const END = 256;
const bytes = (text: string) => [...Buffer.from(text)];

/** Random Kuhn self-play as policy `p` in both seats, each turn carrying the tokens a byte model would sample it with. */
async function batch(seed: number, matches = 200): Promise<{ episodes: Episode[]; samples: Sample[] }> {
  const players = [createPlayer('random', game), { ...createPlayer('random', game), name: 'random-2' }];
  const played = await lastValueFrom(runArena({ game, players, matches, seed, seats: 'rotate' }).pipe(toArray()));
  const episodes = played.map((episode) => ({
    ...episode,
    players: episode.players.map((p) => ({ ...p, policy: { id: 'p', version: 0 } })),
    steps: episode.steps.map((step) =>
      typeof step.seat === 'number' ? { ...step, meta: { promptTokenIds: bytes(step.infoKey!), completionTokenIds: [...bytes(step.action), END], logprobs: [...bytes(step.action), END].map(() => -1) } } : step,
    ),
  }));
  return { episodes, samples: learnerSamples(episodes, { policyId: 'p' }, new RoleBaselines()) };
}

/**
 * A model whose free parameters are the sequences' summed logprobs, trained by gradient descent on the
 * objective until its gradient vanishes: the exact fit a language model only approaches. Each sequence's first
 * token carries its whole logprob (the others 0), which sum and mean scoring see as the sequence's.
 */
class SequenceTable {
  readonly logprob = new Map<string, number>();
  steps = 0;
  version = 0;

  constructor(
    private readonly start: (completion: readonly number[]) => number,
    /** Each sequence's step scale (its token count squared where moves are scored by their mean logprob). */
    private readonly scale: (completion: readonly number[]) => number = () => 1,
  ) {}

  private key(s: { prompt: readonly number[]; completion: readonly number[] }) {
    return `${s.prompt.join(',')}|${s.completion.join(',')}`;
  }

  async trainTokens(sequences: readonly { prompt: readonly number[]; completion: readonly number[] }[], objective: TokenObjective) {
    const keys = sequences.map((s) => this.key(s));
    sequences.forEach((s, i) => {
      if (!this.logprob.has(keys[i])) this.logprob.set(keys[i], this.start(s.completion));
    });
    let loss = NaN;
    for (let i = 0; i < 20_000; i++) {
      const out = objective(keys.map((k, j) => sequences[j].completion.map((_, t) => (t === 0 ? this.logprob.get(k)! : 0))));
      loss = out.loss;
      if (Math.max(...out.gradient.map((g) => Math.abs(g[0]))) < 1e-13) break;
      keys.forEach((k, j) => this.logprob.set(k, this.logprob.get(k)! - (sequences.length / 2) * this.scale(sequences[j].completion) * out.gradient[j][0]));
    }
    this.version++;
    return { version: this.version, samples: sequences.length, model: `table@${this.version}`, step: { loss, entropy: NaN, kl_sampler: 0, kl: null, clip_fraction: 0, truncated_fraction: 0, grad_norm: NaN, tokens: 0, ms: 0 } };
  }

  policy() {
    return `table@${this.version}`;
  }
}

const asBackend = (table: SequenceTable) => table as unknown as TinkerBackend;

describe('magnetic mirror descent for a hosted model', () => {
  for (const { scoring, temperature } of [
    { scoring: 'sum', temperature: 1 },
    { scoring: 'mean', temperature: 0.7 },
  ] as const) {
    it(`fitted exactly, takes the tabular learner's steps (${scoring} scoring, temperature ${temperature})`, async () => {
      const mmd = new MmdUpdate(game, { scoring, temperature });
      const tabular = new TabularSoftmax(game, { stepSize: 1 });
      // A model that starts uniform over each state's moves, as the tabular learner does.
      const table = new SequenceTable((completion) => (scoring === 'mean' ? -completion.length : -1), (completion) => (scoring === 'mean' ? completion.length ** 2 : 1));
      for (let round = 0; round < 5; round++) {
        const { episodes, samples } = await batch(round);
        const previous = tabular.currentPolicy();
        tabular.update(samples);
        const metrics = await mmd.update(asBackend(table), episodes, samples);
        expect(metrics.states).toBe(12);
        expect(metrics.skipped).toBe(0);
        const expected = tabular.currentPolicy();
        for (const [key, target] of mmd.lastTargets) {
          for (const [move, p] of Object.entries(target)) expect(p).toBeCloseTo(expected[key][move], 9);
        }
        // Before the step the model sampled the tabular learner's previous policy: its entropy, and the step's KL from it.
        const keys = [...mmd.lastTargets.keys()];
        const mean = (f: (key: string) => number) => keys.reduce((sum, key) => sum + f(key), 0) / keys.length;
        const moves = (key: string) => Object.keys(expected[key]);
        expect(metrics.moveEntropy).toBeCloseTo(mean((key) => -moves(key).reduce((h, m) => h + previous[key][m] * Math.log(previous[key][m]), 0)), 9);
        expect(metrics.targetKl).toBeCloseTo(mean((key) => moves(key).reduce((kl, m) => kl + expected[key][m] * Math.log(expected[key][m] / previous[key][m]), 0)), 9);
        if (round === 0) expect(metrics.moveEntropy).toBeCloseTo(Math.log(2), 9);
      }
      // The fitted model samples the targets: its move distribution at each state is q.
      for (const [key, target] of mmd.lastTargets) {
        const moves = Object.keys(target);
        const scores = moves.map((move) => {
          const completion = [...bytes(move), END];
          return table.logprob.get(`${bytes(key).join(',')}|${completion.join(',')}`)! / (scoring === 'mean' ? completion.length : 1) / temperature;
        });
        const z = scores.reduce((sum, s) => sum + Math.exp(s), 0);
        moves.forEach((move, k) => expect(Math.exp(scores[k]) / z).toBeCloseTo(target[move], 9));
      }
    });
  }

  for (const scoring of ['sum', 'mean', 'constrained'] as const) {
    it(`gives each move's tokens the gradient of the mean KL(target || model) (${scoring} scoring)`, async () => {
      const { episodes, samples } = await batch(7, 60);
      const mmd = new MmdUpdate(game, { scoring, temperature: 0.8 });
      const { states } = mmd.targets(episodes, samples);
      const tokenLogprobs = fc.tuple(...mmd.sequences(states).map((s) => fc.array(fc.double({ min: -30, max: -0.01, noNaN: true }), { minLength: s.completion.length, maxLength: s.completion.length })));
      fc.assert(
        fc.property(tokenLogprobs, tokenLogprobs, (at, later) => {
          const { objective } = mmd.objective(states);
          objective(at); // fixes the targets
          const { loss, gradient } = objective(later);
          const h = 1e-6;
          later.forEach((lps, i) =>
            lps.forEach((_, t) => {
              const bumped = later.map((row) => [...row]);
              bumped[i][t] += h;
              expect(gradient[i][t]).toBeCloseTo((objective(bumped).loss - loss) / h, 4);
            }),
          );
          expect(loss).toBeGreaterThanOrEqual(-1e-12);
        }),
        { numRuns: 10 },
      );
    });
  }

  it("takes each state's legal moves from its history, gives an unplayed move the state's mean, and leaves out moves it has no tokens for", async () => {
    const { episodes, samples } = await batch(3, 80);
    const mmd = new MmdUpdate(game);
    // No bet was ever sampled: no state where one is legal can be fitted, the others can.
    const noBets = samples.filter((s) => s.action !== '[bet]');
    const partial = mmd.targets(episodes, noBets);
    expect(partial.states.map((s) => s.key).sort()).toEqual(['0|Jpb', '0|Kpb', '0|Qpb', '1|Jb', '1|Kb', '1|Qb']);
    expect(partial.skipped).toBe(6);
    // Once bets are seen, every state is, each with its legal moves in the game's order.
    const all = mmd.targets(episodes, samples);
    expect(all.skipped).toBe(0);
    for (const state of all.states) expect(state.moves).toEqual(state.key.endsWith('b') ? ['[fold]', '[call]'] : ['[check]', '[bet]']);
    // Where only one move was played, the other takes the mean advantage of the state's samples.
    const key = '0|K';
    const atK = samples.filter((s) => s.infoKey === key && s.action === '[bet]');
    const kState = mmd.targets(episodes, atK).states.find((s) => s.key === key)!;
    const mean = atK.reduce((sum, s) => sum + s.advantage, 0) / atK.length;
    expect(kState.advantage[0]).toBeCloseTo(mean, 12);
    expect(kState.advantage[1]).toBeCloseTo(mean, 12);
  });

  it('keeps its magnets in its state: a learner restored from it sets the same targets', async () => {
    const table = new SequenceTable((completion) => -2 * completion.length);
    const mmd = new MmdUpdate(game, { magnetRate: 0.3 });
    for (let round = 0; round < 3; round++) {
      const { episodes, samples } = await batch(round, 80);
      await mmd.update(asBackend(table), episodes, samples);
    }
    const saved = JSON.parse(JSON.stringify(mmd.magnetState()));
    expect(Object.keys(saved).sort()).toHaveLength(12);
    const restored = new MmdUpdate(game, { magnetRate: 0.3 }, saved);
    const fresh = new MmdUpdate(game, { magnetRate: 0.3 });
    const { episodes, samples } = await batch(9, 80);
    const { states } = mmd.targets(episodes, samples);
    const targetsOf = (learner: MmdUpdate) => {
      learner.targets(episodes, samples);
      const { objective, targets } = learner.objective(states);
      objective(learner.sequences(states).map((s) => s.completion.map(() => -1)));
      return targets();
    };
    expect(targetsOf(restored)).toEqual(targetsOf(mmd));
    expect(targetsOf(fresh)).not.toEqual(targetsOf(mmd));
  });

  it('is what train-llm trains games with, and the command refuses what does not go with it', async () => {
    // Each is refused before any host is started or reached.
    const run = (...args: string[]) => runCli('train-llm', 'kuhn-poker', '--tinker', 'http://127.0.0.1:9', ...args);
    expect((await run('--kl-coef', '0.1')).err).toMatch(/--kl-coef apply to --objective policy-gradient, and this run trains with mmd/);
    expect((await run('--objective', 'policy-gradient', '--magnet-rate', '0.1')).err).toMatch(/--magnet-rate apply to --objective mmd or exact-mmd, and this run trains with policy-gradient/);
    expect((await run('--objective', 'mmd', '--tokenizer', 'policy-host/tokenizer')).err).toMatch(/--objective mmd fits the reference host's guided pick .* free-text sampling \(--tokenizer\)/);
    expect((await run('--objective', 'sppo')).err).toMatch(/--objective sppo trains in environments \(--env\); a game trains with mmd, exact-mmd, policy-gradient/);
    // A perfect-information game trains with the policy gradient unless told: its states seldom recur.
    const ticTacToe = (...args: string[]) => runCli('train-llm', 'tic-tac-toe', '--tinker', 'http://127.0.0.1:9', ...args);
    expect((await ticTacToe('--magnet-rate', '0.1')).err).toMatch(/--magnet-rate apply to --objective mmd or exact-mmd, and this run trains with policy-gradient/);
    expect((await ticTacToe('--objective', 'mmd', '--kl-coef', '0.1')).err).toMatch(/--kl-coef apply to --objective policy-gradient, and this run trains with mmd/);
    // exact-mmd plays no games: the options of runs that do are refused, and so are games too large to walk.
    expect((await run('--objective', 'exact-mmd', '--opponents', 'random', '--games', '64')).err).toMatch(/--opponents, --games apply to runs that play games to train on; --objective exact-mmd plays none/);
    expect((await run('--objective', 'exact-mmd', '--kl-coef', '0.1')).err).toMatch(/--kl-coef apply to --objective policy-gradient, and this run trains with exact-mmd/);
    expect((await run('--minibatch', '8')).err).toMatch(/--minibatch applies to --objective exact-mmd \(and to all-choices in --env runs\), and this run trains with mmd/);
    expect((await run('--objective', 'exact-mmd', '--minibatch', '0')).err).toMatch(/--minibatch must be an integer >= 1, got "0"/);
    expect((await run('--model-tokenizer', 'policy-host/tokenizer')).err).toMatch(/--model-tokenizer applies to --env runs and to --objective exact-mmd, and this run trains with mmd/);
    expect((await runCli('train-llm', 'connect-four', '--objective', 'exact-mmd', '--tinker', 'http://127.0.0.1:9')).err).toMatch(/--objective exact-mmd walks the whole game, and connect-four is too large to/);
    expect((await runCli('train-llm', '--env', 'spin', '--objective', 'mmd', '--tinker', 'http://127.0.0.1:9')).err).toMatch(/--objective mmd trains games, not --env runs/);
    expect((await runCli('train-llm', '--env', 'spin', '--minibatch', '8', '--tinker', 'http://127.0.0.1:9')).err).toMatch(/--minibatch applies to --objective all-choices, and this run trains with spin/);
    expect((await runCli('train-llm', '--env', 'spin', '--step-size', '1', '--tinker', 'http://127.0.0.1:9')).err).toMatch(/--step-size applies to --objective all-choices, and this run trains with spin/);
  });

  it('refuses settings it cannot use', () => {
    expect(() => new MmdUpdate(game, { stepSize: -1 })).toThrow(/stepSize must be a number >= 0/);
    expect(() => new MmdUpdate(game, { magnetRate: 2 })).toThrow(/magnetRate must lie in \[0, 1\]/);
    expect(() => new MmdUpdate(game, { temperature: 0 })).toThrow(/temperature must be above 0/);
  });
});
