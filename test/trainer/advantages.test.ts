import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dropZeroAdvantages, groupNormalizedAdvantages, grpoAdvantages, rlooAdvantages, RoleBaselines } from '../../src/trainer/advantages.ts';

describe('role-conditioned EMA baseline (SPIRAL)', () => {
  it('reads the baseline, then updates it with decay 0.95 from 0 (hand-computed)', () => {
    const b = new RoleBaselines();
    // Game 1: role 0 wins (+1), role 1 loses (-1). Baselines were 0.
    expect(b.advantage('kuhn', 0, 1)).toBe(1);
    expect(b.advantage('kuhn', 1, -1)).toBe(-1);
    expect(b.baseline('kuhn', 0)).toBeCloseTo(0.05, 15);
    expect(b.baseline('kuhn', 1)).toBeCloseTo(-0.05, 15);
    // Game 2: role 0 wins again: A = 1 - 0.05 = 0.95; b = 0.95 * 0.05 + 0.05 = 0.0975.
    expect(b.advantage('kuhn', 0, 1)).toBeCloseTo(0.95, 15);
    expect(b.baseline('kuhn', 0)).toBeCloseTo(0.0975, 15);
    // Game 3: role 0 draws: A = 0 - 0.0975.
    expect(b.advantage('kuhn', 0, 0)).toBeCloseTo(-0.0975, 15);
  });

  it('keeps one baseline per game and role', () => {
    const b = new RoleBaselines();
    b.advantage('kuhn', 0, 1);
    expect(b.baseline('ttt', 0)).toBe(0);
    expect(b.advantage('ttt', 0, 1)).toBe(1);
  });

  it('converges to the mean return and survives a JSON round trip', () => {
    const b = new RoleBaselines();
    for (let i = 0; i < 2000; i++) b.advantage('g', 'solver', i % 4 === 0 ? 1 : 0);
    expect(b.baseline('g', 'solver')).toBeGreaterThan(0.15);
    expect(b.baseline('g', 'solver')).toBeLessThan(0.35);
    const again = RoleBaselines.fromJSON(JSON.parse(JSON.stringify(b)));
    expect(again.advantage('g', 'solver', 1)).toBe(b.advantage('g', 'solver', 1));
  });
});

describe('GRPO', () => {
  it('subtracts the group mean and divides by the sample standard deviation (hand-computed)', () => {
    // mean 2, sample std sqrt(((1)^2 + 0 + 1^2) / 2) = 1
    expect(grpoAdvantages([1, 2, 3])).toEqual([-1, 0, 1]);
    expect(grpoAdvantages([1, 2, 3], { scaleByStd: false })).toEqual([-1, 0, 1]);
    const a = grpoAdvantages([0, 0, 0, 4]);
    expect(a[3]).toBeCloseTo(3 / 2, 12); // mean 1, std sqrt((1+1+1+9)/3) = 2
  });

  it('gives zeros for a group without spread', () => {
    expect(grpoAdvantages([1, 1, 1])).toEqual([0, 0, 0]);
    expect(grpoAdvantages([5])).toEqual([0]);
    expect(grpoAdvantages([])).toEqual([]);
  });

  it('advantages of a group with spread sum to 0', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 2, maxLength: 20 }), (returns) => {
        const sum = grpoAdvantages(returns).reduce((x, y) => x + y, 0);
        expect(Math.abs(sum)).toBeLessThan(1e-6);
      }),
    );
  });
});

describe('RLOO', () => {
  it('subtracts the mean of the others (hand-computed)', () => {
    expect(rlooAdvantages([1, 0, 0, 1])).toEqual([1 - 1 / 3, 0 - 2 / 3, 0 - 2 / 3, 1 - 1 / 3]);
    expect(rlooAdvantages([3])).toEqual([0]);
  });

  it('equals n/(n-1) times the mean-baseline advantage', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 2, maxLength: 20 }), (returns) => {
        const n = returns.length;
        const m = returns.reduce((x, y) => x + y, 0) / n;
        rlooAdvantages(returns).forEach((a, i) => expect(a).toBeCloseTo((n / (n - 1)) * (returns[i] - m), 9));
      }),
    );
  });
});

describe('REINFORCE++ normalised per task type and role (Absolute Zero)', () => {
  it('normalises within each group only (hand-computed)', () => {
    const returns = [1, 0, 0.5, 0.5, -1];
    const groups = ['deduction/solver', 'deduction/solver', 'abduction/solver', 'abduction/solver', 'deduction/proposer'];
    const a = groupNormalizedAdvantages(returns, groups);
    // deduction/solver: mean 0.5, sample std sqrt(0.5) -> +-0.7071
    expect(a[0]).toBeCloseTo(0.5 / Math.sqrt(0.5), 12);
    expect(a[1]).toBeCloseTo(-0.5 / Math.sqrt(0.5), 12);
    expect(a.slice(2)).toEqual([0, 0, 0]);
    expect(() => groupNormalizedAdvantages([1], [])).toThrow(/1 returns but 0 group keys/);
  });
});

describe('zero-advantage filtering', () => {
  it('drops samples that carry no signal', () => {
    expect(dropZeroAdvantages([{ advantage: 0 }, { advantage: 0.5 }, { advantage: -1 }])).toEqual([{ advantage: 0.5 }, { advantage: -1 }]);
  });
});

describe('RoleBaselines.advantagesInOrder', () => {
  it('equals advantage() applied game by game', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { maxLength: 50 }), (returns) => {
        const one = new RoleBaselines();
        const many = new RoleBaselines();
        const out = new Array<number>(returns.length);
        many.advantagesInOrder('g', 1, returns, out);
        returns.forEach((r, i) => expect(out[i]).toBeCloseTo(one.advantage('g', 1, r), 12));
        expect(many.baseline('g', 1)).toBeCloseTo(one.baseline('g', 1), 12);
      }),
    );
  });
});
