// Games with one planted bug each, for the checker's own tests. Each is a
// correct game (`raiseWar()` with no options passes every invariant) made wrong
// in one place by an option.
import { defineGame, IllegalActionError, ParseError, type Game } from '../../src/core/index.ts';

export type WarAction = number | 'fold' | 'call' | 'raise' | 'all-in';

export interface WarState {
  readonly cards: readonly number[];
  readonly bets: readonly WarAction[];
  readonly history: readonly WarAction[];
}

export interface WarOptions {
  /** Cards in the deck; each seat gets one (default 30: a tree too big to walk whole). */
  readonly deck?: number;
  readonly maxRaises?: number;
  /** Returns leave the declared range once this many raises were made (a rare branch for uniform play). */
  readonly rangeBugAt?: number;
  /** The declared maxLength, when it should be wrong. */
  readonly maxLength?: number;
  /** observationText shows the opponent's card once this many raises were made. */
  readonly textLeakAt?: number;
  /** observationText sorts the state's bets in place. */
  readonly textSorts?: boolean;
  /** stateKey forgets how the war ended (a fold or a call). */
  readonly keyTooCoarse?: boolean;
  /** history() writes the cards as strings, so a stored state does not restore. */
  readonly historyAsText?: boolean;
  /** observationText throws for seat 1 after two raises. */
  readonly textThrows?: boolean;
  /** returns gives NaN for a fold after a raise. */
  readonly nanReturns?: boolean;
  /** turn gives seat 2 (of 2) after three raises. */
  readonly turnOutOfRange?: boolean;
  /** parseAction backtracks catastrophically on plain text (no brackets, no punctuation). */
  readonly slowParser?: boolean;
  /** Card 0 has probability 0 at the deal and apply refuses it. */
  readonly zeroCard?: boolean;
  /** Every all-in has the text of a raise. */
  readonly sharedText?: boolean;
}

const ENDS: readonly WarAction[] = ['fold', 'call', 'all-in'];

/**
 * A raise war: each seat is dealt a card from a deck, then the seats take
 * turns to fold, call, raise (by 1, up to maxRaises) or go all-in (stake 1 more
 * and show down at once). Higher card wins the stake at a showdown; a fold
 * loses it. Uniform random play raises 5 times in a row about once in 1,000 games.
 */
export function raiseWar(options: WarOptions = {}): Game<WarState, WarAction> {
  const deck = options.deck ?? 30;
  const maxRaises = options.maxRaises ?? 8;
  const raises = (s: WarState) => s.bets.filter((b) => b === 'raise').length;
  const over = (s: WarState) => s.bets.length > 0 && ENDS.includes(s.bets[s.bets.length - 1]);
  const dealt = (s: WarState) => s.cards.length === 2;
  const mover = (s: WarState) => s.bets.length % 2;
  const legal = (s: WarState): WarAction[] => {
    if (!dealt(s)) return Array.from({ length: deck }, (_, c) => c).filter((c) => !s.cards.includes(c));
    if (over(s)) return [];
    return raises(s) < maxRaises ? ['fold', 'call', 'raise', 'all-in'] : ['fold', 'call', 'all-in'];
  };
  const stake = (s: WarState) => 1 + raises(s) + (s.bets.includes('all-in') ? 1 : 0);
  const declaredRange = 2 + maxRaises;
  const bracketed = /\[([a-z0-9-]+)\]/i;
  // Nested quantifiers: ordinary text without a bracket makes this backtrack exponentially.
  const slow = /^([a-z ]+)*\[([a-z-]+)\]/i;
  const game: Game<WarState, WarAction> = defineGame<WarState, WarAction>({
    id: 'raise-war',
    description: 'a raise war',
    seats: 2,
    maxLength: options.maxLength ?? 2 + maxRaises + 1,
    utility: 'zero-sum',
    returnRange: [-declaredRange, declaredRange],
    perfectInformation: false,
    initial: () => ({ cards: [], bets: [], history: [] }),
    turn: (s) => {
      if (!dealt(s)) return 'chance';
      if (over(s)) return 'terminal';
      if (options.turnOutOfRange && raises(s) >= 3) return 2;
      return mover(s);
    },
    legalActions: legal,
    chanceOutcomes: (s) => {
      if (dealt(s)) return [];
      const cards = legal(s) as number[];
      if (options.zeroCard && s.cards.length === 0) {
        return cards.map((c) => ({ action: c, probability: c === 0 ? 0 : 1 / (cards.length - 1) }));
      }
      return cards.map((c) => ({ action: c, probability: 1 / cards.length }));
    },
    apply: (s, a) => {
      if (!legal(s).includes(a)) throw new IllegalActionError(`raise-war: ${JSON.stringify(a)} is not legal here`);
      if (options.zeroCard && a === 0 && s.cards.length === 0) throw new RangeError('card 0 cannot be dealt first');
      if (typeof a === 'number') return { cards: [...s.cards, a], bets: s.bets, history: [...s.history, a] };
      return { cards: s.cards, bets: [...s.bets, a], history: [...s.history, a] };
    },
    returns: (s) => {
      if (!over(s)) return [0, 0];
      const last = s.bets[s.bets.length - 1];
      const folder = (s.bets.length - 1) % 2;
      let won = stake(s);
      if (options.rangeBugAt !== undefined && raises(s) >= options.rangeBugAt) won = 10 * declaredRange;
      if (options.nanReturns && last === 'fold' && raises(s) > 0) won = Number.NaN;
      const winner = last === 'fold' ? 1 - folder : s.cards[0] > s.cards[1] ? 0 : 1;
      return winner === 0 ? [won, -won] : [-won, won];
    },
    history: (s) => (options.historyAsText ? (s.history.map((a) => (typeof a === 'number' ? String(a) : a)) as WarAction[]) : s.history),
    observe: (s, seat) => ({ card: s.cards[seat] ?? null, bets: s.bets, shown: over(s) && s.bets[s.bets.length - 1] !== 'fold' ? s.cards : null }),
    infoKey: (s, seat) => `${seat}|${s.cards[seat] ?? '-'}|${s.bets.join(',')}${over(s) && s.bets[s.bets.length - 1] !== 'fold' ? `|${s.cards.join(',')}` : ''}`,
    stateKey: (s) => (options.keyTooCoarse ? `${s.cards.join(',')}|${raises(s)}|${over(s)}` : s.history.join(',')),
    rules: (seat) => `You are seat ${seat} in a raise war. Write [fold], [call], [raise] or [all-in].`,
    observationText: (s, seat) => {
      if (options.textThrows && seat === 1 && raises(s) >= 2) return (undefined as unknown as string[]).join(' ');
      const bets = options.textSorts ? (s.bets as WarAction[]).sort() : s.bets;
      const leak = options.textLeakAt !== undefined && raises(s) >= options.textLeakAt ? ` The other card is ${s.cards[1 - seat]}.` : '';
      return `Your card: ${s.cards[seat] ?? 'none yet'}. Bets so far: ${bets.join(' ') || 'none'}.${leak}`;
    },
    actionText: (_s, a) => (options.sharedText && a === 'all-in' ? '[raise]' : `[${a}]`),
    parseAction: (s, text) => {
      const m = options.slowParser && !/[[\]{}.,:;!?]/.test(text) ? slow.exec(`${text}[`) : null;
      const wanted = (m ? m[2] : (bracketed.exec(text)?.[1] ?? text)).trim().toLowerCase();
      const found = legal(s).find((a) => String(a) === wanted);
      if (found === undefined) throw new ParseError(`no legal action ${JSON.stringify(wanted)}`);
      return found;
    },
  });
  return game;
}

