import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nim, type NimAction, type NimState } from '../../games/nim/index.ts';
import { ConfigError, IllegalActionError, ParseError, randomPlayout, replay, Rng, walkTree } from '../../src/core/index.ts';

const game = nim();
const take = (heap: number, n: number): NimAction => ({ heap, take: n });
const xor = (heaps: readonly number[]) => heaps.reduce((x, n) => x ^ n, 0);

/** Whether the player to move wins with best play, by brute force (no theory). */
function moverWins(g: typeof game, s: NimState, memo = new Map<string, boolean>()): boolean {
  if (g.turn(s) === 'terminal') return false; // the opponent took the last object
  const key = g.stateKey(s);
  let wins = memo.get(key);
  if (wins === undefined) {
    wins = g.legalActions(s).some((a) => !moverWins(g, g.apply(s, a), memo));
    memo.set(key, wins);
  }
  return wins;
}

describe('nim rules', () => {
  it('defaults to heaps 3, 4, 5 with Player 0 to move', () => {
    const s = game.initial();
    expect(s.heaps).toEqual([3, 4, 5]);
    expect(game.params).toEqual({ heaps: '3,4,5' });
    expect(game.maxLength).toBe(12);
    expect(game.turn(s)).toBe(0);
    expect(game.perfectInformation).toBe(true);
    expect(game.legalActions(s)).toHaveLength(12);
    expect(game.legalActions(s).slice(0, 4)).toEqual([take(1, 1), take(1, 2), take(1, 3), take(2, 1)]);
  });

  it('gives the win to whoever takes the last object', () => {
    const g = nim({ heaps: '1,2' });
    // Player 0 empties heap 2, Player 1 takes the last object.
    const s = replay(g, [take(2, 2), take(1, 1)]);
    expect(s.heaps).toEqual([0, 0]);
    expect(g.turn(s)).toBe('terminal');
    expect(g.returns(s)).toEqual([-1, 1]);
    expect(g.observationText(s, 1)).toContain('you won');
    // Player 0 takes 1 from heap 2 (leaving 1 and 1, XOR 0) and wins.
    const t = replay(g, [take(2, 1), take(1, 1), take(2, 1)]);
    expect(g.returns(t)).toEqual([1, -1]);
  });

  it('plays a full game on 3, 4, 5 where Player 0 keeps the XOR at 0 and wins', () => {
    // 3^4^5 = 2: take 2 from heap 1 -> 1,4,5 (XOR 0).
    const moves = [take(1, 2), take(3, 5), take(2, 3), take(2, 1), take(1, 1)];
    let s = game.initial();
    const xors: number[] = [];
    for (const m of moves) {
      s = game.apply(s, m);
      xors.push(xor(s.heaps));
    }
    // 1,4,5 -> 1,4,0 -> 1,1,0 -> 1,0,0 -> 0,0,0: after Player 0's moves the XOR is 0, after Player 1's it is not.
    expect(xors).toEqual([0, 5, 0, 1, 0]);
    expect(s.heaps).toEqual([0, 0, 0]);
    expect(game.returns(s)).toEqual([1, -1]);
  });

  it('a position is won for the player to move exactly when the XOR of the heaps is not 0', () => {
    const memo = new Map<string, boolean>();
    let positions = 0;
    walkTree(
      game,
      (s) => {
        positions++;
        expect(moverWins(game, s, memo), s.heaps.join(',')).toBe(xor(s.heaps) !== 0);
      },
      { dedupe: 'state' },
    );
    // Heaps 0-3 x 0-4 x 0-5 with either player to move, less (0,0,0) with Player 0 to move
    // (an even number of objects is gone when Player 0 is to move; 12 is even).
    expect(positions).toBeGreaterThan(100);
  });

  it('from XOR 0 every move leads to XOR != 0; from XOR != 0 some move leads to XOR 0', () => {
    const heaps = fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 5 });
    fc.assert(
      fc.property(heaps, (sizes) => {
        const g = nim({ heaps: sizes.join(',') });
        const s = g.initial();
        const after = g.legalActions(s).map((a) => xor(g.apply(s, a).heaps));
        if (xor(sizes) === 0) expect(after.every((x) => x !== 0)).toBe(true);
        else expect(after.some((x) => x === 0)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('identifies positions by heap sizes and the player to move', () => {
    const a = replay(game, [take(1, 1), take(1, 1)]);
    const b = replay(game, [take(1, 2)]);
    const c = replay(game, [take(1, 1), take(2, 1)]);
    expect(a.heaps).toEqual(b.heaps);
    expect(game.stateKey(a)).not.toBe(game.stateKey(b)); // same heaps, other player to move
    expect(game.stateKey(replay(game, [take(2, 1), take(1, 1)]))).toBe(game.stateKey(c));
  });
});

describe('nim illegal actions and purity', () => {
  it('throws IllegalActionError for moves that are not legal', () => {
    const s = game.initial();
    for (const bad of [take(1, 0), take(1, 4), take(0, 1), take(4, 1), take(1, 1.5), take(-1, 1), { heap: 1 }, { heap: 1, take: 1, note: 'x' }, null, 1]) {
      expect(() => game.apply(s, bad as NimAction), JSON.stringify(bad)).toThrow(IllegalActionError);
    }
    const end = replay(nim({ heaps: '1' }), [take(1, 1)]);
    expect(() => nim({ heaps: '1' }).apply(end, take(1, 1))).toThrow('the game is over');
  });

  it('random playouts end within maxLength with returns +1/-1', () => {
    for (const heaps of ['3,4,5', '1', '7', '1,1,1,1', '10,20,30']) {
      const g = nim({ heaps });
      const rng = new Rng(heaps);
      for (let i = 0; i < 200; i++) {
        const s = randomPlayout(g, rng);
        expect(g.history(s).length).toBeLessThanOrEqual(g.maxLength);
        const r = g.returns(s);
        expect(r[0] + r[1]).toBe(0);
        expect(Math.abs(r[0])).toBe(1);
      }
    }
  });
});

describe('nim text and parameters', () => {
  it('writes and reads moves as [take N from heap H], heaps counted from 1', () => {
    const s = game.initial();
    expect(game.actionText(s, take(1, 2))).toBe('[take 2 from heap 1]');
    for (const a of game.legalActions(s)) expect(game.parseAction(s, `I will ${game.actionText(s, a)}.`)).toEqual(a);
    expect(game.parseAction(s, '[TAKE  2   from HEAP 1]')).toEqual(take(1, 2));
    expect(game.parseAction(s, 'So \\boxed{take 5 from heap 3}')).toEqual(take(3, 5));
    expect(() => game.parseAction(s, '[take 9 from heap 1]')).toThrow(ParseError);
    expect(() => game.parseAction(s, 'no idea')).toThrow(ParseError);
    expect(new Set(game.legalActions(s).map((a) => game.actionText(s, a))).size).toBe(12);
  });

  it('explains the game and shows the heaps', () => {
    expect(game.rules(1)).toContain('Player 1');
    expect(game.rules(1)).toContain('[take 2 from heap 1]');
    expect(game.rules(1)).toContain('last object wins');
    const text = game.observationText(game.apply(game.initial(), take(3, 2)), 1);
    expect(text).toContain('heap 1: 3 |||');
    expect(text).toContain('heap 3: 3 |||');
    expect(text).toContain('Your move.');
  });

  it('reads heaps as a comma list', () => {
    expect(nim({ heaps: '1, 3, 5' }).initial().heaps).toEqual([1, 3, 5]);
    expect(nim({ heaps: '1, 3, 5' }).params).toEqual({ heaps: '1,3,5' });
    expect(nim({ heaps: 7 }).initial().heaps).toEqual([7]);
    expect(nim({ heaps: '2,2' }).maxLength).toBe(4);
    for (const heaps of ['', '0,3', '3,,4', 'a,b', '-1', '1000', 3.5]) {
      expect(() => nim({ heaps }), String(heaps)).toThrow(ConfigError);
    }
    expect(() => nim({ piles: '3' })).toThrow(ConfigError);
  });
});
