import { describe, expect, it } from 'vitest';
import { IllegalActionError, replay } from '../../src/core/index.ts';
import { enumerate } from '../../src/analysis/enumerate.ts';
import { kuhnPoker } from '../../games/index.ts';

const J = 0, Q = 1, K = 2, PASS = 0, BET = 1;

describe('kuhn-poker, one hand (OpenSpiel scoring: chips won)', () => {
  const game = kuhnPoker();

  it('has the tree of REFERENCE.md: 4 chance, 24 decision, 30 terminal nodes, 12 information states', () => {
    const counts = enumerate(game);
    expect([counts.chance, counts.decision, counts.terminal, counts.infoStates]).toEqual([4, 24, 30, 12]);
  });

  it.each([
    ['check-check, higher card wins 1', [K, J, PASS, PASS], [1, -1]],
    ['check-check, lower card loses 1', [J, Q, PASS, PASS], [-1, 1]],
    ['bet-fold gives the bettor 1', [J, K, BET, PASS], [1, -1]],
    ['bet-call showdown for 2', [Q, K, BET, BET], [-2, 2]],
    ['check-bet-fold gives the second player 1', [K, Q, PASS, BET, PASS], [-1, 1]],
    ['check-bet-call showdown for 2', [K, Q, PASS, BET, BET], [2, -2]],
  ])('%s', (_name, history, expected) => {
    const s = replay(game, history);
    expect(game.turn(s)).toBe('terminal');
    expect(game.returns(s)).toEqual(expected);
  });

  it('names actions by situation', () => {
    const dealt = replay(game, [K, J]);
    expect(game.legalActions(dealt).map((a) => game.actionText(dealt, a))).toEqual(['[check]', '[bet]']);
    const facing = replay(game, [K, J, BET]);
    expect(game.legalActions(facing).map((a) => game.actionText(facing, a))).toEqual(['[fold]', '[call]']);
    expect(game.parseAction(facing, 'I have the jack, so \\boxed{fold}')).toBe(PASS);
  });

  it('deals without replacement with uniform probabilities', () => {
    expect(game.chanceOutcomes(game.initial()).map((o) => o.probability)).toEqual([1 / 3, 1 / 3, 1 / 3]);
    const after = replay(game, [Q]);
    expect(game.chanceOutcomes(after)).toEqual([{ action: J, probability: 0.5 }, { action: K, probability: 0.5 }]);
    expect(() => game.apply(after, Q)).toThrow(IllegalActionError);
  });

  it('hides the opponent card until a showdown', () => {
    const a = replay(game, [K, J, PASS]);
    const b = replay(game, [K, Q, PASS]);
    expect(game.infoKey(a, 0)).toBe(game.infoKey(b, 0));
    expect(game.observe(a, 0)).toEqual(game.observe(b, 0));
    expect(game.observationText(a, 1)).not.toContain('K');
    expect(game.observationText(replay(game, [K, J, BET, BET]), 1)).toContain('opponent had K');
    expect(game.observationText(replay(game, [K, J, BET, PASS]), 0)).not.toContain('opponent had');
  });
});

describe('kuhn-poker match of several hands (SPIRAL, with its two bugs fixed)', () => {
  it('alternates the first player and moves real chips into the pot', () => {
    const game = kuhnPoker({ hands: 2 });
    // Hand 1: seat 0 first, bet-call with K vs J: seat 0 wins 2 (pot 4, not 2).
    const afterHand1 = replay(game, [K, J, BET, BET]);
    expect(afterHand1.net).toBe(2);
    expect(game.turn(afterHand1)).toBe('chance');
    // Hand 2: seat 1 acts first.
    const hand2 = replay(game, [K, J, BET, BET, Q, J]);
    expect(game.turn(hand2)).toBe(1);
    expect(game.observationText(hand2, 1)).toContain('Hand 2 of 2 (Player 1 acts first)');
  });

  it('declares the player with more chips the winner, not the winner of the last hand', () => {
    const game = kuhnPoker({ hands: 2 });
    // Seat 0 wins 2 in hand 1, loses 1 in hand 2 (folds to seat 1's bet): +1 overall.
    const end = replay(game, [K, J, BET, BET, J, Q, BET, PASS]);
    expect(game.turn(end)).toBe('terminal');
    expect(end.net).toBe(1);
    expect(game.returns(end)).toEqual([1, -1]);
  });

  it('scores equal chips as a draw, and can report chips instead', () => {
    const even = [K, J, PASS, PASS, J, K, PASS, PASS]; // seat 0 wins 1 with K, then loses 1 with J
    expect(kuhnPoker({ hands: 2 }).returns(replay(kuhnPoker({ hands: 2 }), even))).toEqual([0, 0]);
    const chips = kuhnPoker({ hands: 2, scoring: 'chips' });
    expect(chips.returns(replay(chips, [K, J, BET, BET, J, Q, BET, PASS]))).toEqual([1, -1]);
  });

  it('remembers earlier hands in information states', () => {
    const game = kuhnPoker({ hands: 2 });
    const a = replay(game, [K, J, BET, BET, Q, J]);
    const b = replay(game, [K, Q, BET, BET, Q, J]);
    expect(game.infoKey(a, 1)).not.toBe(game.infoKey(b, 1));
  });
});
