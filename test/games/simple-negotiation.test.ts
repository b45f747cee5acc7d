import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  simpleNegotiation,
  valueOf,
  type NegotiationAction,
  type NegotiationState,
} from '../../games/simple-negotiation/index.ts';
import { ConfigError, IllegalActionError, isLegal, ParseError, randomPlayout, replay, Rng } from '../../src/core/index.ts';

const game = simpleNegotiation();
const offer = (give: { wood?: number; gold?: number }, receive: { wood?: number; gold?: number }): NegotiationAction => ({
  type: 'offer',
  give: { wood: give.wood ?? 0, gold: give.gold ?? 0 },
  receive: { wood: receive.wood ?? 0, gold: receive.gold ?? 0 },
});
const ACCEPT: NegotiationAction = { type: 'accept' };
const DENY: NegotiationAction = { type: 'deny' };
/** Plays replies written as a model would write them, through the game's own parser. */
function say(g: typeof game, ...replies: string[]): NegotiationState {
  let s = g.initial();
  for (const reply of replies) s = g.apply(s, g.parseAction(s, reply));
  return s;
}
const texts = (s: NegotiationState) => game.legalActions(s).map((a) => game.actionText(s, a));

/** A state reached by `steps` uniformly random legal actions (fewer if the game ends). */
function randomState(seed: number, steps: number): NegotiationState {
  const rng = new Rng(seed);
  let s = game.initial();
  for (let i = 0; i < steps && game.turn(s) !== 'terminal'; i++) {
    const legal = game.legalActions(s);
    s = game.apply(s, legal[rng.int(legal.length)]);
  }
  return s;
}

describe('simple-negotiation setup', () => {
  it('starts with 10 Wood and 10 Gold each, worth 200 to both players', () => {
    const s = game.initial();
    expect(s.inventories).toEqual([{ wood: 10, gold: 10 }, { wood: 10, gold: 10 }]);
    expect(valueOf(s.inventories[0], 0)).toBe(10 * 5 + 10 * 15);
    expect(valueOf(s.inventories[1], 1)).toBe(10 * 15 + 10 * 5);
    expect(game.turn(s)).toBe(0);
    expect(game.maxLength).toBe(10);
    expect(game.params).toEqual({ turns: 10 });
    expect(game.utility).toBe('zero-sum');
    expect(game.returnRange).toEqual([-1, 1]);
  });

  it('offers n Wood for m Gold and n Gold for m Wood, 1 to 10 each, and nothing to answer at first', () => {
    const s = game.initial();
    const legal = game.legalActions(s);
    expect(legal).toHaveLength(200);
    expect(legal[0]).toEqual(offer({ wood: 1 }, { gold: 1 }));
    expect(legal[1]).toEqual(offer({ wood: 1 }, { gold: 2 }));
    expect(legal[100]).toEqual(offer({ gold: 1 }, { wood: 1 }));
    expect(legal.some((a) => a.type !== 'offer')).toBe(false);
    expect(texts(s).slice(0, 2)).toEqual(['[Offer: 1 Wood -> 1 Gold]', '[Offer: 1 Wood -> 2 Gold]']);
  });

  it('puts [Accept] and [Deny] first when an offer is pending', () => {
    const s = say(game, '[Offer: 3 Wood -> 2 Gold]');
    expect(game.turn(s)).toBe(1);
    expect(game.legalActions(s).slice(0, 2)).toEqual([ACCEPT, DENY]);
    expect(game.legalActions(s)).toHaveLength(202);
  });

  it('lists legal actions in a stable order, without duplicates, with distinct texts', () => {
    for (let seed = 0; seed < 30; seed++) {
      const s = randomState(seed, seed % 10);
      if (game.turn(s) === 'terminal') continue;
      const legal = game.legalActions(s);
      expect(game.legalActions(s)).toEqual(legal);
      expect(new Set(legal.map((a) => JSON.stringify(a))).size).toBe(legal.length);
      expect(new Set(texts(s)).size).toBe(legal.length);
    }
  });

  it('reads its parameters', () => {
    expect(simpleNegotiation({ turns: '4' }).maxLength).toBe(4);
    expect(simpleNegotiation({ turns: 3 }).params).toEqual({ turns: 3 });
    expect(() => simpleNegotiation({ turns: 0 })).toThrow(ConfigError);
    expect(() => simpleNegotiation({ turns: 'ten' })).toThrow(ConfigError);
    expect(() => simpleNegotiation({ turns: 2.5 })).toThrow(ConfigError);
    expect(() => simpleNegotiation({ rounds: 3 })).toThrow(ConfigError);
  });
});

