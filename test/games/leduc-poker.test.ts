import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { leducPoker, type LeducState } from '../../games/leduc-poker/index.ts';
import { enumerate } from '../../src/analysis/enumerate.ts';
import { ConfigError, IllegalActionError, replay, walkTree } from '../../src/core/index.ts';

const game = leducPoker();
// Cards: 0 J♠, 1 J♥, 2 Q♠, 3 Q♥, 4 K♠, 5 K♥. Actions: 0 fold, 1 check/call, 2 bet/raise.
const [J, J2, Q, Q2, K, K2] = [0, 1, 2, 3, 4, 5];
const [FOLD, CALL, RAISE] = [0, 1, 2];
const play = (...history: number[]) => replay(game, history);
const texts = (s: LeducState) => game.legalActions(s).map((a) => game.actionText(s, a));

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

describe('leduc-poker returns', () => {
  it('check-check twice goes to a showdown for the antes: the higher card wins 1', () => {
    const s = play(K, J, CALL, CALL, Q, CALL, CALL);
    expect(game.turn(s)).toBe('terminal');
    expect(game.returns(s)).toEqual([1, -1]);
  });

  it('a fold to the opening bet loses the ante only', () => {
    expect(game.returns(play(J, K, RAISE, FOLD))).toEqual([1, -1]);
    expect(game.returns(play(K, J, CALL, RAISE, FOLD))).toEqual([-1, 1]);
  });

  it('a pair with the public card beats a higher private card', () => {
    // Q pairs the public Q; K is higher but unpaired. Bet-call in both rounds: 1 + 2 + 4 = 7 each.
    const s = play(Q, K, RAISE, CALL, Q2, RAISE, CALL);
    expect(game.returns(s)).toEqual([7, -7]);
    expect(game.returns(play(K, Q, RAISE, CALL, Q2, RAISE, CALL))).toEqual([-7, 7]);
  });

  it('unpaired hands compare by the private card, whatever the public card', () => {
    expect(game.returns(play(Q, J, CALL, CALL, K, CALL, CALL))).toEqual([1, -1]); // public card above both
    expect(game.returns(play(J, Q, CALL, CALL, K, CALL, CALL))).toEqual([-1, 1]);
    expect(game.returns(play(K, J, CALL, CALL, Q, CALL, CALL))).toEqual([1, -1]); // public card between
  });

  it('equal ranks split the pot', () => {
    expect(game.returns(play(J, J2, RAISE, CALL, K, RAISE, CALL))).toEqual([0, 0]);
    expect(game.returns(play(K2, K, CALL, CALL, Q, CALL, CALL))).toEqual([0, 0]);
  });

  it('two raises in each round put 13 chips at stake, the most there is', () => {
    // Round 1: 1 -> 3 -> 5; round 2: 5 -> 9 -> 13.
    expect(game.returns(play(J, K, RAISE, RAISE, CALL, J2, RAISE, RAISE, CALL))).toEqual([13, -13]);
    // Opening each round with a check makes the longest history: 3 cards and 4 actions a round.
    const longest = play(J, K, CALL, RAISE, RAISE, CALL, J2, CALL, RAISE, RAISE, CALL);
    expect(game.returns(longest)).toEqual([13, -13]);
    expect(game.history(longest)).toHaveLength(11);
  });

  it('a fold in round 2 loses what the folder put in', () => {
    // Round 1 bet-call: 3 each; round 2 seat 0 checks, seat 1 bets 4 (7), seat 0 folds losing 3.
    expect(game.returns(play(K, J, RAISE, CALL, Q, CALL, RAISE, FOLD))).toEqual([-3, 3]);
    // Seat 0 bets in round 2 (3 + 4 = 7 in), seat 1 raises, seat 0 folds.
    expect(game.returns(play(K, J, RAISE, CALL, Q, RAISE, RAISE, FOLD))).toEqual([-7, 7]);
  });
});

