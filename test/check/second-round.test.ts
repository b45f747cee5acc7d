import { describe, expect, it } from 'vitest';
import { inspectGame, type CheckReport } from '../../src/check/index.ts';
import { runCli } from '../cli/run-cli.ts';
import { raiseWar, sealedBids } from './planted-games.ts';

const failed = (report: CheckReport) => report.results.filter((r) => !r.ok).map((r) => r.name);
const result = (report: CheckReport, name: string) => report.results.find((r) => r.name === name)!;

describe('the planted games are correct without their bug', () => {
  it('raise war, big and small, and sealed bids pass every invariant', () => {
    expect(failed(inspectGame(raiseWar(), { runs: 60 }))).toEqual([]);
    const small = inspectGame(raiseWar({ deck: 3 }), { runs: 60 });
    expect(failed(small)).toEqual([]);
    expect(small.whole.done).toBe(true);
    expect(failed(inspectGame(sealedBids(), { runs: 60 }))).toEqual([]);
  });
});

describe('1. leaks in the text a model reads -> hidden-information', () => {
  it('an observation text that shows the opponent card, found by varying the deal', () => {
    const report = inspectGame(raiseWar({ textLeakAt: 2 }), { runs: 60, exhaustiveLimit: 0 });
    expect(failed(report)).toEqual(['hidden-information']);
    const r = result(report, 'hidden-information');
    expect(r.message).toMatch(/reads different observation texts .*The other card is \d.* vs .*The other card is \d/);
    expect(r.historyText).toEqual(expect.arrayContaining(['[raise]']));
  });

  it('the same leak over the whole tree of a small deck', () => {
    const report = inspectGame(raiseWar({ textLeakAt: 2, deck: 3 }), { runs: 5, guided: 0 });
    expect(report.whole.done).toBe(true);
    expect(failed(report)).toEqual(['hidden-information']);
  });

  it("a text that tells one seat another seat's private bid, found by varying that seat's actions", () => {
    const report = inspectGame(sealedBids({ textLeak: true }), { runs: 40 });
    expect(report.whole.done).toBe(false);
    expect(failed(report)).toEqual(['hidden-information']);
    expect(result(report, 'hidden-information').message).toMatch(/seat 1, .*Player 0 just bid \d+.* vs .*Player 0 just bid \d+/);
    expect(result(report, 'hidden-information').history).toHaveLength(1);
  });
});

describe('2. text functions that change the state -> read-only', () => {
  it('an observationText that sorts the bets in place, named in the report', () => {
    const report = inspectGame(raiseWar({ textSorts: true }), { runs: 40 });
    expect(failed(report)).toEqual(['read-only']);
    expect(result(report, 'read-only').message).toBe('observationText(state, 0) changed the state it was given');
  });
});

describe('3. rare branches -> found by the coverage-guided games', () => {
  it('returns out of range after 5 raises (uniform play: about 1 game in 1,000) are caught at the default runs for 9 of 10 seeds or more', () => {
    let caught = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const report = inspectGame(raiseWar({ rangeBugAt: 5 }), { seed });
      if (!result(report, 'returns').ok) caught++;
    }
    expect(caught).toBeGreaterThanOrEqual(9);
  });

  it('uniform play alone mostly misses it (the reason for the guided games)', () => {
    let caught = 0;
    for (let seed = 1; seed <= 5; seed++) if (!result(inspectGame(raiseWar({ rangeBugAt: 5 }), { seed, guided: 0, runs: 100 }), 'returns').ok) caught++;
    expect(caught).toBeLessThan(5);
  });

  it('reports the depth coverage: a histogram of game lengths, and more runs buy more guided games', () => {
    const report = inspectGame(raiseWar(), { runs: 80 });
    const counts = Object.values(report.coverage.lengths).reduce((a, b) => a + b, 0);
    expect(counts).toBe(report.coverage.random + report.coverage.guided);
    expect(report.coverage.longest).toBeGreaterThanOrEqual(8);
    expect(inspectGame(raiseWar(), { runs: 160 }).coverage.guided).toBeGreaterThan(report.coverage.guided);
  });
});

