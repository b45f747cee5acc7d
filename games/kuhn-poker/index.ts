import { z } from 'zod';
import { append, defineGame, IllegalActionError, parseParams, type ChanceOutcome, type Game } from '../../src/core/index.ts';

/**
 * Kuhn poker: cards J<Q<K, ante 1, one bet of 1. Actions: 0 pass (check or fold),
 * 1 bet (bet or call); chance actions are cards 0-2. With `hands` > 1 a match of
 * several hands is played with the first player alternating and chips carried over.
 */
export interface KuhnState {
  readonly history: readonly number[];
  /** The hand being played (0-based), or the last hand once the match is over. */
  readonly hand: number;
  /** Where the current hand's deal starts in `history`. */
  readonly start: number;
  /** Chips seat 0 has won from seat 1 in finished hands. */
  readonly net: number;
  readonly over: boolean;
}

export type KuhnParams = {
  hands: number;
  scoring: 'chips' | 'match';
};

const CARDS = ['J', 'Q', 'K'];
const PASS = 0;
const BET = 1;
const DECISIONS: readonly number[] = Object.freeze([PASS, BET]);
const FIRST_DEAL: readonly ChanceOutcome<number>[] = Object.freeze([0, 1, 2].map((card) => ({ action: card, probability: 1 / 3 })));
const SECOND_DEAL: readonly (readonly ChanceOutcome<number>[])[] = [0, 1, 2].map((dealt) =>
  Object.freeze([0, 1, 2].filter((c) => c !== dealt).map((card) => ({ action: card, probability: 1 / 2 }))),
);
const FIRST_DEAL_ACTIONS: readonly number[] = Object.freeze([0, 1, 2]);
const SECOND_DEAL_ACTIONS: readonly (readonly number[])[] = SECOND_DEAL.map((o) => Object.freeze(o.map((x) => x.action)));

const paramsSchema = z
  .object({
    hands: z.coerce.number().int().min(1).max(1000).default(1),
    scoring: z.enum(['chips', 'match']).optional(),
  })
  .strict();

/**
 * Chips the first player of a hand wins (negative: loses) once the betting
 * sequence `bets` (relative to that player) ends the hand, or null while it goes on.
 * `firstCard`/`secondCard` are the first and second player's cards.
 */
function settle(bets: readonly number[], from: number, firstCard: number, secondCard: number): number | null {
  const count = bets.length - from;
  const stake = firstCard > secondCard ? 1 : -1;
  if (count === 2) {
    const a = bets[from];
    const b = bets[from + 1];
    if (a === PASS) return b === PASS ? stake : null;
    return b === PASS ? 1 : 2 * stake;
  }
  if (count === 3) return bets[from + 2] === PASS ? -1 : 2 * stake;
  return null;
}

interface HandView {
  readonly first: number;
  readonly cards: readonly number[];
  readonly bets: readonly number[];
  readonly won: number | null; // chips seat 0 won in this hand, null while it goes on
}