describe('simple-negotiation scripted games', () => {
  it('plays a full game of offers, accepts, a deny and a counter-offer, and scores it by hand', () => {
    let s = game.initial();
    const step = (reply: string) => {
      s = game.apply(s, game.parseAction(s, reply));
      return s;
    };
    // Turn 1, Player 0 offers 3 Wood for 2 Gold; turn 2, Player 1 accepts.
    step('Let me start. [Offer: 3 Wood -> 2 Gold]');
    step('Deal! [Accept]');
    expect(s.inventories).toEqual([{ wood: 7, gold: 12 }, { wood: 13, gold: 8 }]);
    expect(valueOf(s.inventories[0], 0)).toBe(7 * 5 + 12 * 15); // 215: +15
    expect(valueOf(s.inventories[1], 1)).toBe(13 * 15 + 8 * 5); // 235: +35
    // Turns 3-4: an offer, denied; nothing changes.
    step('[Offer: 1 Gold -> 4 Wood]');
    step('No way. [Deny]');
    expect(s.inventories).toEqual([{ wood: 7, gold: 12 }, { wood: 13, gold: 8 }]);
    expect(() => game.apply(s, ACCEPT)).toThrow(IllegalActionError); // the denied offer is gone
    // Turns 5-7: Player 1 answers an offer with a counter-offer, which Player 0 accepts.
    step('[Offer: 2 Wood -> 2 Gold]');
    step('I would rather [Offer: 1 Gold -> 1 Wood]');
    step('\\boxed{Accept}');
    expect(s.inventories).toEqual([{ wood: 6, gold: 13 }, { wood: 14, gold: 7 }]);
    // Turns 8-9: Player 1 gives 4 Wood for 1 Gold.
    step('[Offer: 4 Wood -> 1 Gold]');
    step('[accept]');
    expect(s.inventories).toEqual([{ wood: 10, gold: 12 }, { wood: 10, gold: 8 }]);
    // Turn 10: the last offer lapses unanswered.
    step('[Offer: 1 Gold -> 1 Wood]');
    expect(game.turn(s)).toBe('terminal');
    expect(game.legalActions(s)).toEqual([]);
    expect(s.inventories).toEqual([{ wood: 10, gold: 12 }, { wood: 10, gold: 8 }]);
    // Player 0: 10*5 + 12*15 = 230 (+30); Player 1: 10*15 + 8*5 = 190 (-10). Player 0 wins.
    expect(valueOf(s.inventories[0], 0)).toBe(230);
    expect(valueOf(s.inventories[1], 1)).toBe(190);
    expect(game.returns(s)).toEqual([1, -1]);
    expect(game.observationText(s, 0)).toContain('You won.');
    expect(game.observationText(s, 1)).toContain('You lost.');
    expect(replay(game, game.history(s)).inventories).toEqual(s.inventories);
  });

  it('gives the win to the bigger gain, not to any gain: 3 Wood for 2 Gold favours Player 1', () => {
    const g = simpleNegotiation({ turns: 2 });
    const s = say(g, '[Offer: 3 Wood -> 2 Gold]', '[Accept]');
    expect(g.turn(s)).toBe('terminal');
    // Player 0 gains 15 (215), Player 1 gains 35 (235).
    expect(g.returns(s)).toEqual([-1, 1]);
  });

  it('scores equal growth as a draw', () => {
    const g = simpleNegotiation({ turns: 2 });
    // 1 Wood for 1 Gold: 9 Wood 11 Gold = 210 for Player 0, 11 Wood 9 Gold = 210 for Player 1.
    expect(g.returns(say(g, '[Offer: 1 Wood -> 1 Gold]', '[Accept]'))).toEqual([0, 0]);
    expect(g.returns(say(g, '[Offer: 1 Wood -> 1 Gold]', '[Deny]'))).toEqual([0, 0]);
    // With no trade at all nobody gains.
    expect(g.returns(say(g, '[Offer: 1 Wood -> 9 Gold]', '[Offer: 1 Wood -> 9 Gold]'))).toEqual([0, 0]);
  });

  it('counts turns of both players: an odd limit gives Player 0 the extra turn', () => {
    const g = simpleNegotiation({ turns: 3 });
    const s = say(g, '[Offer: 1 Wood -> 1 Gold]', '[Deny]', '[Offer: 2 Wood -> 5 Gold]');
    expect(g.turn(s)).toBe('terminal');
    expect(g.returns(s)).toEqual([0, 0]);
    expect(g.rules(0)).toContain('you have 2 turns');
    expect(g.rules(1)).toContain('you have 1 turn.');
  });
});

