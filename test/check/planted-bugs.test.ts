import { describe, expect, it } from 'vitest';
import { checkGame, GameCheckError, inspectGame, type CheckReport } from '../../src/check/index.ts';
import { defineGame, IllegalActionError, type Game } from '../../src/core/index.ts';
import { kuhnPoker, ticTacToe, type KuhnState, type TicTacToeState } from '../../games/index.ts';

const failed = (report: CheckReport) => report.results.filter((r) => !r.ok).map((r) => r.name);
const result = (report: CheckReport, name: string) => report.results.find((r) => r.name === name)!;

const ttt = ticTacToe();
const kuhn = kuhnPoker();

/** A game of counting up by one or two; `endsAt` decides when it stops. */
const counting = (endsAt: (n: number) => boolean) =>
  defineGame<{ history: number[]; total: number }, number>({
    id: 'counting',
    description: 'count together',
    seats: 2,
    maxLength: 10,
    utility: 'zero-sum',
    returnRange: [-1, 1],
    initial: () => ({ history: [], total: 0 }),
    turn: (s) => (endsAt(s.total) ? 'terminal' : s.history.length % 2),
    legalActions: (s) => (endsAt(s.total) ? [] : [1, 2]),
    apply: (s, step) => {
      if (endsAt(s.total) || (step !== 1 && step !== 2)) throw new IllegalActionError('count on by 1 or 2 while the game lasts');
      return { history: [...s.history, step], total: s.total + step };
    },
    returns: (s) => (s.history.length % 2 === 0 ? [-1, 1] : [1, -1]),
    history: (s) => s.history,
  });

describe('the checker catches planted bugs under the right invariant', () => {
  it('accepts the correct games', () => {
    expect(failed(inspectGame(ttt, { runs: 100 }))).toEqual([]);
    expect(failed(inspectGame(kuhn, { runs: 100 }))).toEqual([]);
    expect(failed(inspectGame(counting((n) => n >= 10), { runs: 100 }))).toEqual([]);
  });

  it('apply that mutates its input -> apply-pure', () => {
    const broken: Game<TicTacToeState, number> = {
      ...ttt,
      apply(s, cell) {
        const next = ttt.apply(s, cell);
        (s.board as number[])[cell] = 9;
        return next;
      },
    };
    const report = inspectGame(broken, { runs: 50 });
    expect(failed(report)).toContain('apply-pure');
    expect(result(report, 'apply-pure').message).toMatch(/changed its input/);
    expect(result(report, 'apply-pure').history).toEqual([]);
  });

  it('an observation that leaks the opponent card -> hidden-information', () => {
    const broken: Game<KuhnState, number> = {
      ...kuhn,
      observe: (s, seat) => ({ ...(kuhn.observe(s, seat) as object), opponent: s.history[1 - seat] }),
    };
    const report = inspectGame(broken, { runs: 50 });
    expect(failed(report)).toEqual(['hidden-information']);
    expect(result(report, 'hidden-information').message).toMatch(/observes different things/);
  });

  it('the leak is also found by sampling alone, in a game too big to enumerate', () => {
    const broken: Game<KuhnState, number> = {
      ...kuhn,
      observe: (s, seat) => ({ ...(kuhn.observe(s, seat) as object), opponent: s.history[1 - seat] }),
    };
    const report = inspectGame(broken, { runs: 50, exhaustiveLimit: 10 });
    expect(report.exhaustive).toBe(false);
    expect(report.whole.skipped).toMatch(/more than 10 histories/);
    expect(failed(report)).toEqual(['hidden-information']);
    expect(result(report, 'hidden-information').mode).toBe('sampled');
  });

  it('returns that do not sum to zero -> returns', () => {
    const broken: Game<KuhnState, number> = { ...kuhn, returns: (s) => [kuhn.returns(s)[0], 0] };
    const report = inspectGame(broken, { runs: 50 });
    expect(failed(report)).toEqual(['returns']);
    expect(result(report, 'returns').message).toMatch(/sum to .* in a zero-sum game/);
  });

  it('a game that never ends -> terminates', () => {
    const report = inspectGame(counting(() => false), { runs: 50 });
    expect(failed(report)).toContain('terminates');
    expect(result(report, 'terminates').message).toMatch(/no terminal state after 11 actions/);
  });

  it('a parser that throws on odd text -> parser-robust, with the shrunk text', () => {
    const broken: Game<TicTacToeState, number> = {
      ...ttt,
      parseAction: (_s, text) => Number(/\[(\d)\]/.exec(text)![1]),
    };
    const report = inspectGame(broken, { runs: 50 });
    expect(failed(report)).toEqual(['parser-robust']);
    expect(result(report, 'parser-robust').message).toMatch(/threw TypeError.* instead of ParseError/);
    expect(result(report, 'parser-robust').history).toEqual([]);
  });

  it('chance probabilities summing to 0.9 -> chance', () => {
    const broken: Game<KuhnState, number> = {
      ...kuhn,
      chanceOutcomes: (s) => kuhn.chanceOutcomes(s).map((o) => ({ ...o, probability: o.probability * 0.9 })),
    };
    const report = inspectGame(broken, { runs: 50 });
    expect(failed(report)).toEqual(['chance']);
    expect(result(report, 'chance').message).toMatch(/sum to 0.9/);
  });

  it('an infoKey that forgets history -> perfect-recall', () => {
    const broken: Game<KuhnState, number> = { ...kuhn, infoKey: (s, seat) => `${seat}:${s.history[seat] ?? '?'}` };
    const report = inspectGame(broken, { runs: 50 });
    expect(failed(report)).toContain('perfect-recall');
    expect(result(report, 'perfect-recall').message).toMatch(/infoKey forgets/);
  });

  it('an action that apply accepts although it is not legal -> illegal-actions', () => {
    const broken: Game<TicTacToeState, number> = {
      ...ttt,
      apply: (s, cell) => (s.board[cell] !== 0 ? s : ttt.apply(s, cell)),
    };
    expect(failed(inspectGame(broken, { runs: 50 }))).toEqual(['illegal-actions']);
  });

  it('shrinks to the shortest failing history', () => {
    // Returns go wrong only for games of 7 or more moves: the shortest such tic-tac-toe game has 7 moves.
    const broken: Game<TicTacToeState, number> = {
      ...ttt,
      returns: (s) => (s.history.length >= 7 ? [1, 1] : ttt.returns(s)),
    };
    const r = result(inspectGame(broken, { runs: 100 }), 'returns');
    expect(r.ok).toBe(false);
    expect(r.history).toHaveLength(7);
    expect(r.historyText).toHaveLength(7);
  });

  it('checkGame throws a readable report naming the invariant and the history', () => {
    const broken: Game<KuhnState, number> = { ...kuhn, returns: (s) => [kuhn.returns(s)[0], 0] };
    expect(() => checkGame(broken, { runs: 20 })).toThrow(GameCheckError);
    try {
      checkGame(broken, { runs: 20 });
    } catch (error) {
      const text = (error as Error).message;
      expect(text).toMatch(/kuhn-poker .*: 12 of 13 invariants hold/);
      expect(text).toMatch(/FAIL {2}returns/);
      expect(text).toMatch(/history \(\d+ actions, shrunk\): \[deal/);
    }
    expect(checkGame(kuhn, { runs: 20 }).ok).toBe(true);
  });
});
