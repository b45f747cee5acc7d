import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sppoObjective, sppoTarget } from '../../src/trainer/sequence-objectives.ts';

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