export interface BidState {
  readonly bids: readonly number[];
}

/**
 * Sealed bids: seat 0 bids 0-40 unseen, then seat 1 bids, three rounds; the
 * higher total wins. With `textLeak` seat 1's observation text tells it seat
 * 0's last bid, which its infoKey (and its observation) leave out: no chance
 * outcome is involved, only another seat's private action.
 */
export function sealedBids(options: { textLeak?: boolean } = {}): Game<BidState, number> {
  const rounds = 3;
  const over = (s: BidState) => s.bids.length === 2 * rounds;
  const legal = (s: BidState) => (over(s) ? [] : Array.from({ length: 41 }, (_, b) => b));
  const total = (s: BidState, seat: number) => s.bids.filter((_, i) => i % 2 === seat).reduce((a, b) => a + b, 0);
  const seen = (s: BidState, seat: number) => s.bids.filter((_, i) => i % 2 === seat || i < s.bids.length - (s.bids.length % 2));
  return defineGame<BidState, number>({
    id: 'sealed-bids',
    description: 'three rounds of sealed bids',
    seats: 2,
    maxLength: 2 * rounds,
    utility: 'zero-sum',
    returnRange: [-1, 1],
    perfectInformation: false,
    initial: () => ({ bids: [] }),
    turn: (s) => (over(s) ? 'terminal' : s.bids.length % 2),
    legalActions: legal,
    apply: (s, b) => {
      if (!legal(s).includes(b)) throw new IllegalActionError(`sealed-bids: ${JSON.stringify(b)} is not a bid here`);
      return { bids: [...s.bids, b] };
    },
    returns: (s) => {
      const d = Math.sign(total(s, 0) - total(s, 1));
      return [d, -d];
    },
    history: (s) => s.bids,
    observe: (s, seat) => ({ seen: seen(s, seat), round: Math.floor(s.bids.length / 2) }),
    infoKey: (s, seat) => `${seat}|${seen(s, seat).join(',')}|${s.bids.length}`,
    observationText: (s, seat) => {
      const leak = options.textLeak && seat === 1 && s.bids.length % 2 === 1 ? ` (Player 0 just bid ${s.bids[s.bids.length - 1]}.)` : '';
      return `Round ${Math.floor(s.bids.length / 2) + 1}. Bids you have seen: ${seen(s, seat).join(' ') || 'none'}.${leak}`;
    },
  });
}
