import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHOICE_SCORINGS } from '../../agents/hosted/index.ts';
import { choiceMirrorFit } from '../../src/trainer/all-choices.ts';
import { choiceProbabilities, expectedChoiceReturn, scoreChoices, type ChoiceTurn } from '../../src/trainer/choice-expectation.ts';

const VOCAB = 4;

/** A made-up model: a log-softmax over VOCAB tokens after each prefix, drawn once per prefix from `seed`. */
function toyModel(seed: number) {
  const table = new Map<string, number[]>();
  let state = seed >>> 0 || 1;
  const random = () => ((state = (state * 1_103_515_245 + 12_345) >>> 0) / 2 ** 32);
  return (prefix: readonly number[]): number[] => {
    const key = prefix.join(',');
    if (!table.has(key)) {
      const logits = Array.from({ length: VOCAB }, () => 4 * random() - 2);
      const norm = Math.log(logits.reduce((s, l) => s + Math.exp(l), 0));
      table.set(key, logits.map((l) => l - norm));
    }
    return table.get(key)!;
  };
}

const tokenLogprobs = (model: ReturnType<typeof toyModel>, choices: readonly (readonly number[])[]) => choices.map((c) => c.map((t, k) => model(c.slice(0, k))[t]));

/** Distinct choices of 1-4 tokens, none a prefix of another (each ends, as guided choices do, with a token of its own). */
const choiceSets = fc
  .uniqueArray(fc.array(fc.integer({ min: 0, max: VOCAB - 2 }), { minLength: 0, maxLength: 3 }), { minLength: 1, maxLength: 5, selector: (c) => c.join(',') })
  .map((sets) => sets.map((c) => [...c, VOCAB - 1]));

describe('choices scored as the guided pick scores them', () => {
  it('constrained: the probability constrained decoding gives each choice, from the whole next-token distribution after every prefix', () => {
    fc.assert(
      fc.property(choiceSets, fc.integer(), fc.constantFrom(1, 0.5), (choices, seed, temperature) => {
        const model = toyModel(seed);
        // At each prefix, the next-token distribution renormalised over the tokens some choice with that prefix takes.
        const decoded = choices.map((c) =>
          c.reduce((p, token, k) => {
            const prefix = c.slice(0, k).join(',');
            const allowed = new Set(choices.filter((o) => o.length > k && o.slice(0, k).join(',') === prefix).map((o) => o[k]));
            const dist = model(c.slice(0, k));
            return (p * Math.exp(dist[token])) / [...allowed].reduce((s, t) => s + Math.exp(dist[t]), 0);
          }, 1),
        );
        const tempered = decoded.map((p) => p ** (1 / temperature));
        const expected = tempered.map((p) => p / tempered.reduce((a, b) => a + b, 0));
        const { scores } = scoreChoices(choices, tokenLogprobs(model, choices), 'constrained');
        choiceProbabilities(scores, temperature).forEach((p, i) => expect(p).toBeCloseTo(expected[i], 12));
        if (temperature === 1) expect(scores.reduce((s, x) => s + Math.exp(x), 0)).toBeCloseTo(1, 12);
      }),
    );
  });

  it('sum and mean: the sequence logprob and the mean token logprob', () => {
    const logprobs = [[-1, -2], [-0.5], [-3, -1, -2]];
    const sequences = [[0, 3], [3], [1, 1, 3]];
    expect(scoreChoices(sequences, logprobs, 'sum').scores).toEqual([-3, -0.5, -6]);
    expect(scoreChoices(sequences, logprobs, 'mean').scores).toEqual([-1.5, -0.5, -2]);
    expect(() => scoreChoices(sequences, [[-1], [-0.5], [-3, -1, -2]], 'sum')).toThrow(/one logprob per token/);
  });
});

