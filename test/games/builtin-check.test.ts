import { describe, expect, it } from 'vitest';
import { checkGame } from '../../src/check/index.ts';
import { builtinGames, createGame } from '../../games/index.ts';

describe('every built-in game passes the rule checker', () => {
  it.each(Object.keys(builtinGames))('%s', (id) => {
    expect(checkGame(createGame(id), { runs: 100, seed: 7 }).ok).toBe(true);
  });

  it.each(['kuhn-poker:hands=4', 'kuhn-poker:hands=3,scoring=chips'])('%s', (spec) => {
    expect(checkGame(createGame(spec), { runs: 100, seed: 7 }).ok).toBe(true);
  });
});
