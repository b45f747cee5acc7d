import { describe, expect, it } from 'vitest';
import { ConfigError, defineGame } from '../../src/core/index.ts';
import { CHANCE, compile, enumerate, TERMINAL } from '../../src/analysis/index.ts';
import { kuhnPoker } from '../../games/kuhn-poker/index.ts';
import { leducPoker } from '../../games/leduc-poker/index.ts';

/** A one-decision-per-seat game whose infoKey is whatever `infoKey` says, to provoke compile's checks. */
function twoMoves(infoKey: (history: readonly number[], seat: number) => string, actions: (history: readonly number[]) => number[] = () => [0, 1]) {
  return defineGame<readonly number[], number>({
    id: 'two-moves',
    description: 'Each seat picks a bit.',
    seats: 2,
    maxLength: 2,
    utility: 'zero-sum',
    returnRange: [-1, 1],
    perfectInformation: false,
    initial: () => [],
    turn: (h) => (h.length === 2 ? 'terminal' : h.length),
    legalActions: (h) => (h.length === 2 ? [] : actions(h)),
    apply: (h, a) => [...h, a],
    returns: (h) => (h[0] === h[1] ? [1, -1] : [-1, 1]),
    history: (h) => h,
    observe: (h, seat) => h.slice(0, seat),
    infoKey: (h, seat) => infoKey(h, seat),
  });
}

describe('compile', () => {
  it('lays Kuhn poker out as REFERENCE.md counts it', () => {
    const tree = compile(kuhnPoker());
    const kinds = { chance: 0, decision: 0, terminal: 0 };
    for (const p of tree.player) kinds[p === CHANCE ? 'chance' : p === TERMINAL ? 'terminal' : 'decision']++;
    expect(kinds).toEqual({ chance: 4, decision: 24, terminal: 30 });
    expect(tree.infosetCount).toBe(12);
    expect(tree.seatInfosets.map((s) => s.length)).toEqual([6, 6]);
  });

  it('numbers children contiguously after their parent, with chance probabilities summing to 1', () => {
    const tree = compile(kuhnPoker());
    for (let n = 0; n < tree.nodeCount; n++) {
      const first = tree.childStart[n];
      const end = tree.childStart[n + 1];
      if (tree.player[n] === TERMINAL) expect(end).toBe(first);
      else expect(first).toBeGreaterThan(n);
      if (tree.player[n] === CHANCE) {
        let sum = 0;
        for (let c = first; c < end; c++) sum += tree.chanceProbability[c];
        expect(sum).toBeCloseTo(1, 12);
      }
      if (tree.player[n] >= 0) expect(end - first).toBe(tree.actionStart[tree.infoset[n] + 1] - tree.actionStart[tree.infoset[n]]);
    }
  });

  it('agrees with enumerate on Leduc poker: 936 information states', () => {
    const game = leducPoker();
    const counts = enumerate(game);
    const tree = compile(game);
    expect(tree.nodeCount).toBe(counts.chance + counts.decision + counts.terminal);
    expect(tree.infosetCount).toBe(936);
    expect(tree.infosetNodes.length).toBe(counts.decision);
  });

  it('compiles a game object once', () => {
    const game = kuhnPoker();
    expect(compile(game)).toBe(compile(game));
    expect(compile(kuhnPoker())).not.toBe(compile(game));
  });

  it('refuses a game larger than maxNodes', () => {
    expect(() => compile(leducPoker(), { maxNodes: 1000 })).toThrow(/leduc-poker has more than 1000 histories/);
  });

  it('refuses an infoKey shared by two seats', () => {
    const game = twoMoves(() => 'same');
    expect(() => compile(game)).toThrow(ConfigError);
    expect(() => compile(game)).toThrow('two-moves: infoKey "same" names information states of seats 0 and 1; tabular policies need distinct keys');
  });

  it('refuses an infoKey covering histories with different legal actions', () => {
    const game = twoMoves((_h, seat) => String(seat), (h) => (h[0] === 1 ? [0, 1, 2] : [0, 1]));
    expect(() => compile(game)).toThrow('two-moves: infoKey "1" covers histories with different legal actions ([0] [1] and [0] [1] [2])');
  });
});