describe('the expected return over every choice of a turn', () => {
  it('is minus the mean of sum_c p(c) R(c) + entropy H(p), its gradient is that of finite differences, and it reports the mean H(p), for every scoring', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(choiceSets, fc.integer()), { minLength: 1, maxLength: 3 }), fc.constantFrom(...CHOICE_SCORINGS), fc.constantFrom(1, 0.5), fc.constantFrom(0, 0.3), (drawn, scoring, temperature, entropy) => {
        const turns: ChoiceTurn[] = drawn.map(([completions, seed]) => ({ completions, returns: completions.map((_, c) => ((seed + 7 * c) % 5) - 2) }));
        const logprobs = drawn.flatMap(([completions, seed]) => tokenLogprobs(toyModel(seed), completions));
        const objective = expectedChoiceReturn(turns, scoring, temperature, entropy);
        const { loss, gradient, entropy: reported } = objective(logprobs);
        let at = 0;
        const distributions = turns.map((turn) => choiceProbabilities(scoreChoices(turn.completions, logprobs.slice(at, (at += turn.completions.length)), scoring).scores, temperature));
        const entropies = distributions.map((p) => -p.reduce((s, pc) => s + (pc > 0 ? pc * Math.log(pc) : 0), 0));
        const direct = distributions.map((p, t) => p.reduce((s, pc, c) => s + pc * turns[t].returns[c], 0) + entropy * entropies[t]);
        expect(loss).toBeCloseTo(-direct.reduce((a, b) => a + b, 0) / turns.length, 12);
        expect(reported).toBeCloseTo(entropies.reduce((a, b) => a + b, 0) / turns.length, 12);
        const h = 1e-6;
        logprobs.forEach((lps, i) =>
          lps.forEach((_, k) => {
            const moved = (delta: number) => objective(logprobs.map((row, r) => row.map((x, j) => (r === i && j === k ? x + delta : x)))).loss;
            expect(gradient[i][k]).toBeCloseTo((moved(h) - moved(-h)) / (2 * h), 6);
          }),
        );
      }),
      { numRuns: 60 },
    );
  });

  it('pushes the right verdict up and the wrong one down, by p(1 - p) of the return gap (two choices, summed scores, T = 1)', () => {
    const turn = { completions: [[1, 3], [2, 3]], returns: [1, -1] };
    const logprobs = [[Math.log(0.8), 0], [Math.log(0.2), 0]];
    const { gradient } = expectedChoiceReturn([turn], 'sum', 1)(logprobs);
    // d(-E[R])/d lp(right) = -p (R - E[R]) = -0.8 * (1 - 0.6).
    expect(gradient[0][0]).toBeCloseTo(-0.32, 12);
    expect(gradient[1][0]).toBeCloseTo(0.32, 12);
  });

  it('with an entropy bonus, pulls a turn certain of one answer back toward the middle when its returns are equal', () => {
    const turn = { completions: [[1, 3], [2, 3]], returns: [1, 1] };
    const { gradient } = expectedChoiceReturn([turn], 'sum', 1, 0.5)(/* p = 0.9, 0.1 */ [[Math.log(0.9), 0], [Math.log(0.1), 0]]);
    expect(gradient[0][0]).toBeGreaterThan(0);
    expect(gradient[1][0]).toBeLessThan(0);
  });

  it('refuses a temperature of 0 and returns that do not match the choices', () => {
    expect(() => expectedChoiceReturn([], 'sum', 0)).toThrow(/temperature above 0/);
    expect(() => expectedChoiceReturn([], 'sum', 1, -1)).toThrow(/entropy bonus must be 0 or more/);
    expect(() => expectedChoiceReturn([{ completions: [[1]], returns: [1, 2] }], 'sum', 1)).toThrow(/1 choices but 2 returns/);
  });
});

