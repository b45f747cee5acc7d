import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { imitationObjective, spinObjective, sppoObjective, sppoTarget } from '../../src/trainer/sequence-objectives.ts';

describe("SPPO's square loss", () => {
  it('is the mean squared gap between each log-ratio and its win-rate target, by hand', () => {
    // Log-ratios 0.5 and -1; targets eta * (0.75 - 1/2) = 0.5 and eta * (0.25 - 1/2) = -0.5 with eta 2.
    const targets = [sppoTarget(0.75, 2), sppoTarget(0.25, 2)];
    expect(targets).toEqual([0.5, -0.5]);
    const objective = sppoObjective([-3, -2], targets);
    const { loss, gradient } = objective([-2.5, -3]);
    expect(loss).toBeCloseTo(((0.5 - 0.5) ** 2 + (-1 + 0.5) ** 2) / 2, 12);
    expect(gradient).toEqual([0, (2 * -0.5) / 2]);
    expect(() => objective([1])).toThrow(RangeError);
    expect(() => sppoObjective([1], [])).toThrow(RangeError);
  });

  it('has the derivative finite differences give', () => {
    const vec = (n: number) => fc.array(fc.double({ min: -20, max: 20, noNaN: true }), { minLength: n, maxLength: n });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(vec(n), vec(n), vec(n))), ([reference, target, logprobs]) => {
        const objective = sppoObjective(reference, target);
        const { gradient } = objective(logprobs);
        const h = 1e-5;
        logprobs.forEach((_, i) => {
          const up = logprobs.map((lp, j) => (j === i ? lp + h : lp));
          const down = logprobs.map((lp, j) => (j === i ? lp - h : lp));
          expect(gradient[i]).toBeCloseTo((objective(up).loss - objective(down).loss) / (2 * h), 4);
        });
      }),
    );
  });
});

describe("SPIN's logistic loss", () => {
  it('is log(1 + exp(-d)) of each pair\'s margin, by hand', () => {
    // One pair: the data's answer up 1 nat from the reference, the model's own down 1: d = 0.5 * (1 - (-1)) = 1.
    const objective = spinObjective([-4, -6], 0.5);
    const { loss, gradient } = objective([-3, -7]);
    expect(loss).toBeCloseTo(Math.log(1 + Math.exp(-1)), 12);
    const pull = 0.5 / (1 + Math.exp(1));
    expect(gradient[0]).toBeCloseTo(-pull, 12);
    expect(gradient[1]).toBeCloseTo(pull, 12);
    // At the reference, d = 0: log 2 per pair, and the pull is beta / 2 over the pairs.
    expect(spinObjective([-1, -2, -3, -4], 1)([-1, -2, -3, -4])).toEqual({ loss: Math.log(2), gradient: [-0.25, -0.25, 0.25, 0.25] });
    expect(() => spinObjective([1, 2, 3], 0.1)).toThrow(RangeError);
    expect(() => spinObjective([1, 2], 0)).toThrow(RangeError);
  });

  it('has the derivative finite differences give, and stays finite at large margins', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { minLength: 2 * n, maxLength: 2 * n }), fc.array(fc.double({ min: -30, max: 30, noNaN: true }), { minLength: 2 * n, maxLength: 2 * n }), fc.double({ min: 0.01, max: 2, noNaN: true }))), ([reference, logprobs, beta]) => {
        const objective = spinObjective(reference, beta);
        const { gradient } = objective(logprobs);
        const h = 1e-5;
        logprobs.forEach((_, i) => {
          const at = (delta: number) => objective(logprobs.map((lp, j) => (j === i ? lp + delta : lp))).loss;
          expect(gradient[i]).toBeCloseTo((at(h) - at(-h)) / (2 * h), 5);
        });
      }),
    );
    const far = spinObjective([0, 0], 1);
    expect(Number.isFinite(far([-1000, 1000]).loss)).toBe(true);
    expect(far([1000, -1000]).loss).toBeCloseTo(0, 12);
  });
});

describe('the imitation loss', () => {
  it('is the mean cross-entropy per token, with a derivative of -1/tokens for every sequence, by hand', () => {
    const objective = imitationObjective([2, 3]);
    const { loss, gradient } = objective([-1, -4]);
    expect(loss).toBeCloseTo(1, 12);
    expect(gradient).toEqual([-0.2, -0.2]);
    expect(() => objective([1])).toThrow(RangeError);
    expect(() => imitationObjective([])).toThrow(/nothing to imitate/);
  });
});
