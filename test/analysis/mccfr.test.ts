import { describe, expect, it } from 'vitest';
import { exploitability, mccfr, MccfrSolver, type IterationStats } from '../../src/analysis/index.ts';
import { kuhnPoker } from '../../games/kuhn-poker/index.ts';
import { leducPoker } from '../../games/leduc-poker/index.ts';

const kuhn = kuhnPoker();

describe('external-sampling MCCFR', () => {
  it('drives Kuhn poker exploitability far below uniform play (11/24)', () => {
    const result = mccfr(kuhn, { iterations: 5000, seed: 7 });
    expect(result.infoStates).toBe(12);
    expect(exploitability(kuhn, result.averagePolicy)).toBeLessThan(0.03);
  });

  it('is deterministic for a seed', () => {
    const a = mccfr(kuhn, { iterations: 200, seed: 'x' }).averagePolicy;
    expect(mccfr(kuhn, { iterations: 200, seed: 'x' }).averagePolicy).toEqual(a);
    expect(mccfr(kuhn, { iterations: 200, seed: 'y' }).averagePolicy).not.toEqual(a);
  });

  it('reports progress with exact evaluations when asked, and stops at the target', () => {
    const seen: IterationStats[] = [];
    const result = mccfr(kuhn, { iterations: 100_000, seed: 1, evaluateEvery: 500, targetExploitability: 0.05, onIteration: (s) => seen.push(s) });
    expect(result.iterations).toBeLessThan(100_000);
    expect(seen).toHaveLength(result.iterations);
    expect(seen[seen.length - 1].evaluation!.exploitability).toBeLessThanOrEqual(0.05);
  });

  it("halves Leduc poker's uniform exploitability in 2000 iterations", () => {
    const game = leducPoker();
    const solver = new MccfrSolver(game, { seed: 3 });
    solver.iterate(2000);
    expect(solver.iterations).toBe(2000);
    expect(exploitability(game, solver.averagePolicy())).toBeLessThan(2.373611111111111 / 2);
  });
});
