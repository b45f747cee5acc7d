import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/index.ts';
import { addGame, ELO_PER_LOG, emptyTable, fitBradleyTerry, LiveRatings, officialTable } from '../../src/tournament/index.ts';

const result = (a: string, b: string, returns: [number, number]) => ({ players: [{ agent: a, version: '1' }, { agent: b, version: '1' }], returns, outcome: 'normal' as const });

describe('Bradley-Terry fit', () => {
  it('matches hand-computed strengths', () => {
    // Two players, A wins 3 of 4: p_A / (p_A + p_B) = 3/4, so theta_A - theta_B = ln 3.
    const two = emptyTable(2);
    for (const score of [1, 1, 1, 0]) addGame(two, 0, 1, score);
    const [a, b] = fitBradleyTerry(two, { prior: 0 });
    expect(a - b).toBeCloseTo(Math.log(3), 9);
    expect(a + b).toBeCloseTo(0, 12);

    // Draws are half points: two wins and two draws is also 3 points of 4.
    const drawn = emptyTable(2);
    for (const score of [1, 1, 0.5, 0.5]) addGame(drawn, 0, 1, score);
    const [c, d] = fitBradleyTerry(drawn, { prior: 0 });
    expect(c - d).toBeCloseTo(Math.log(3), 9);

    // A chain A-B-C (A and C never meet): each link is fitted on its own, A beats B 2:1, B beats C 2:1.
    const chain = emptyTable(3);
    for (const score of [1, 1, 0]) addGame(chain, 0, 1, score);
    for (const score of [1, 1, 0]) addGame(chain, 1, 2, score);
    const theta = fitBradleyTerry(chain, { prior: 0 });
    expect([...theta].map((x) => x / Math.log(2))).toEqual([expect.closeTo(1, 9), expect.closeTo(0, 9), expect.closeTo(-1, 9)]);
  });

  it('satisfies the likelihood equations: every player scores what the fit expects', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(4), fc.nat(4), fc.constantFrom(0, 0.5, 1)), { maxLength: 200 }), (games) => {
        const n = 5;
        const table = emptyTable(n);
        // A draw between every two players keeps the maximum-likelihood strengths finite.
        for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) addGame(table, i, j, 0.5);
        for (const [a, b, s] of games) if (a !== b) addGame(table, a, b, s);
        const theta = fitBradleyTerry(table, { prior: 0 });
        for (let i = 0; i < n; i++) {
          let points = 0;
          let expected = 0;
          for (let j = 0; j < n; j++) {
            if (i === j) continue;
            const cell = Math.min(i, j) * n + Math.max(i, j);
            const games = table.games[cell];
            points += i < j ? table.points[cell] : games - table.points[cell];
            expected += games / (1 + Math.exp(theta[j] - theta[i]));
          }
          expect(expected).toBeCloseTo(points, 6);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('recovers known strengths from a simulation, inside its bootstrap intervals', () => {
    const truth = [-1.2, -0.5, 0, 0.3, 0.6, 0.8];
    const rng = new Rng(11);
    const results = [];
    for (let k = 0; k < 30_000; k++) {
      const i = rng.int(6);
      const j = (i + 1 + rng.int(5)) % 6;
      const p = 1 / (1 + Math.exp(truth[j] - truth[i]));
      results.push(result(`p${i}`, `p${j}`, rng.next() < p ? [1, -1] : [-1, 1]));
    }
    const table = officialTable(results, { samples: 100 });
    const mean = truth.reduce((a, b) => a + b) / truth.length;
    for (const row of table.rows) {
      const expected = (truth[Number(row.agent.slice(1))] - mean) * ELO_PER_LOG;
      expect(Math.abs(row.rating - expected)).toBeLessThan(12);
      expect(row.low).toBeLessThan(expected + 5);
      expect(row.high).toBeGreaterThan(expected - 5);
    }
    expect(table.rows.map((r) => r.agent)).toEqual(['p5', 'p4', 'p3', 'p2', 'p1', 'p0']);
    // p5 and p4 differ by 0.2 in log-strength, 5,000 games each: p5 is almost surely better.
    expect(table.superiority[0][1]).toBeGreaterThan(0.95);
    expect(table.superiority[1][0]).toBeLessThan(0.05);
    expect(table.superiority[0][5]).toBe(1);
  });

  it('keeps an undefeated player finite, counts draws as half points and ignores matches with no result', () => {
    const results = [
      result('a', 'b', [1, -1]),
      result('a', 'b', [1, -1]),
      result('b', 'c', [0, 0]),
      { ...result('c', 'a', [0, 0]), outcome: 'error' as const },
    ];
    const table = officialTable(results, { samples: 20 });
    expect(table.games).toBe(3);
    const byName = Object.fromEntries(table.rows.map((r) => [r.agent, r]));
    expect(byName.a).toMatchObject({ games: 2, points: 2 });
    expect(byName.b).toMatchObject({ games: 3, points: 0.5 });
    expect(byName.c).toMatchObject({ games: 1, points: 0.5 });
    expect(Number.isFinite(byName.a.rating)).toBe(true);
    expect(table.rows[0].agent).toBe('a');
  });
});