describe('4 and 5. the whole-tree pass', () => {
  // Ten raises in a row before the history outgrows maxLength: about one uniform game in a million.
  const deep = () => raiseWar({ deck: 3, maxRaises: 12, maxLength: 12 });

  it('a history longer than maxLength deep in a small tree -> terminates, every time', () => {
    for (let seed = 1; seed <= 3; seed++) {
      const report = inspectGame(deep(), { seed, runs: 10, guided: 0 });
      expect(failed(report)).toEqual(['terminates']);
      const r = result(report, 'terminates');
      expect(r.mode).toBe('exhaustive');
      expect(r.message).toMatch(/no terminal state after 13 actions \(declared maxLength 12\)/);
      expect(r.history).toHaveLength(13);
    }
  });

  it('returns are checked at every terminal of the tree', () => {
    const report = inspectGame(raiseWar({ deck: 3, rangeBugAt: 8 }), { runs: 10, guided: 0 });
    expect(failed(report)).toEqual(['returns']);
    expect(result(report, 'returns').mode).toBe('exhaustive');
  });

  it('the header says when the pass was skipped and why; --exhaustive-limit moves the limit', async () => {
    const skipped = inspectGame(deep(), { runs: 10, guided: 0, exhaustiveLimit: 100 });
    expect(skipped.whole).toMatchObject({ done: false, skipped: 'the game has more than 100 histories' });
    const cli = await runCli('check', 'kuhn-poker', '--runs', '10', '--exhaustive-limit', '20');
    expect(cli.out).toMatch(/whole-tree pass skipped: the game has more than 20 histories \(--exhaustive-limit raises the limit\)/);
    const off = await runCli('check', 'kuhn-poker', '--runs', '10', '--exhaustive-limit', '0', '--json');
    expect(JSON.parse(off.out).games[0].whole).toMatchObject({ done: false, skipped: 'turned off (--exhaustive-limit 0)' });
    const done = await runCli('check', 'kuhn-poker', '--runs', '10', '--json');
    const game = JSON.parse(done.out).games[0];
    expect(game.whole).toMatchObject({ done: true, histories: 58 });
    expect(Object.keys(game.coverage.lengths).length).toBeGreaterThan(0);
  });
});

describe('6. game code that throws never crashes the checker', () => {
  it('apply refusing a chance outcome of probability 0 -> chance and apply-pure, with the history', () => {
    const report = inspectGame(raiseWar({ zeroCard: true, deck: 4 }), { runs: 30 });
    expect(failed(report)).toEqual(['chance', 'apply-pure']);
    expect(result(report, 'apply-pure').message).toMatch(/apply threw on the legal action 0: RangeError: card 0 cannot be dealt first/);
    expect(result(report, 'apply-pure').history).toEqual([]);
  });

  it('an observationText that throws is reported naming the function, and the command exits 1, not 2', async () => {
    const report = inspectGame(raiseWar({ textThrows: true }), { runs: 40 });
    expect(failed(report)).toContain('text');
    expect(result(report, 'text').message).toMatch(/^observationText\(state, 1\) threw TypeError/);
    expect(result(report, 'text').history).toEqual([expect.any(Number), expect.any(Number), 'raise', 'raise']);
    const cli = await runCli('check', 'test/check/fixtures/crashing-game.ts', '--runs', '20');
    expect(cli.code).toBe(1);
    expect(cli.out).toMatch(/FAIL {2}apply-pure/);
    expect(cli.out).toMatch(/observationText\(state, 1\) threw TypeError/);
  });

  it('even initial() throwing is a report', () => {
    const broken = { ...raiseWar(), initial: () => { throw new Error('no deck'); } };
    const report = inspectGame(broken, { runs: 5 });
    expect(report.ok).toBe(false);
    expect(result(report, 'terminates').message).toMatch(/initial\(\) threw Error: no deck/);
  });
});

