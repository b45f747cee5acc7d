import { describe, expect, it } from 'vitest';
import { createPlayer } from '../../agents/index.ts';
import { tabularAgent } from '../../agents/tabular.ts';
import { kuhnPoker } from '../../games/index.ts';
import { expectedReturns, uniformPolicy, type TabularPolicy } from '../../src/analysis/index.ts';
import { rateVersions } from '../../src/trainer/version-ratings.ts';

const game = kuhnPoker();

describe('version ratings', () => {
  it("gives each entrant its mean return over paired deals, whose interval holds the exact expected return", async () => {
    const uniform = uniformPolicy(game);
    // Bets and calls whatever its card.
    const aggressive: TabularPolicy = Object.fromEntries(
      Object.entries(uniform).map(([key, moves]) => [key, Object.fromEntries(Object.keys(moves).map((move) => [move, move === '[bet]' || move === '[call]' ? 1 : 0]))]),
    );
    // Kuhn's information keys start with the seat: the profile with `aggressive` in `seat` and uniform play in the other.
    const profile = (seat: number): TabularPolicy => Object.fromEntries(Object.keys(uniform).map((key) => [key, key.startsWith(`${seat}|`) ? aggressive[key] : uniform[key]]));
    const exact = (expectedReturns(game, profile(0))[0] + expectedReturns(game, profile(1))[1]) / 2;
    expect(Math.abs(exact)).toBeGreaterThan(0.1);

    const ratings = await rateVersions(game, [], {
      sampling: { apiBase: 'http://127.0.0.1:1/v1' },
      policyId: 'unused',
      anchors: [{ name: 'aggressive', agent: tabularAgent(aggressive) }, createPlayer('random', game)],
      gamesPerPair: 3000,
      seed: 3,
      samples: 20,
    });
    const of = (name: string) => ratings.find((r) => r.name === name)!;
    const [bold, random] = [of('aggressive'), of('random')];
    expect(bold.games).toBe(3000);
    expect(bold.returnLow).toBeLessThanOrEqual(exact);
    expect(bold.returnHigh).toBeGreaterThanOrEqual(exact);
    expect(bold.returnHigh - bold.returnLow).toBeLessThan(0.25);
    // Zero-sum, both seats of every deal: what one wins the other loses.
    expect(random.meanReturn).toBeCloseTo(-bold.meanReturn, 12);
    expect(random.returnLow).toBeCloseTo(-bold.returnHigh, 12);
  });
});
