import { z } from 'zod';
import { append, defineGame, extractAnswer, IllegalActionError, ParseError, parseParams, type Game } from '../../src/core/index.ts';

/**
 * Simple negotiation, as SPIRAL plays it (TextArena's SimpleNegotiation with two
 * resources). Both players start with 10 Wood and 10 Gold; Player 0 values Wood 5
 * and Gold 15, Player 1 values Wood 15 and Gold 5. Players alternate, Player 0
 * first, for `turns` turns in total (both players' turns counted). On a turn a
 * player makes an offer, or answers the offer the opponent made on the turn
 * before with Accept (the trade happens at once) or Deny; a counter-offer denies
 * the pending offer. At the end each inventory is valued at its owner's prices and
 * the player whose value grew more wins (+1/-1); equal growth is a draw.
 *
 * Rules decided here (see the notes on `checkOffer` and `parseOffer`):
 * - an offer may give only what the player holds and ask only for what the
 *   opponent holds (both inventories follow from the public trades), so an
 *   accepted offer always executes;
 * - a resource appears on one side of an offer only: with two resources every
 *   legal offer is "n Wood -> m Gold" or "n Gold -> m Wood". The parser reads
 *   TextArena's fuller syntax (several resources per side) as its net effect.
 * - every turn is exactly one action; a reply that contains no action is a
 *   parse error, and with several commands in one reply the last one counts.
 */

export interface Bundle {
  readonly wood: number;
  readonly gold: number;
}

/** `give` and `receive` are seen from the player making the offer. */
export interface OfferAction {
  readonly type: 'offer';
  readonly give: Bundle;
  readonly receive: Bundle;
}
export type NegotiationAction = OfferAction | { readonly type: 'accept' } | { readonly type: 'deny' };

export interface NegotiationState {
  /** Every action so far; the offer pending, if any, is the last one. */
  readonly history: readonly NegotiationAction[];
  /** Inventories of Player 0 and Player 1. */
  readonly inventories: readonly [Bundle, Bundle];
}

export type NegotiationParams = { turns: number };

const RESOURCES = ['wood', 'gold'] as const;
type Resource = (typeof RESOURCES)[number];
const NAMES: Record<Resource, string> = { wood: 'Wood', gold: 'Gold' };
const START: Bundle = Object.freeze({ wood: 10, gold: 10 });
/** The most of one resource anyone can hold: both players' starting stock. */
const TOTAL = 2 * START.wood;
export const VALUES: readonly [Bundle, Bundle] = Object.freeze([
  Object.freeze({ wood: 5, gold: 15 }),
  Object.freeze({ wood: 15, gold: 5 }),
]);

const ACCEPT = Object.freeze({ type: 'accept' as const });
const DENY = Object.freeze({ type: 'deny' as const });
const bundleCache = new Map<string, Bundle>();
/** One frozen bundle per content, so that legal actions and histories share them. */
function bundle(wood: number, gold: number): Bundle {
  const key = `${wood},${gold}`;
  let b = bundleCache.get(key);
  if (!b) {
    b = Object.freeze({ wood, gold });
    if (wood <= TOTAL && gold <= TOTAL) bundleCache.set(key, b);
  }
  return b;
}
/** OFFERS.woodForGold[n][m]: give n Wood, receive m Gold (and the other way round). */
const OFFERS = {
  woodForGold: table((n, m) => ({ type: 'offer', give: bundle(n, 0), receive: bundle(0, m) })),
  goldForWood: table((n, m) => ({ type: 'offer', give: bundle(0, n), receive: bundle(m, 0) })),
};
function table(make: (n: number, m: number) => OfferAction): readonly (readonly OfferAction[])[] {
  return Array.from({ length: TOTAL + 1 }, (_, n) => Array.from({ length: TOTAL + 1 }, (_, m) => Object.freeze(make(n, m))));
}

const WIN = [Object.freeze([1, -1]), Object.freeze([-1, 1])];
const DRAW = Object.freeze([0, 0]);

const paramsSchema = z
  .object({
    turns: z.coerce.number().int().min(1).max(1000).default(10),
  })
  .strict();

export function valueOf(b: Bundle, seat: number): number {
  return b.wood * VALUES[seat].wood + b.gold * VALUES[seat].gold;
}