describe('7. parsers that hang -> parser-robust, naming the input', () => {
  it('a parser with catastrophic backtracking on plain text overruns its budget on a short reply', () => {
    const start = performance.now();
    const report = inspectGame(raiseWar({ slowParser: true }), { runs: 20 });
    expect(failed(report)).toEqual(['parser-robust']);
    expect(result(report, 'parser-robust').message).toMatch(/^parseAction\(state, "[a-z ]{10,40}"\) took \d+ ms, over its time budget of \d+ ms$/);
    expect(performance.now() - start).toBeLessThan(30_000);
  });

  it('any slow game function is named with its input', () => {
    const game = raiseWar();
    const slowKey = { ...game, infoKey: (s: Parameters<typeof game.infoKey>[0], seat: number) => {
      if (s.bets.length >= 2) { const until = performance.now() + 15; while (performance.now() < until); }
      return game.infoKey(s, seat);
    } };
    const report = inspectGame(slowKey, { runs: 10, budget: { callMs: 10 } });
    expect(report.ok).toBe(false);
    expect(report.results.find((r) => !r.ok)!.message).toMatch(/^infoKey\(state, [01]\) took \d+ ms, over its time budget of 10 ms$/);
  });
});

describe('8. stateKey -> state-key', () => {
  it('a key that forgets how the war ended', () => {
    const report = inspectGame(raiseWar({ keyTooCoarse: true }), { runs: 60 });
    expect(failed(report)).toEqual(['state-key']);
    expect(result(report, 'state-key').message).toMatch(/two histories share stateKey ".*" but not the (returns|legal actions|turn|observation)/);
  });

  it('the same over the whole tree', () => {
    const report = inspectGame(raiseWar({ keyTooCoarse: true, deck: 3 }), { runs: 1, guided: 0 });
    expect(failed(report)).toEqual(['state-key']);
  });
});

describe('9. reports that do not mislead', () => {
  it('a NaN return is printed as NaN', () => {
    const r = result(inspectGame(raiseWar({ nanReturns: true }), { runs: 40 }), 'returns');
    expect(r.message).toMatch(/return NaN is not a finite number \(returns \[NaN,NaN\]\)/);
  });

  it('a turn() out of range is reported as such, once, under legal-actions', () => {
    const report = inspectGame(raiseWar({ turnOutOfRange: true }));
    expect(failed(report)).toEqual(['legal-actions']);
    expect(result(report, 'legal-actions').message).toBe("turn(state) returned 2: not a seat (0 to 1), 'chance' or 'terminal'");
    expect(result(report, 'legal-actions').history).toEqual([expect.any(Number), expect.any(Number), 'raise', 'raise', 'raise']);
  });

  it('a serialization failure at the first move is reported at the first move', () => {
    const r = result(inspectGame(raiseWar({ historyAsText: true }), { runs: 40 }), 'serialization');
    expect(r.ok).toBe(false);
    expect(r.history).toEqual([0]);
  });

  it('a duplicate-text failure shows the data form next to the texts', () => {
    const r = result(inspectGame(raiseWar({ sharedText: true }), { runs: 40 }), 'text');
    expect(r.message).toBe(
      'legal actions share a text: "[raise]" for "raise" and "[raise]" for "all-in" (all texts ["[fold]","[call]","[raise]","[raise]"], as data ["fold","call","raise","all-in"])',
    );
  });
});

describe('a game whose very shape is broken', () => {
  it('is a failing report, not a crash', () => {
    const report = inspectGame({ ...raiseWar(), maxLength: Number.NaN }, { runs: 5 });
    expect(report.ok).toBe(false);
    expect(report.results.every((r) => !r.ok)).toBe(true);
    expect(report.results[0].message).toMatch(/the checker could not play the game/);
  });
});