describe('live OpenSkill ratings', () => {
  const all = (game: string) => ({ game, tournamentId: 0 });

  it('moves the winner up and the loser down, per agent version; a draw between equals changes no mu', () => {
    const live = new LiveRatings();
    const [winner, loser] = live.update('g', 1, [{ agent: 'a', version: '1' }, { agent: 'b', version: '1' }], [1, 0]);
    expect(winner.mu).toBeGreaterThan(25);
    expect(loser.mu).toBeLessThan(25);
    expect(winner.sigma).toBeLessThan(25 / 3);
    const [x, y] = live.update('g', 1, [{ agent: 'a', version: '2' }, { agent: 'c', version: '1' }], [0.5, 0.5]);
    expect(x.mu).toBeCloseTo(25, 9);
    expect(y.mu).toBeCloseTo(25, 9);
    const rows = live.rows(all('g'));
    expect(rows.map((r) => `${r.agent}@${r.version}`)).toEqual(['a@1', 'a@2', 'c@1', 'b@1']);
    expect(rows[0].ordinal).toBeCloseTo(rows[0].mu - 3 * rows[0].sigma, 9);
  });

  it('rates each game apart, and each tournament of a game apart as well as together', () => {
    const live = new LiveRatings();
    const [ann, bob] = [{ agent: 'ann', version: '1' }, { agent: 'bob', version: '1' }];
    // ann wins every game of tic-tac-toe and loses every hand of Kuhn poker.
    for (let k = 0; k < 5; k++) {
      live.update('tic-tac-toe', 1, [ann, bob], [1, 0]);
      live.update('kuhn-poker', 2, [ann, bob], [0, 1]);
      live.update('kuhn-poker', 3, [bob, ann], [1, 0]);
    }
    expect(live.games()).toEqual(['kuhn-poker', 'tic-tac-toe']);
    expect(live.rows(all('tic-tac-toe')).map((r) => [r.agent, r.games])).toEqual([['ann', 5], ['bob', 5]]);
    expect(live.rows(all('kuhn-poker')).map((r) => [r.agent, r.games])).toEqual([['bob', 10], ['ann', 10]]);
    expect(live.rows({ game: 'kuhn-poker', tournamentId: 2 }).map((r) => [r.agent, r.games])).toEqual([['bob', 5], ['ann', 5]]);
    // One tournament's rating is the same as that of a game played in it alone.
    const alone = new LiveRatings();
    for (let k = 0; k < 5; k++) alone.update('kuhn-poker', 2, [ann, bob], [0, 1]);
    expect(live.rows({ game: 'kuhn-poker', tournamentId: 2 })).toEqual(alone.rows({ game: 'kuhn-poker', tournamentId: 2 }));
    expect(live.get(all('tic-tac-toe'), ann).mu).toBeGreaterThan(25);
    expect(live.get(all('kuhn-poker'), ann).mu).toBeLessThan(25);
    expect(live.get(all('nim'), ann)).toMatchObject({ mu: 25, games: 0 });
  });
});