/** "3 Wood, 2 Gold"; "nothing" for an empty bundle. */
export function bundleText(b: Bundle): string {
  const parts = RESOURCES.filter((r) => b[r] !== 0).map((r) => `${b[r]} ${NAMES[r]}`);
  return parts.length ? parts.join(', ') : 'nothing';
}

const offerText = (o: OfferAction) => `[Offer: ${bundleText(o.give)} -> ${bundleText(o.receive)}]`;
const signed = (n: number) => (n >= 0 ? `+${n}` : String(n));

// ---------------------------------------------------------------- validation

const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && !Object.is(n, -0);
const hasKeys = (o: object, keys: readonly string[]) => {
  const own = Object.keys(o);
  return own.length === keys.length && keys.every((k) => Object.prototype.hasOwnProperty.call(o, k));
};
const isBundle = (b: unknown): b is Bundle =>
  typeof b === 'object' && b !== null && !Array.isArray(b) && hasKeys(b, RESOURCES) && isCount((b as Bundle).wood) && isCount((b as Bundle).gold);

/** The canonical (frozen, shared) form of a well-formed action, or an IllegalActionError. */
function wellFormed(action: unknown): NegotiationAction {
  const shape = 'an action is {type: "accept"}, {type: "deny"} or {type: "offer", give: {wood, gold}, receive: {wood, gold}} with whole amounts >= 0';
  if (typeof action !== 'object' || action === null || Array.isArray(action)) {
    throw new IllegalActionError(`simple-negotiation: ${describe(action)} is not an action; ${shape}`);
  }
  const a = action as { type?: unknown; give?: unknown; receive?: unknown };
  if ((a.type === 'accept' || a.type === 'deny') && hasKeys(a, ['type'])) return a.type === 'accept' ? ACCEPT : DENY;
  if (a.type === 'offer' && hasKeys(a, ['type', 'give', 'receive']) && isBundle(a.give) && isBundle(a.receive)) {
    return { type: 'offer', give: a.give, receive: a.receive };
  }
  throw new IllegalActionError(`simple-negotiation: ${describe(action)} is not an action; ${shape}`);
}

function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

/**
 * Throws unless `offer` is legal for a player holding `mine` facing one holding
 * `theirs`: something given, something asked for, each resource on one side only,
 * nothing given that the player lacks and nothing asked that the opponent lacks.
 * Returns the shared frozen copy of the offer.
 */
function checkOffer(offer: OfferAction, mine: Bundle, theirs: Bundle): OfferAction {
  const { give, receive } = offer;
  const example = 'e.g. [Offer: 3 Wood -> 2 Gold] gives 3 Wood for 2 Gold';
  if (give.wood + give.gold === 0) throw new IllegalActionError(`simple-negotiation: an offer must give something (${example})`);
  if (receive.wood + receive.gold === 0) throw new IllegalActionError(`simple-negotiation: an offer must ask for something in return (${example})`);
  for (const r of RESOURCES) {
    if (give[r] > 0 && receive[r] > 0) {
      throw new IllegalActionError(
        `simple-negotiation: ${NAMES[r]} is on both sides of ${offerText(offer)}; name each resource on one side only and trade the difference`,
      );
    }
  }
  if (give.wood > mine.wood || give.gold > mine.gold) {
    throw new IllegalActionError(`simple-negotiation: you cannot give ${bundleText(give)}: you hold ${bundleText(mine)}`);
  }
  if (receive.wood > theirs.wood || receive.gold > theirs.gold) {
    throw new IllegalActionError(`simple-negotiation: you cannot ask for ${bundleText(receive)}: your opponent holds ${bundleText(theirs)}`);
  }
  return give.wood > 0 ? OFFERS.woodForGold[give.wood][receive.gold] : OFFERS.goldForWood[give.gold][receive.wood];
}

// ---------------------------------------------------------------- parsing

const COMMAND_START = /^(offer|accept|deny)\b/i;
const BRACKETED_COMMAND = /\[\s*(?:offer|accept|deny)\b[^[\]]*\]/gi;
const ARROW = /\s*(?:-+>|=+>|→|⟶|➔|➜)\s*/;
const ITEM = /^(\d+)\s*([a-z]+)$/i;
const ALIASES: Record<string, Resource> = { wood: 'wood', woods: 'wood', gold: 'gold', golds: 'gold' };