describe('simple-negotiation illegal actions', () => {
  it('refuses an offer of goods the player does not hold, saying what it holds', () => {
    const s = game.initial();
    expect(() => game.apply(s, offer({ wood: 11 }, { gold: 1 }))).toThrow(IllegalActionError);
    expect(() => game.apply(s, offer({ wood: 11 }, { gold: 1 }))).toThrow('you hold 10 Wood, 10 Gold');
    const later = say(game, '[Offer: 3 Wood -> 2 Gold]', '[Accept]', '[Offer: 1 Gold -> 1 Wood]');
    // Player 1 now holds 13 Wood and 8 Gold.
    expect(() => game.apply(later, offer({ gold: 9 }, { wood: 1 }))).toThrow('you cannot give 9 Gold: you hold 13 Wood, 8 Gold');
  });

  it('refuses to ask for more than the opponent holds, so an accepted offer always executes', () => {
    const s = say(game, '[Offer: 3 Wood -> 2 Gold]', '[Accept]');
    // Player 0 to move; Player 1 holds 13 Wood and 8 Gold.
    expect(() => game.apply(s, offer({ wood: 1 }, { gold: 9 }))).toThrow('your opponent holds 13 Wood, 8 Gold');
    const ok = game.apply(s, offer({ wood: 1 }, { gold: 8 }));
    expect(game.apply(ok, ACCEPT).inventories).toEqual([{ wood: 6, gold: 20 }, { wood: 14, gold: 0 }]);
  });

  it('refuses [Accept] and [Deny] with no offer pending', () => {
    expect(() => game.apply(game.initial(), ACCEPT)).toThrow(IllegalActionError);
    expect(() => game.apply(game.initial(), DENY)).toThrow('there is no offer to deny');
    const afterDeny = say(game, '[Offer: 1 Wood -> 1 Gold]', '[Deny]');
    expect(() => game.apply(afterDeny, ACCEPT)).toThrow('there is no offer to accept');
    const afterTrade = say(game, '[Offer: 1 Wood -> 1 Gold]', '[Accept]');
    expect(() => game.apply(afterTrade, DENY)).toThrow(IllegalActionError);
  });

  it('refuses empty, one-sided, two-sided and malformed offers', () => {
    const s = game.initial();
    const bad: unknown[] = [
      offer({}, { gold: 1 }),
      offer({ wood: 1 }, {}),
      offer({ wood: 3, gold: 1 }, { gold: 2 }), // Gold on both sides
      offer({ wood: 3 }, { wood: 1, gold: 1 }),
      offer({ wood: -1 }, { gold: 1 }),
      offer({ wood: 1.5 }, { gold: 1 }),
      { type: 'offer', give: { wood: '1', gold: 0 }, receive: { wood: 0, gold: 1 } },
      { type: 'offer', give: { wood: 1 }, receive: { wood: 0, gold: 1 } },
      { type: 'offer', give: { wood: 1, gold: 0, sheep: 1 }, receive: { wood: 0, gold: 1 } },
      { type: 'offer', give: { wood: 1, gold: 0 }, receive: { wood: 0, gold: 1 }, note: 'hi' },
      { type: 'accept', please: true },
      { type: 'pass' },
      'accept',
      '[Accept]',
      7,
      null,
      undefined,
      [],
    ];
    for (const action of bad) {
      expect(() => game.apply(s, action as NegotiationAction), JSON.stringify(action)).toThrow(IllegalActionError);
      expect(isLegal(game, s, action as NegotiationAction)).toBe(false);
    }
    expect(() => game.apply(s, offer({ wood: 3, gold: 1 }, { gold: 2 }))).toThrow('Gold is on both sides');
  });

  it('refuses any action once the game is over', () => {
    const g = simpleNegotiation({ turns: 1 });
    const s = say(g, '[Offer: 1 Wood -> 1 Gold]');
    expect(g.turn(s)).toBe('terminal');
    expect(() => g.apply(s, ACCEPT)).toThrow('the game is over');
  });

  it('throws IllegalActionError exactly for the actions legalActions leaves out', () => {
    const amount = fc.integer({ min: 0, max: 14 });
    // Plain objects only: core's sameAction (isDeepStrictEqual) tells null-prototype objects apart.
    const plain = { noNullPrototype: true };
    const bundle = fc.record({ wood: amount, gold: amount }, plain);
    const action: fc.Arbitrary<NegotiationAction> = fc.oneof(
      fc.constant(ACCEPT),
      fc.constant(DENY),
      fc.record({ type: fc.constant('offer' as const), give: bundle, receive: bundle }, plain),
    );
    fc.assert(
      fc.property(fc.nat(1000), fc.integer({ min: 0, max: 10 }), action, (seed, steps, a) => {
        const s = randomState(seed, steps);
        const legal = isLegal(game, s, a);
        let threw: unknown = null;
        try {
          game.apply(s, a);
        } catch (error) {
          threw = error;
        }
        if (legal) expect(threw).toBe(null);
        else expect(threw).toBeInstanceOf(IllegalActionError);
      }),
      { numRuns: 500 },
    );
  });
});