export function kuhnPoker(raw: Record<string, unknown> = {}): Game<KuhnState, number> {
  const parsed = parseParams('kuhn-poker', paramsSchema, raw);
  const params: KuhnParams = { hands: parsed.hands, scoring: parsed.scoring ?? (parsed.hands === 1 ? 'chips' : 'match') };
  const { hands, scoring } = params;

  const firstPlayer = (hand: number) => hand & 1;
  const betsOf = (s: KuhnState) => s.history.slice(s.start + 2);

  function handsOf(s: KuhnState): HandView[] {
    const views: HandView[] = [];
    let i = 0;
    for (let hand = 0; i < s.history.length; hand++) {
      const first = firstPlayer(hand);
      const cards = s.history.slice(i, i + 2);
      let j = i + 2;
      let won: number | null = null;
      const bets: number[] = [];
      while (j < s.history.length && won === null && cards.length === 2) {
        bets.push(s.history[j++]);
        const toFirst = settle(bets, 0, cards[first], cards[1 - first]);
        if (toFirst !== null) won = first === 0 ? toFirst : -toFirst;
      }
      views.push({ first, cards, bets, won });
      i = j;
    }
    return views;
  }

  const facingBet = (bets: readonly number[]) => bets.includes(BET);
  const betText = (bets: readonly number[], action: number) =>
    facingBet(bets) ? (action === BET ? 'call' : 'fold') : action === BET ? 'bet' : 'check';
  const betTexts = (bets: readonly number[]) => bets.map((b, k) => betText(bets.slice(0, k), b));
  // A hand that ended without a fold ends in a showdown, where both cards are shown.
  const showdownSeen = (view: HandView) =>
    view.won !== null && !(view.bets[view.bets.length - 1] === PASS && view.bets.includes(BET));

  function observe(s: KuhnState, seat: number) {
    const views = handsOf(s);
    const current = views[views.length - 1];
    return {
      seat,
      hands,
      hand: views.length === 0 ? 0 : views.length - 1,
      chips: seat === 0 ? s.net : -s.net,
      history: views.map((v) => ({
        first: v.first,
        card: v.cards.length > seat ? CARDS[v.cards[seat]] : null,
        opponentCard: v.won !== null && showdownSeen(v) ? CARDS[v.cards[1 - seat]] : null,
        actions: betTexts(v.bets),
        won: v.won === null ? null : seat === 0 ? v.won : -v.won,
      })),
      toMove: current && current.won === null && current.cards.length === 2 ? (current.first + current.bets.length) & 1 : null,
    };
  }

  const game = defineGame<KuhnState, number>({
    id: 'kuhn-poker',
    params,
    description:
      hands === 1
        ? 'Kuhn poker: three cards J<Q<K, ante 1, one bet of 1; one hand.'
        : `Kuhn poker match of ${hands} hands, first player alternating, most chips wins.`,
    seats: 2,
    maxLength: 5 * hands,
    utility: 'zero-sum',
    returnRange: scoring === 'chips' ? [-2 * hands, 2 * hands] : [-1, 1],
    perfectInformation: false,
    initial: () => ({ history: [], hand: 0, start: 0, net: 0, over: false }),
    turn: (s) => {
      if (s.over) return 'terminal';
      const n = s.history.length - s.start;
      return n < 2 ? 'chance' : (firstPlayer(s.hand) + n) & 1;
    },
    legalActions: (s) => {
      if (s.over) return [];
      const n = s.history.length - s.start;
      if (n === 0) return FIRST_DEAL_ACTIONS;
      if (n === 1) return SECOND_DEAL_ACTIONS[s.history[s.start]];
      return DECISIONS;
    },
    chanceOutcomes: (s) => {
      if (s.over) return [];
      const n = s.history.length - s.start;
      if (n === 0) return FIRST_DEAL;
      if (n === 1) return SECOND_DEAL[s.history[s.start]];
      return [];
    },
    apply: (s, action) => {
      if (s.over) throw new IllegalActionError(`kuhn-poker: the game is over, ${JSON.stringify(action)} cannot be played`);
      const n = s.history.length - s.start;
      const history = append(s.history, action);
      if (n < 2) {
        const valid = action === 0 || action === 1 || action === 2;
        if (!valid || (n === 1 && action === s.history[s.start])) {
          throw new IllegalActionError(`kuhn-poker: ${JSON.stringify(action)} is not a card left in the deck`);
        }
        return { history, hand: s.hand, start: s.start, net: s.net, over: false };
      }
      if (action !== PASS && action !== BET) throw new IllegalActionError(`kuhn-poker: ${JSON.stringify(action)} is not an action; 0 is pass (check/fold), 1 is bet (bet/call)`);
      const first = firstPlayer(s.hand);
      const toFirst = settle(history, s.start + 2, history[s.start + first], history[s.start + 1 - first]);
      if (toFirst === null) return { history, hand: s.hand, start: s.start, net: s.net, over: false };
      const net = s.net + (first === 0 ? toFirst : -toFirst);
      const over = s.hand + 1 === hands;
      return { history, hand: over ? s.hand : s.hand + 1, start: over ? s.start : history.length, net, over };
    },
    returns: (s) => {
      const value = scoring === 'chips' ? s.net : Math.sign(s.net);
      return [value, 0 - value];
    },
    history: (s) => s.history,
    observe,
    infoKey: (s, seat) => {
      const parts = handsOf(s).map((v) => {
        const own = v.cards.length > seat ? CARDS[v.cards[seat]] : '';
        const seen = v.won !== null && showdownSeen(v) ? `:${CARDS[v.cards[1 - seat]]}` : '';
        return own + v.bets.map((b) => (b === BET ? 'b' : 'p')).join('') + seen;
      });
      return `${seat}|${parts.join('/')}`;
    },
    stateKey: (s) => s.history.join(''),
    rules: (seat) =>
      `You are Player ${seat} in ${hands === 1 ? 'a game' : `a match of ${hands} hands`} of Kuhn poker. ` +
      'The deck has three cards: J < Q < K. Each player antes 1 chip and is dealt one card. ' +
      'Actions: [check] and [bet] when no bet is open; [call] and [fold] when facing a bet. A bet is 1 chip. ' +
      'Check-check and bet-call go to a showdown where the higher card wins the pot; a fold gives the pot to the other player. ' +
      (hands === 1 ? '' : 'The first player alternates each hand; whoever has won more chips after the last hand wins the match. ') +
      'Reply with your action in brackets, for example [check].',
    observationText: (s, seat) => {
      const o = observe(s, seat);
      const lines: string[] = [];
      o.history.forEach((h, k) => {
        if (hands > 1) lines.push(`Hand ${k + 1} of ${hands} (Player ${h.first} acts first):`);
        if (h.card) lines.push(`Your card: ${h.card}`);
        if (h.actions.length) lines.push(`Actions: ${h.actions.map((a, i) => `Player ${(h.first + i) & 1} ${a}`).join(', ')}`);
        if (h.opponentCard) lines.push(`Showdown: opponent had ${h.opponentCard}`);
        if (h.won !== null) lines.push(h.won > 0 ? `You won ${h.won} chip(s).` : `You lost ${-h.won} chip(s).`);
      });
      if (hands > 1) lines.push(`Your chips won so far: ${o.chips}`);
      if (o.toMove === seat) lines.push('Your move.');
      else if (s.over) lines.push('The game is over.');
      return lines.join('\n');
    },
    actionText: (s, action) => {
      const n = s.history.length - s.start;
      if (n < 2 && !s.over) return `[deal ${CARDS[action] ?? action}]`;
      return `[${betText(betsOf(s), action)}]`;
    },
  });
  return game;
}
