import { describe, expect, it } from 'vitest';
import { kuhnPoker, leducPoker, nim, ticTacToe } from '../../games/index.ts';
import { surelyLargerThan, walkWholeTree } from '../../src/check/tree.ts';
import { defineGame, type Game } from '../../src/core/index.ts';

describe('the whole-tree pass skips only games surely over its limit', () => {
  it('agrees with a full walk about every limit around the true count', () => {
    const games: Game[] = [kuhnPoker(), leducPoker(), nim({ heaps: '1,2,2' })];
    for (const game of games) {
      const histories = walkWholeTree(game, 1_000_000).nodes.length;
      for (const limit of [1, histories - 1, histories, histories + 1, 2 * histories]) expect(surelyLargerThan(game, limit), `${game.id} ${histories} vs ${limit}`).toBe(histories > limit);
    }
  });

  it('answers for large games without walking their histories', () => {
    expect(surelyLargerThan(nim({}), 20_000)).toBe(true);
    expect(surelyLargerThan(ticTacToe(), 20_000)).toBe(true);
  });

  it('leaves the walk to decide when a state repeats or a history outgrows maxLength', () => {
    // A counter that can go back to where it started: a cycle, and histories past maxLength.
    const looping = defineGame<{ n: number; moves: number }, number>({
      id: 'looping',
      description: 'a counter that goes up or down ten times',
      seats: 1,
      utility: 'zero-sum',
      returnRange: [0, 0],
      maxLength: 6,
      initial: () => ({ n: 0, moves: 0 }),
      turn: (s) => (s.moves >= 10 ? 'terminal' : 0),
      legalActions: () => [1, -1],
      apply: (s, a) => ({ n: s.n + a, moves: s.moves + 1 }),
      returns: () => [0],
      history: () => [],
      stateKey: (s) => String(s.n),
    });
    expect(surelyLargerThan(looping, 1_000)).toBe(false);
    const walked = walkWholeTree(looping, 1_000);
    expect(walked.complete).toBe(true);
    expect(walked.tooLong).toHaveLength(7);
  });
});