describe('leduc-poker betting', () => {
  it('deals two private cards, then seat 0 opens round 1', () => {
    expect(game.turn(game.initial())).toBe('chance');
    expect(game.turn(play(K))).toBe('chance');
    expect(game.turn(play(K, J))).toBe(0);
    expect(game.turn(play(K, J, CALL))).toBe(1);
  });

  it('deals the public card after round 1 and seat 0 opens round 2, whoever closed round 1', () => {
    expect(game.turn(play(K, J, CALL, CALL))).toBe('chance');
    expect(game.turn(play(K, J, CALL, RAISE, CALL))).toBe('chance');
    expect(game.turn(play(K, J, CALL, RAISE, CALL, Q))).toBe(0);
    expect(game.turn(play(K, J, RAISE, CALL, Q))).toBe(0);
  });

  it('offers check and bet when no bet is open, and no fold', () => {
    for (const s of [play(K, J), play(K, J, CALL), play(K, J, CALL, CALL, Q)]) {
      expect(game.legalActions(s)).toEqual([CALL, RAISE]);
      expect(texts(s)).toEqual(['[check]', '[bet]']);
      expect(() => game.apply(s, FOLD)).toThrow(IllegalActionError);
    }
  });

  it('offers fold, call and raise when facing a bet', () => {
    for (const s of [play(K, J, RAISE), play(K, J, CALL, RAISE), play(K, J, CALL, CALL, Q, RAISE)]) {
      expect(game.legalActions(s)).toEqual([FOLD, CALL, RAISE]);
      expect(texts(s)).toEqual(['[fold]', '[call]', '[raise]']);
    }
  });

  it('caps each round at two raises', () => {
    for (const s of [play(K, J, RAISE, RAISE), play(K, J, CALL, RAISE, RAISE), play(K, J, CALL, CALL, Q, RAISE, RAISE)]) {
      expect(game.legalActions(s)).toEqual([FOLD, CALL]);
      expect(texts(s)).toEqual(['[fold]', '[call]']);
      expect(() => game.apply(s, RAISE)).toThrow(IllegalActionError);
    }
  });

  it('parses the texts of legal actions', () => {
    const open = play(K, J);
    expect(game.parseAction(open, 'I think I will [bet]')).toBe(RAISE);
    expect(game.parseAction(open, '\\boxed{check}')).toBe(CALL);
    expect(() => game.parseAction(open, '[fold]')).toThrow();
    expect(game.parseAction(play(K, J, RAISE), '[Raise]')).toBe(RAISE);
  });
});