describe('simple-negotiation purity and playouts', () => {
  it('random playouts end within maxLength with returns in range summing to 0', () => {
    for (const turns of [1, 2, 5, 10, 25]) {
      const g = simpleNegotiation({ turns });
      const rng = new Rng(turns);
      for (let i = 0; i < 200; i++) {
        const s = randomPlayout(g, rng);
        expect(g.history(s).length).toBe(turns);
        expect(g.history(s).length).toBeLessThanOrEqual(g.maxLength);
        const r = g.returns(s);
        expect(r[0] + r[1]).toBe(0);
        for (const x of r) expect([-1, 0, 1]).toContain(x);
        // Trades only move goods: 20 Wood and 20 Gold in all, nobody below zero.
        expect(s.inventories[0].wood + s.inventories[1].wood).toBe(20);
        expect(s.inventories[0].gold + s.inventories[1].gold).toBe(20);
        for (const inv of s.inventories) expect(Math.min(inv.wood, inv.gold)).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('identifies positions by turn, inventories and pending offer', () => {
    const a = say(game, '[Offer: 1 Wood -> 1 Gold]', '[Deny]');
    const b = say(game, '[Offer: 5 Gold -> 2 Wood]', '[Offer: 1 Wood -> 9 Gold]', '[Offer: 2 Wood -> 2 Gold]', '[Deny]');
    const c = say(game, '[Offer: 5 Gold -> 2 Wood]', '[Offer: 1 Wood -> 9 Gold]');
    expect(game.stateKey(a)).not.toBe(game.stateKey(b)); // different turn
    expect(game.stateKey(say(game, '[Offer: 2 Wood -> 2 Gold]', '[Deny]'))).toBe(game.stateKey(a));
    expect(game.stateKey(c)).not.toBe(game.stateKey(say(game, '[Offer: 5 Gold -> 2 Wood]', '[Offer: 1 Wood -> 8 Gold]')));
  });
});

describe('simple-negotiation text', () => {
  it('writes actions in the canonical form and reads them back', () => {
    for (let seed = 0; seed < 20; seed++) {
      const s = randomState(seed, seed % 10);
      if (game.turn(s) === 'terminal') continue;
      for (const action of game.legalActions(s)) {
        const text = game.actionText(s, action);
        expect(game.parseAction(s, text)).toEqual(action);
        expect(game.parseAction(s, `Thinking... so my move is ${text}. Good luck!`)).toEqual(action);
        expect(game.parseAction(s, `\\boxed{${text}}`)).toEqual(action);
      }
    }
  });

  it('reads many phrasings of the same offer', () => {
    const s = game.initial();
    const want = offer({ wood: 3 }, { gold: 2 });
    const phrasings = [
      '[Offer: 3 Wood -> 2 Gold]',
      '[offer: 3 wood -> 2 gold]',
      '[OFFER:3 WOOD->2 GOLD]',
      '[Offer:3wood->2gold]',
      '[  Offer :  3   Wood   ->   2   Gold  ]',
      '[Offer 3 Wood -> 2 Gold]',
      '[Offer: 3 Woods -> 2 Golds]',
      '[Offer: I give 3 Wood -> 2 Gold]',
      '[Offer: I offer 3 Wood -> 2 Gold.]',
      '[Offer: 3 Wood -> 2 Gold!!]',
      '[Offer: 3 Wood → 2 Gold]',
      '[Offer: 3 Wood => 2 Gold]',
      '[Offer: 1 Wood, 2 Wood -> 2 Gold]',
      '[Offer: 1 Wood and 2 Wood -> 1 Gold + 1 Gold]',
      '[Offer:\n3 Wood\n->\n2 Gold]',
      'Offer: 3 Wood -> 2 Gold',
      'I think wood is cheap for you. [Offer: 3 Wood -> 2 Gold] Let me know!',
      'First I considered [Offer: 9 Wood -> 1 Gold], but no.\nFinal answer: [Offer: 3 Wood -> 2 Gold]',
      '\\boxed{[Offer: 3 Wood -> 2 Gold]}',
      '\\boxed{Offer: 3 Wood -> 2 Gold}',
      'So: \\boxed{ [offer: 3 wood -> 2 gold] }',
      '[Offer: 3 Wood -> 2 Gold] What do you say? [smile]',
      '\\boxed{I propose [Offer: 3 Wood -> 2 Gold]}',
    ];
    for (const text of phrasings) expect(game.parseAction(s, text), text).toEqual(want);
  });

  it('reads several resources per side as the trade they amount to', () => {
    const s = game.initial();
    expect(game.parseAction(s, '[Offer: 3 Wood, 1 Gold -> 2 Gold]')).toEqual(offer({ wood: 3 }, { gold: 1 }));
    expect(game.parseAction(s, '[Offer: 2 Wood -> 1 Wood, 1 Gold]')).toEqual(offer({ wood: 1 }, { gold: 1 }));
    // Netting can leave a side empty; the parser still reads it, and apply refuses it.
    const gift = game.parseAction(s, '[Offer: 2 Wood, 1 Gold -> 1 Wood]');
    expect(gift).toEqual(offer({ wood: 1, gold: 1 }, {}));
    expect(() => game.apply(s, gift)).toThrow('must ask for something');
    expect(() => game.apply(s, game.parseAction(s, '[Offer: 2 Wood -> 2 Wood]'))).toThrow('must give something');
  });

  it('reads an offer of goods not held (apply refuses it, saying what the player holds)', () => {
    const s = game.initial();
    const a = game.parseAction(s, '[Offer: 15 Wood -> 1 Gold]');
    expect(a).toEqual(offer({ wood: 15 }, { gold: 1 }));
    expect(() => game.apply(s, a)).toThrow('you hold 10 Wood, 10 Gold');
  });

  it('reads [Accept] and [Deny] in many forms, the last command winning', () => {
    const s = say(game, '[Offer: 3 Wood -> 2 Gold]');
    const cases: [string, NegotiationAction][] = [
      ['[Accept]', ACCEPT],
      ['[accept]', ACCEPT],
      ['[ ACCEPT ]', ACCEPT],
      ['[Accept.]', ACCEPT],
      ['Accept', ACCEPT],
      ['Fair enough, I accept. [Accept]', ACCEPT],
      ['\\boxed{Accept}', ACCEPT],
      ['\\boxed{[Accept]}', ACCEPT],
      ['[Deny]', DENY],
      ['[deny!]', DENY],
      ['That is too little. [Deny]', DENY],
      ['\\boxed{deny}', DENY],
      ['[Accept] ... on second thought [Deny]', DENY],
      ['[Deny] but here is mine: [Offer: 1 Gold -> 1 Wood]', offer({ gold: 1 }, { wood: 1 })],
      ['[Accept] is what I would say if it were better. \\boxed{Deny}', DENY],
    ];
    for (const [text, want] of cases) expect(game.parseAction(s, text), text).toEqual(want);
  });

  it('reads accept even when nothing is pending (apply refuses it)', () => {
    const s = game.initial();
    expect(game.parseAction(s, '[Accept]')).toEqual(ACCEPT);
    expect(() => game.apply(s, game.parseAction(s, '[Accept]'))).toThrow(IllegalActionError);
  });

  it('throws a clear ParseError for unreadable replies', () => {
    const s = game.initial();
    const cases: [string, string][] = [
      ['', 'no action found'],
      ['I would like some gold please.', 'no action found'],
      ['[4]', 'no action found'],
      ['\\boxed{42}', 'your answer was "42"'],
      ['[Offer: three Wood -> 2 Gold]', 'could not read "three Wood"'],
      ['[Offer: 3 Wood 2 Gold]', 'one "->"'],
      ['[Offer: 3 Wood -> 2 Gold -> 1 Wood]', 'one "->"'],
      ['[Offer: 3 Sheep -> 2 Gold]', 'only Wood and Gold'],
      ['[Offer: 3 Wood -> ]', 'nothing to receive'],
      ['[Offer: -> 2 Gold]', 'nothing to give'],
      ['[Offer: 12345678901234567890 Wood -> 2 Gold]', 'too large'],
      ['[Accept the offer]', 'write [Accept] on its own'],
      ['[Deny it]', 'write [Deny] on its own'],
    ];
    for (const [text, message] of cases) {
      let error: unknown;
      try {
        game.parseAction(s, text);
      } catch (e) {
        error = e;
      }
      expect(error, text).toBeInstanceOf(ParseError);
      expect((error as Error).message, text).toContain(message);
    }
  });

  it('throws nothing but ParseError on arbitrary text', () => {
    const s = game.initial();
    const fragments = fc.constantFrom(
      '[', ']', '{', '}', '\\boxed{', 'Offer', 'offer:', 'Accept', 'deny', ':', '->', '→', '=>', '-', '>', ',', ' and ', '+', '&',
      '3', '0', '10', '99999999999', ' ', '\n', 'Wood', 'gold', 'Golds', 'Sheep', 'I give ', '.', '!', 'x',
    );
    const check = (text: string) => {
      try {
        const a = game.parseAction(s, text);
        expect(['offer', 'accept', 'deny']).toContain(a.type);
      } catch (error) {
        expect(error).toBeInstanceOf(ParseError);
      }
    };
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), check), { numRuns: 2000 });
    fc.assert(fc.property(fc.array(fragments, { maxLength: 30 }).map((parts) => parts.join('')), check), { numRuns: 3000 });
    expect(() => game.parseAction(s, 42 as unknown as string)).toThrow(ParseError);
  });

  it('explains the game and shows each seat its own values only', () => {
    for (const seat of [0, 1]) {
      const rules = game.rules(seat);
      expect(rules).toContain(`Player ${seat}`);
      expect(rules).toContain('[Offer: 3 Wood -> 2 Gold]');
      expect(rules).toContain('[Accept]');
      expect(rules).toContain('[Deny]');
      expect(rules).toContain('10 turns');
    }
    expect(game.rules(0)).toContain('Wood at 5 and each Gold at 15');
    expect(game.rules(1)).toContain('Wood at 15 and each Gold at 5');

    const s = say(game, '[Offer: 3 Wood -> 2 Gold]');
    const mine = game.observationText(s, 1);
    expect(mine).toContain('turn 2 of 10');
    expect(mine).toContain('Your inventory: 10 Wood, 10 Gold');
    expect(mine).toContain('Wood 15, Gold 5');
    expect(mine).toContain('Player 0 offers you 3 Wood in exchange for 2 Gold');
    expect(mine).toContain('Your move.');
    expect(mine).not.toContain('Wood 5, Gold 15');
    expect(game.observationText(s, 0)).toContain('Your offer is waiting for an answer');
    expect(game.observe(s, 1)).toMatchObject({
      seat: 1,
      toMove: 1,
      values: { wood: 15, gold: 5 },
      pendingOffer: { from: 0, give: { wood: 3, gold: 0 }, receive: { wood: 0, gold: 2 } },
    });
    expect(JSON.stringify(game.observe(s, 1))).not.toContain('"gold":15');
  });
});