describe("each turn fitted to mirror descent's target on its choices' returns", () => {
  it('fixes q proportional to exp((log p + eta R + alpha eta log(1/n)) / (1 + alpha eta)) at the first call, minimises the mean KL(q || p), its gradient that of finite differences, for every scoring', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(choiceSets, fc.integer()), { minLength: 1, maxLength: 3 }), fc.constantFrom(...CHOICE_SCORINGS), fc.constantFrom(1, 0.5), fc.constantFrom(0.5, 2), fc.constantFrom(0, 0.5), (drawn, scoring, temperature, stepSize, magnetStrength) => {
        const turns: ChoiceTurn[] = drawn.map(([completions, seed]) => ({ completions, returns: completions.map((_, c) => ((seed + 7 * c) % 5) - 2) }));
        const logprobs = drawn.flatMap(([completions, seed]) => tokenLogprobs(toyModel(seed), completions));
        const fit = choiceMirrorFit(turns, scoring, temperature, { stepSize, magnetStrength });
        const { loss } = fit.objective(logprobs);
        let at = 0;
        const distributions = turns.map((turn) => choiceProbabilities(scoreChoices(turn.completions, logprobs.slice(at, (at += turn.completions.length)), scoring).scores, temperature));
        const targets = distributions.map((p, t) => {
          const n = p.length;
          const logits = p.map((pc, c) => (Math.log(pc) + stepSize * turns[t].returns[c] + magnetStrength * stepSize * Math.log(1 / n)) / (1 + magnetStrength * stepSize));
          const z = logits.reduce((sum, l) => sum + Math.exp(l), 0);
          return logits.map((l) => Math.exp(l) / z);
        });
        fit.targets().forEach((q, t) => q.forEach((qc, c) => expect(qc).toBeCloseTo(targets[t][c], 9)));
        const kl = targets.map((q, t) => q.reduce((sum, qc, c) => sum + qc * Math.log(qc / distributions[t][c]), 0));
        expect(loss).toBeCloseTo(kl.reduce((a, b) => a + b, 0) / turns.length, 9);
        expect(fit.before().targetKl).toBeCloseTo(loss, 12);
        // Later calls fit the same targets: finite differences of the loss with q held.
        const { gradient } = fit.objective(logprobs);
        const h = 1e-6;
        logprobs.forEach((lps, i) =>
          lps.forEach((_, k) => {
            const moved = (delta: number) => fit.objective(logprobs.map((row, r) => row.map((x, j) => (r === i && j === k ? x + delta : x)))).loss;
            expect(gradient[i][k]).toBeCloseTo((moved(h) - moved(-h)) / (2 * h), 6);
          }),
        );
      }),
      { numRuns: 60 },
    );
  });

  it("pulls a batch's shared bias back toward the middle where the policy gradient of the expected return leaves it", () => {
    // Two turns, right answers opposite, the model leaning 0.8 toward the first answer in both.
    const completions = [[1, 3], [2, 3]];
    const turns = [{ completions, returns: [1, -1] }, { completions, returns: [-1, 1] }];
    const logprobs = [[Math.log(0.8), 0], [Math.log(0.2), 0], [Math.log(0.8), 0], [Math.log(0.2), 0]];
    // The loss's slope along the bias: the first answer's score up by one, the second's down by one, in both turns.
    const alongBias = (gradient: readonly (readonly number[])[]) => gradient[0][0] - gradient[1][0] + gradient[2][0] - gradient[3][0];
    expect(alongBias(expectedChoiceReturn(turns, 'sum', 1)(logprobs).gradient)).toBeCloseTo(0, 12);
    expect(alongBias(choiceMirrorFit(turns, 'sum', 1, { stepSize: 1, magnetStrength: 0 }).objective(logprobs).gradient)).toBeGreaterThan(0.1);
  });

  it('refuses a step size that is not above 0 and a negative magnet strength', () => {
    expect(() => choiceMirrorFit([], 'sum', 1, { stepSize: 0, magnetStrength: 0.5 })).toThrow(/the mirror step size must be above 0, not 0/);
    expect(() => choiceMirrorFit([], 'sum', 1, { stepSize: 1, magnetStrength: -1 })).toThrow(/the magnet strength must be 0 or more, not -1/);
  });
});
