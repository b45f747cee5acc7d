import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/index.ts';
import { cfr, CfrSolver, expectedReturns, exploitability, type IterationStats } from '../../src/analysis/index.ts';
import { kuhnPoker } from '../../games/kuhn-poker/index.ts';
import { leducPoker } from '../../games/leduc-poker/index.ts';
import { chanceNim } from './helpers.ts';

const kuhn = kuhnPoker();

describe('CFR and CFR+', () => {
  it('CFR+ on Kuhn poker: exploitability <= 0.001 after 200 iterations', () => {
    const result = cfr(kuhn, { iterations: 200, plus: true });
    expect(result.iterations).toBe(200);
    expect(exploitability(kuhn, result.averagePolicy)).toBeLessThanOrEqual(0.001);
    expect(result.evaluation.exploitability).toBeCloseTo(exploitability(kuhn, result.averagePolicy), 12);
  });

  it('CFR on Kuhn poker: within 1e-3 of the game value -1/18 after 300 iterations', () => {
    const { averagePolicy, evaluation } = cfr(kuhn, { iterations: 300 });
    const [first, second] = expectedReturns(kuhn, averagePolicy);
    expect(Math.abs(first + 1 / 18)).toBeLessThan(1e-3);
    expect(Math.abs(second - 1 / 18)).toBeLessThan(1e-3);
    expect(evaluation.returns[0]).toBeCloseTo(first, 12);
  });

  it('CFR+ on Leduc poker: NashConv below 0.01 within 300 iterations', () => {
    const result = cfr(leducPoker(), { iterations: 300, plus: true, evaluateEvery: 10, targetExploitability: 0.005 });
    expect(result.iterations).toBeLessThan(300);
    expect(result.evaluation.nashConv).toBeLessThan(0.01);
  });

  it('finds the value of a perfect-information game with chance', () => {
    const game = chanceNim();
    const { averagePolicy, evaluation } = cfr(game, { iterations: 200, plus: true });
    expect(evaluation.exploitability).toBeLessThan(1e-3);
    expect(expectedReturns(game, averagePolicy)[0]).toBeCloseTo(1 / 3, 2);
  });

  it('reports every iteration and evaluates every evaluateEvery-th', () => {
    const seen: IterationStats[] = [];
    cfr(kuhn, { iterations: 20, plus: true, evaluateEvery: 5, onIteration: (stats) => seen.push(stats) });
    expect(seen.map((s) => s.iteration)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(seen.every((s) => s.iterations === 20)).toBe(true);
    const evaluated = seen.filter((s) => s.evaluation);
    expect(evaluated.map((s) => s.iteration)).toEqual([5, 10, 15, 20]);
    expect(evaluated[3].evaluation!.exploitability).toBeLessThan(evaluated[0].evaluation!.exploitability);
  });

  it('stops once the target exploitability is reached', () => {
    const result = cfr(kuhn, { iterations: 10_000, plus: true, evaluateEvery: 10, targetExploitability: 0.01 });
    expect(result.iterations).toBeLessThan(10_000);
    expect(result.iterations % 10).toBe(0);
    expect(result.evaluation.exploitability).toBeLessThanOrEqual(0.01);
  });

  it('the solver can be stepped and keeps a current policy that sums to 1', () => {
    const solver = new CfrSolver(kuhn, { plus: true });
    solver.iterate(3);
    solver.iterate();
    expect(solver.iterations).toBe(4);
    for (const entry of Object.values(solver.currentPolicy())) {
      expect(Object.values(entry).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    }
    expect(solver.evaluate().nashConv).toBeCloseTo(exploitability(kuhn, solver.averagePolicy()) * 2, 12);
  });

  it('refuses bad options', () => {
    expect(() => cfr(kuhn, { iterations: 0 })).toThrow(ConfigError);
    expect(() => cfr(kuhn, { iterations: 10, evaluateEvery: 2.5 })).toThrow('evaluateEvery must be a positive integer, not 2.5');
    expect(() => cfr(kuhn, { iterations: 10, targetExploitability: 0.1 })).toThrow('targetExploitability needs evaluateEvery');
  });
});
