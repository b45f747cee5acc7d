import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, IllegalActionError, parseParams, parseSpec, randomPlayout, replay, restoreState, Rng, serializeState, type Game } from '../../src/core/index.ts';
import { kuhnPoker, ticTacToe } from '../../games/index.ts';

describe('parseSpec', () => {
  it('reads kind and options', () => {
    expect(parseSpec('kuhn-poker')).toEqual({ kind: 'kuhn-poker', options: {} });
    expect(parseSpec('mcts:iterations=500, c=1.4')).toEqual({ kind: 'mcts', options: { iterations: '500', c: '1.4' } });
  });

  it('rejects malformed specs with the offending part named', () => {
    expect(() => parseSpec('')).toThrow(ConfigError);
    expect(() => parseSpec('mcts:iterations')).toThrow(/"iterations" in "mcts:iterations" is not key=value/);
    expect(() => parseSpec('mcts:a=1,a=2')).toThrow(/given twice/);
  });
});

describe('parseParams', () => {
  const schema = z.object({ hands: z.coerce.number().int().min(1).default(1) }).strict();
  it('coerces strings and applies defaults', () => {
    expect(parseParams('g', schema, { hands: '3' })).toEqual({ hands: 3 });
    expect(parseParams('g', schema, {})).toEqual({ hands: 1 });
  });
  it('names the game and the bad parameter', () => {
    expect(() => parseParams('g', schema, { hands: '0' })).toThrow(/g: bad parameters \(hands: /);
    expect(() => parseParams('g', schema, { colour: 'red' })).toThrow(ConfigError);
    expect(() => kuhnPoker({ hands: 'many' })).toThrow(/kuhn-poker: bad parameters/);
  });
});

describe('serialisation as the action history', () => {
  it('round-trips random states of every kind through JSON', () => {
    for (const game of [ticTacToe(), kuhnPoker(), kuhnPoker({ hands: 4 })] as Game[]) {
      const rng = new Rng(9);
      for (let i = 0; i < 50; i++) {
        const end = randomPlayout(game, rng);
        const data = JSON.parse(JSON.stringify(serializeState(game, end)));
        const back = restoreState(game, data);
        expect(game.history(back)).toEqual(game.history(end));
        expect(game.returns(back)).toEqual(game.returns(end));
      }
    }
  });

  it('refuses a state of another game or other parameters, or a broken history', () => {
    const kuhn = kuhnPoker();
    const data = serializeState(kuhn, replay(kuhn, [0, 1]));
    expect(() => restoreState(ticTacToe(), data)).toThrow(/belongs to game "kuhn-poker", not "tic-tac-toe"/);
    expect(() => restoreState(kuhnPoker({ hands: 2 }), data)).toThrow(/made with parameters/);
    expect(() => restoreState(kuhn, { ...data, history: [0, 0] })).toThrow(IllegalActionError);
    expect(() => restoreState(kuhn, { ...data, history: [0, 0] })).toThrow(/history step 1/);
    expect(() => restoreState(kuhn, null as never)).toThrow(ConfigError);
  });
});