const shorten = (text: string) => {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `${flat.slice(0, 60)}...` : flat;
};
const SYNTAX = 'answer with [Offer: 3 Wood -> 2 Gold] (you give 3 Wood, you receive 2 Gold), [Accept] or [Deny]';

/**
 * One resource list: amounts and resources separated by commas, "and", "&" or "+"
 * ("3 Wood, 1 Gold"); repeated resources add up.
 */
function parseBundle(text: string, side: string): { wood: number; gold: number } {
  const parts = text.split(/\s*(?:,|&|\+|\band\b)\s*/i).filter((p) => p.length > 0);
  if (parts.length === 0) throw new ParseError(`the offer names nothing to ${side}; ${SYNTAX}`);
  const out = { wood: 0, gold: 0 };
  for (const part of parts) {
    const m = ITEM.exec(part);
    if (!m) throw new ParseError(`could not read "${shorten(part)}" as an amount and a resource (e.g. 3 Wood); ${SYNTAX}`);
    const resource = ALIASES[m[2].toLowerCase()];
    if (!resource) throw new ParseError(`"${shorten(m[2])}" is not a resource: there are only Wood and Gold`);
    if (m[1].length > 9) throw new ParseError(`${shorten(m[1])} is too large an amount`);
    out[resource] += Number(m[1]);
  }
  return out;
}

/**
 * The body of an offer, "3 Wood -> 2 Gold" (TextArena also allows a leading "I give"
 * or "I offer" and trailing punctuation). A resource named on both sides is netted:
 * "3 Wood, 1 Gold -> 2 Gold" is read as "3 Wood -> 1 Gold", the trade it amounts to.
 */
function parseOffer(body: string): OfferAction {
  const text = body
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^:\s*/, '')
    .replace(/[.,!?]+$/, '')
    .replace(/^I (?:give|offer)\s+/i, '')
    .trim();
  const sides = text.split(ARROW);
  if (sides.length !== 2) throw new ParseError(`an offer needs one "->" between what you give and what you receive; ${SYNTAX}`);
  const give = parseBundle(sides[0], 'give');
  const receive = parseBundle(sides[1], 'receive');
  const net = (r: Resource) => give[r] - receive[r];
  return {
    type: 'offer',
    give: bundle(Math.max(net('wood'), 0), Math.max(net('gold'), 0)),
    receive: bundle(Math.max(-net('wood'), 0), Math.max(-net('gold'), 0)),
  };
}

/** The command in `text` ("[Accept]", "Offer: 3 Wood -> 2 Gold", ...), null when it is no command. */
function readCommand(text: string): NegotiationAction | null {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1).trim();
  const m = COMMAND_START.exec(t);
  if (!m) return null;
  const word = m[1].toLowerCase();
  const rest = t.slice(m[0].length).trim();
  if (word === 'offer') return parseOffer(rest);
  if (/^[.!]*$/.test(rest)) return word === 'accept' ? ACCEPT : DENY;
  const written = word === 'accept' ? '[Accept]' : '[Deny]';
  throw new ParseError(`"${shorten(t)}" is not an action: write ${written} on its own inside the brackets`);
}

/**
 * Reads the action out of a model's reply: the last `\boxed{...}` or `[...]`
 * answer (or the whole reply when it marks none). When that answer is not a
 * command at all, the last bracketed command anywhere in the reply is taken.
 */
export function parseNegotiationAction(text: string): NegotiationAction {
  if (typeof text !== 'string') throw new ParseError(`expected text, got ${typeof text}`);
  const answer = extractAnswer(text);
  const direct = readCommand(answer ?? text);
  if (direct) return direct;
  let last: string | null = null;
  for (const m of text.matchAll(BRACKETED_COMMAND)) last = m[0];
  const found = last === null ? null : readCommand(last);
  if (found) return found;
  const seen = answer === null ? '' : ` (your answer was "${shorten(answer)}")`;
  throw new ParseError(`no action found${seen}; ${SYNTAX}`);
}