describe('leduc-poker chance and legality', () => {
  it('deals uniformly from the cards left', () => {
    const probs = (s: LeducState) => game.chanceOutcomes(s).map((o) => o.probability);
    expect(game.chanceOutcomes(game.initial()).map((o) => o.action)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(probs(game.initial())).toEqual(Array(6).fill(1 / 6));
    expect(game.chanceOutcomes(play(K)).map((o) => o.action)).toEqual([0, 1, 2, 3, 5]);
    expect(probs(play(K))).toEqual(Array(5).fill(1 / 5));
    const board = play(K, J, CALL, CALL);
    expect(game.legalActions(board)).toEqual([1, 2, 3, 5]);
    expect(probs(board)).toEqual(Array(4).fill(1 / 4));
    expect(game.chanceOutcomes(play(K, J))).toEqual([]);
  });

  it('rejects cards already dealt, non-cards, and bad betting actions', () => {
    expect(() => play(K, K)).toThrow(IllegalActionError);
    expect(() => play(K, J, CALL, CALL, J)).toThrow(IllegalActionError);
    expect(() => play(6)).toThrow(IllegalActionError);
    expect(() => play(-1)).toThrow(IllegalActionError);
    expect(() => play(1.5)).toThrow(IllegalActionError);
    expect(() => game.apply(game.initial(), '1' as unknown as number)).toThrow(IllegalActionError);
    expect(() => play(K, J, 3)).toThrow(IllegalActionError);
    expect(() => play(K, J, 1.5)).toThrow(IllegalActionError);
  });

  it('rejects any action after the end', () => {
    for (const s of [play(K, J, RAISE, FOLD), play(K, J, CALL, CALL, Q, CALL, CALL)]) {
      expect(game.legalActions(s)).toEqual([]);
      for (const action of [FOLD, CALL, RAISE, 5]) expect(() => game.apply(s, action)).toThrow(IllegalActionError);
    }
  });

  it('rejects unknown parameters', () => {
    expect(() => leducPoker({ raise: 3 })).toThrow(ConfigError);
  });
});

describe('leduc-poker information', () => {
  it('hides the opponent card from observations and information states', () => {
    // Seat 1 holds J or Q: seat 0 sees the same thing either way, seat 1 does not.
    for (const rest of [[], [RAISE], [CALL, CALL, K2, RAISE]]) {
      const a = play(K, J, ...rest);
      const b = play(K, Q, ...rest);
      expect(game.observe(a, 0)).toEqual(game.observe(b, 0));
      expect(game.observationText(a, 0)).toEqual(game.observationText(b, 0));
      expect(game.infoKey(a, 0)).toBe(game.infoKey(b, 0));
      expect(game.infoKey(a, 1)).not.toBe(game.infoKey(b, 1));
      expect(JSON.stringify(game.observe(a, 0))).not.toContain('J');
    }
  });

  it('shows the public card, the betting and the pot', () => {
    const s = play(K, J, RAISE, CALL, Q, CALL, RAISE);
    expect(game.observe(s, 0)).toMatchObject({
      card: 'K♠',
      publicCard: 'Q♠',
      round: 2,
      betting: [['bet', 'call'], ['check', 'bet']],
      contributed: 3,
      opponentContributed: 7,
      pot: 10,
      toMove: 0,
      opponentCard: null,
      won: null,
    });
    const text = game.observationText(s, 0);
    expect(text).toContain('Your card: K♠');
    expect(text).toContain('Public card: Q♠');
    expect(text).toContain('Round 2: Player 0 check, Player 1 bet');
    expect(text).toContain('Your move.');
  });

  it('reveals the opponent card at a showdown but not after a fold', () => {
    const shown = play(K, J, CALL, CALL, Q, CALL, CALL);
    expect(game.observe(shown, 0)).toMatchObject({ opponentCard: 'J♠', won: 1 });
    expect(game.observe(shown, 1)).toMatchObject({ opponentCard: 'K♠', won: -1 });
    const folded = play(K, J, CALL, CALL, Q, RAISE, FOLD);
    expect(game.observe(folded, 1)).toMatchObject({ opponentCard: null, won: -1 });
    expect(game.observationText(folded, 1)).not.toContain('K');
  });

  it('has perfect recall: equal pots reached by different betting are different information states', () => {
    const a = play(K, J, RAISE, CALL, Q); // bet, call
    const b = play(K, J, CALL, RAISE, CALL, Q); // check, bet, call
    expect(game.observe(a, 0)).toMatchObject({ pot: 6 });
    expect(game.observe(b, 0)).toMatchObject({ pot: 6 });
    expect(game.infoKey(a, 0)).not.toBe(game.infoKey(b, 0));
  });

  it('has 936 information states, as OpenSpiel counts them', () => {
    const counts = enumerate(game);
    expect(counts.infoStates).toBe(936);
    expect(counts.infoStatesPerSeat).toEqual([468, 468]);
  });
});

describe('leduc-poker invariants', () => {
  it('declares its longest history and its returns range exactly', () => {
    let longest = 0;
    let low = Infinity;
    let high = -Infinity;
    walkTree(game, (s, turn) => {
      longest = Math.max(longest, game.history(s).length);
      if (turn !== 'terminal') return;
      const [r0, r1] = game.returns(s);
      expect(r0 + r1).toBe(0);
      low = Math.min(low, r0);
      high = Math.max(high, r0);
    });
    expect(longest).toBe(11);
    expect(game.maxLength).toBe(11);
    expect([low, high]).toEqual([-13, 13]);
    expect(game.returnRange).toEqual([-13, 13]);
  });

  it('plays random games to a zero-sum end without mutating any state', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { minLength: game.maxLength, maxLength: game.maxLength }), (choices) => {
        let s = deepFreeze(game.initial());
        for (const choice of choices) {
          if (game.turn(s) === 'terminal') break;
          const legal = game.legalActions(s);
          const before = JSON.stringify(s);
          const next = game.apply(s, legal[choice % legal.length]);
          expect(JSON.stringify(s)).toBe(before);
          s = deepFreeze(next);
        }
        expect(game.turn(s)).toBe('terminal');
        const [r0, r1] = game.returns(s);
        expect(r0 + r1).toBe(0);
        expect(r0).toBeGreaterThanOrEqual(game.returnRange[0]);
        expect(r0).toBeLessThanOrEqual(game.returnRange[1]);
        expect(game.stateKey(replay(game, game.history(s)))).toBe(game.stateKey(s));
      }),
      { numRuns: 500 },
    );
  });

  it('gives distinct texts to the legal actions of every decision', () => {
    walkTree(game, (s, turn) => {
      if (typeof turn === 'number') expect(new Set(texts(s)).size).toBe(game.legalActions(s).length);
    });
  });
});
