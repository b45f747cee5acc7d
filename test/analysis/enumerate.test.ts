import { describe, expect, it } from 'vitest';
import { enumerate } from '../../src/analysis/enumerate.ts';
import { kuhnPoker, leducPoker, ticTacToe } from '../../games/index.ts';

describe('enumerate reproduces the tree sizes of REFERENCE.md', () => {
  it('Kuhn poker: 4 chance, 24 decision, 30 terminal nodes; 12 information states', () => {
    expect(enumerate(kuhnPoker())).toMatchObject({ chance: 4, decision: 24, terminal: 30, infoStates: 12, infoStatesPerSeat: [6, 6] });
  });

  it('tic-tac-toe: 5478 distinct states, 4520 of them non-terminal', () => {
    const counts = enumerate(ticTacToe());
    expect(counts.states).toBe(5478);
    expect(counts.nonTerminalStates).toBe(4520);
  });

  it('Leduc poker: 936 information states', () => {
    expect(enumerate(leducPoker()).infoStates).toBe(936);
  });

  it('refuses a game too large to walk instead of running for hours', () => {
    expect(() => enumerate(ticTacToe(), 1000)).toThrow(/more than 1000 histories/);
  });
});