// ---------------------------------------------------------------- the game

export function simpleNegotiation(raw: Record<string, unknown> = {}): Game<NegotiationState, NegotiationAction> {
  const params: NegotiationParams = parseParams('simple-negotiation', paramsSchema, raw);
  const { turns } = params;

  const over = (s: NegotiationState) => s.history.length >= turns;
  const mover = (s: NegotiationState) => s.history.length & 1;
  const pendingOffer = (s: NegotiationState): OfferAction | null => {
    const last = s.history[s.history.length - 1];
    return last !== undefined && last.type === 'offer' && !over(s) ? last : null;
  };
  const gain = (s: NegotiationState, seat: number) => valueOf(s.inventories[seat], seat) - valueOf(START, seat);
  const winner = (s: NegotiationState): number | null => {
    const d = gain(s, 0) - gain(s, 1);
    return d > 0 ? 0 : d < 0 ? 1 : null;
  };

  function observe(s: NegotiationState, seat: number) {
    const pending = pendingOffer(s);
    const done = over(s);
    const w = done ? winner(s) : null;
    return {
      seat,
      turn: s.history.length,
      turns,
      toMove: done ? null : mover(s),
      inventory: s.inventories[seat],
      values: VALUES[seat],
      gain: gain(s, seat),
      opponentInventory: s.inventories[1 - seat],
      pendingOffer: pending && { from: 1 - mover(s), give: pending.give, receive: pending.receive },
      history: s.history,
      result: !done ? null : w === null ? 'draw' : w === seat ? 'win' : 'loss',
    };
  }

  function logLine(s: NegotiationState, k: number): string {
    const a = s.history[k];
    const who = `Player ${k & 1}`;
    if (a.type === 'offer') return `Turn ${k + 1}: ${who} offered ${offerText(a)}.`;
    const offer = s.history[k - 1] as OfferAction;
    if (a.type === 'deny') return `Turn ${k + 1}: ${who} denied the offer.`;
    return `Turn ${k + 1}: ${who} accepted: Player ${(k - 1) & 1} gave ${bundleText(offer.give)} and received ${bundleText(offer.receive)}.`;
  }

  const game = defineGame<NegotiationState, NegotiationAction>({
    id: 'simple-negotiation',
    params,
    description: `Simple negotiation (SPIRAL): two players trade Wood and Gold, valued differently, for ${turns} turns; the bigger gain in inventory value wins.`,
    seats: 2,
    maxLength: turns,
    utility: 'zero-sum',
    returnRange: [-1, 1],
    perfectInformation: true,
    initial: () => ({ history: [], inventories: [START, START] }),
    turn: (s) => (over(s) ? 'terminal' : mover(s)),
    legalActions: (s) => {
      if (over(s)) return [];
      const seat = mover(s);
      const mine = s.inventories[seat];
      const theirs = s.inventories[1 - seat];
      const actions: NegotiationAction[] = pendingOffer(s) ? [ACCEPT, DENY] : [];
      for (let n = 1; n <= mine.wood; n++) for (let m = 1; m <= theirs.gold; m++) actions.push(OFFERS.woodForGold[n][m]);
      for (let n = 1; n <= mine.gold; n++) for (let m = 1; m <= theirs.wood; m++) actions.push(OFFERS.goldForWood[n][m]);
      return actions;
    },
    apply: (s, action) => {
      if (over(s)) throw new IllegalActionError(`simple-negotiation: the game is over after ${turns} turns; ${describe(action)} cannot be played`);
      const a = wellFormed(action);
      const seat = mover(s);
      const pending = pendingOffer(s);
      if (a.type === 'offer') {
        const offer = checkOffer(a, s.inventories[seat], s.inventories[1 - seat]);
        return { history: append(s.history, offer), inventories: s.inventories };
      }
      if (!pending) {
        throw new IllegalActionError(
          `simple-negotiation: there is no offer to ${a.type}; [Accept] and [Deny] answer an offer your opponent made on the turn before`,
        );
      }
      if (a.type === 'deny') return { history: append(s.history, a), inventories: s.inventories };
      // Accept: the proposer (the other seat) gives `pending.give` and receives `pending.receive`;
      // both are held, since inventories cannot change between an offer and its answer.
      const proposer = 1 - seat;
      const p = s.inventories[proposer];
      const q = s.inventories[seat];
      const after = [
        bundle(p.wood - pending.give.wood + pending.receive.wood, p.gold - pending.give.gold + pending.receive.gold),
        bundle(q.wood + pending.give.wood - pending.receive.wood, q.gold + pending.give.gold - pending.receive.gold),
      ];
      const inventories: [Bundle, Bundle] = proposer === 0 ? [after[0], after[1]] : [after[1], after[0]];
      return { history: append(s.history, a), inventories };
    },
    returns: (s) => {
      if (!over(s)) return DRAW;
      const w = winner(s);
      return w === null ? DRAW : WIN[w];
    },
    history: (s) => s.history,
    observe,
    stateKey: (s) => {
      const [a] = s.inventories;
      const pending = pendingOffer(s);
      return `${s.history.length}|${a.wood},${a.gold}|${pending ? offerText(pending) : '-'}`;
    },
    rules: (seat) => {
      const v = VALUES[seat];
      const mine = Math.ceil((turns - seat) / 2);
      return [
        `You are Player ${seat} in Simple Negotiation, a two-player trading game.`,
        `Both players start with ${bundleText(START)}. You value each Wood at ${v.wood} and each Gold at ${v.gold}, so your starting inventory is worth ${valueOf(START, seat)} to you. ` +
          'Your opponent values the resources differently, and neither player sees the other\'s values.',
        `The game lasts ${turns} turns in total; players alternate and Player 0 moves first, so you have ${mine} turn${mine === 1 ? '' : 's'}. On your turn do exactly one of:`,
        '  [Offer: 3 Wood -> 2 Gold]  offer a trade: you give what is before "->" (3 Wood) and receive what is after it (2 Gold). ' +
          'You may give only what you hold and ask only for what your opponent holds, and each resource goes on one side only.',
        '  [Accept]  accept the offer your opponent made on their last turn: the trade happens at once.',
        '  [Deny]  reject the offer your opponent made on their last turn.',
        '[Accept] and [Deny] are possible only when your opponent has just made an offer; making a counter-offer also rejects it. An offer nobody answers lapses.',
        'When the game ends, each inventory is valued at its owner\'s prices: the player whose value grew more wins, and equal growth is a draw.',
        'You may write anything around your action; the last bracketed [...] or \\boxed{...} answer in your reply is read as your move.',
      ].join('\n');
    },
    observationText: (s, seat) => {
      const o = observe(s, seat);
      const lines = [
        `Simple Negotiation, ${over(s) ? `game over after ${turns} turns` : `turn ${s.history.length + 1} of ${turns}`}. You are Player ${seat}.`,
        `Your inventory: ${bundleText(o.inventory)}. Your values: Wood ${o.values.wood}, Gold ${o.values.gold} each.`,
        `Your inventory is worth ${valueOf(o.inventory, seat)} to you (it started at ${valueOf(START, seat)}: ${signed(o.gain)}).`,
        `Your opponent's inventory: ${bundleText(o.opponentInventory)}.`,
      ];
      if (s.history.length) lines.push('History:', ...s.history.map((_, k) => `  ${logLine(s, k)}`));
      if (o.pendingOffer) {
        const p = o.pendingOffer;
        lines.push(
          p.from === seat
            ? `Your offer is waiting for an answer: you give ${bundleText(p.give)} and receive ${bundleText(p.receive)}.`
            : `Player ${p.from} offers you ${bundleText(p.give)} in exchange for ${bundleText(p.receive)}. Answer with [Accept] or [Deny], or make a counter-offer.`,
        );
      }
      if (o.result) lines.push(o.result === 'draw' ? 'The game is a draw.' : o.result === 'win' ? 'You won.' : 'You lost.');
      else lines.push(o.toMove === seat ? 'Your move.' : "Opponent's move.");
      return lines.join('\n');
    },
    actionText: (_s, action) => (action.type === 'offer' ? offerText(action) : action.type === 'accept' ? '[Accept]' : '[Deny]'),
    parseAction: (_s, text) => parseNegotiationAction(text),
  });
  return game;
}
