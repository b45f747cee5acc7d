import { z } from 'zod';
import { append, defineGame, IllegalActionError, parseParams, type ChanceOutcome, type Game, type Turn } from '../../src/core/index.ts';

/**
 * Leduc hold'em as OpenSpiel's leduc_poker plays it. Cards 0-5 are J♠ J♥ Q♠ Q♥ K♠ K♥
 * (rank = card >> 1); chance actions are the card dealt. Actions: 0 fold, 1 check or
 * call, 2 bet or raise. Each seat antes 1; a raise is 2 in the first round and 4 in
 * the second, at most 2 raises a round; seat 0 opens both rounds.
 */
export interface LeducState {
  readonly history: readonly number[];
  readonly turn: Turn;
  /** Seat 0's and seat 1's private cards and the public card, -1 until dealt. */
  readonly card0: number;
  readonly card1: number;
  readonly board: number;
  /** Where the public card lies in `history`, -1 until dealt. */
  readonly boardAt: number;
  /** Bit c is set once card c has been dealt. */
  readonly dealt: number;
  /** The contribution each seat must match to stay in, and what each has put in. */
  readonly stakes: number;
  readonly in0: number;
  readonly in1: number;
  /** Raises in the current round, and whether it was opened with a check. */
  readonly raises: number;
  readonly checked: boolean;
  /** Chips seat 0 won (negative: lost) once the hand is over. */
  readonly won: number;
}

type Draft = { -readonly [K in keyof LeducState]: LeducState[K] };

const FOLD = 0;
const CALL = 1;
const RAISE = 2;
const ANTE = 1;
const RAISE_SIZE = [2, 4];
const MAX_RAISES = 2;
/** Ante plus two raises in each round: the most one seat can put in, hence win or lose. */
const MAX_WIN = ANTE + MAX_RAISES * (RAISE_SIZE[0] + RAISE_SIZE[1]);
const DECK = 6;
const CARD_NAMES = ['J♠', 'J♥', 'Q♠', 'Q♥', 'K♠', 'K♥'];

const NONE: readonly number[] = Object.freeze([]);
const NO_OUTCOMES: readonly ChanceOutcome<number>[] = Object.freeze([]);
const OPEN: readonly number[] = Object.freeze([CALL, RAISE]);
const FACING: readonly number[] = Object.freeze([FOLD, CALL, RAISE]);
const CAPPED: readonly number[] = Object.freeze([FOLD, CALL]);

/** The undealt cards for each mask of dealt cards, as actions and as uniform outcomes. */
const DEAL_ACTIONS: readonly (readonly number[])[] = Array.from({ length: 1 << DECK }, (_, dealt) =>
  Object.freeze([0, 1, 2, 3, 4, 5].filter((card) => !(dealt & (1 << card)))),
);
const DEALS: readonly (readonly ChanceOutcome<number>[])[] = DEAL_ACTIONS.map((cards) =>
  Object.freeze(cards.map((card) => Object.freeze({ action: card, probability: 1 / cards.length }))),
);
/** Returns indexed by chips seat 0 won, offset by MAX_WIN. */
const RETURNS: readonly (readonly number[])[] = Array.from({ length: 2 * MAX_WIN + 1 }, (_, i) =>
  Object.freeze([i - MAX_WIN, MAX_WIN - i]),
);

const paramsSchema = z.object({}).strict();

const rank = (card: number) => card >> 1;
/**
 * A pair with the public card beats every unpaired hand. Unpaired hands compare by their
 * higher then lower card; the public card is shared, so that comes down to the private card.
 */
const strength = (card: number, board: number) => (rank(card) === rank(board) ? 3 + rank(card) : rank(card));

function successor(s: LeducState, action: number): Draft {
  return {
    history: append(s.history, action),
    turn: s.turn,
    card0: s.card0,
    card1: s.card1,
    board: s.board,
    boardAt: s.boardAt,
    dealt: s.dealt,
    stakes: s.stakes,
    in0: s.in0,
    in1: s.in1,
    raises: s.raises,
    checked: s.checked,
    won: s.won,
  };
}

function deal(s: LeducState, card: number): LeducState {
  if (!Number.isInteger(card) || card < 0 || card >= DECK || s.dealt & (1 << card)) {
    throw new IllegalActionError(`leduc-poker: ${JSON.stringify(card)} is not a card left in the deck; left: ${DEAL_ACTIONS[s.dealt].join(', ')}`);
  }
  const t = successor(s, card);
  t.dealt = s.dealt | (1 << card);
  if (s.card0 < 0) {
    t.card0 = card;
  } else if (s.card1 < 0) {
    t.card1 = card;
    t.turn = 0;
  } else {
    t.board = card;
    t.boardAt = s.history.length;
    t.turn = 0;
  }
  return t;
}

function bet(s: LeducState, seat: number, action: number): LeducState {
  if (action === FOLD) {
    if (s.raises === 0) throw new IllegalActionError('leduc-poker: fold (0) is only legal when facing a bet; check with 1');
    const t = successor(s, action);
    t.turn = 'terminal';
    t.won = seat === 0 ? -s.in0 : s.in1;
    return t;
  }
  if (action === CALL) {
    const t = successor(s, action);
    if (seat === 0) t.in0 = s.stakes;
    else t.in1 = s.stakes;
    if (s.raises === 0 && !s.checked) {
      t.checked = true;
      t.turn = 1 - seat;
    } else if (s.board < 0) {
      t.turn = 'chance';
      t.raises = 0;
      t.checked = false;
    } else {
      t.turn = 'terminal';
      t.won = Math.sign(strength(s.card0, s.board) - strength(s.card1, s.board)) * s.stakes;
    }
    return t;
  }
  if (action === RAISE) {
    if (s.raises === MAX_RAISES) throw new IllegalActionError(`leduc-poker: at most ${MAX_RAISES} raises a round; fold (0) or call (1)`);
    const t = successor(s, action);
    t.stakes = s.stakes + RAISE_SIZE[s.board < 0 ? 0 : 1];
    if (seat === 0) t.in0 = t.stakes;
    else t.in1 = t.stakes;
    t.raises = s.raises + 1;
    t.turn = 1 - seat;
    return t;
  }
  throw new IllegalActionError(`leduc-poker: ${JSON.stringify(action)} is not an action; 0 fold, 1 check/call, 2 bet/raise`);
}

/** The betting actions of each round. */
function rounds(s: LeducState): [readonly number[], readonly number[]] {
  const h = s.history;
  return s.boardAt < 0 ? [h.slice(2), NONE] : [h.slice(2, s.boardAt), h.slice(s.boardAt + 1)];
}

/** Each action's name as it was taken: a round opens with check or bet, a bet is answered by fold, call or raise. */
function betWords(actions: readonly number[]): string[] {
  let raised = false;
  return actions.map((action) => {
    const word = action === FOLD ? 'fold' : action === CALL ? (raised ? 'call' : 'check') : raised ? 'raise' : 'bet';
    if (action === RAISE) raised = true;
    return word;
  });
}

const BET_LETTERS = ['f', 'c', 'r'];
const isShowdown = (s: LeducState) => s.turn === 'terminal' && s.history[s.history.length - 1] !== FOLD;

export function leducPoker(raw: Record<string, unknown> = {}): Game<LeducState, number> {
  parseParams('leduc-poker', paramsSchema, raw);

  function observe(s: LeducState, seat: number) {
    const own = seat === 0 ? s.card0 : s.card1;
    const other = seat === 0 ? s.card1 : s.card0;
    const mine = seat === 0 ? s.in0 : s.in1;
    const theirs = seat === 0 ? s.in1 : s.in0;
    const over = s.turn === 'terminal';
    return {
      seat,
      card: own < 0 ? null : CARD_NAMES[own],
      publicCard: s.board < 0 ? null : CARD_NAMES[s.board],
      round: s.boardAt < 0 ? 1 : 2,
      betting: rounds(s).map(betWords),
      contributed: mine,
      opponentContributed: theirs,
      pot: mine + theirs,
      toMove: typeof s.turn === 'number' ? s.turn : null,
      opponentCard: isShowdown(s) ? CARD_NAMES[other] : null,
      won: over ? (seat === 0 ? s.won : -s.won) : null,
    };
  }

  return defineGame<LeducState, number>({
    id: 'leduc-poker',
    description: "Leduc hold'em: six cards J,J,Q,Q,K,K, ante 1, one private and one public card, two betting rounds (raise 2 then 4, at most 2 raises each).",
    seats: 2,
    // Three cards dealt and at most check, raise, raise, call in each round.
    maxLength: 11,
    utility: 'zero-sum',
    returnRange: [-MAX_WIN, MAX_WIN],
    perfectInformation: false,
    initial: () => ({
      history: NONE,
      turn: 'chance',
      card0: -1,
      card1: -1,
      board: -1,
      boardAt: -1,
      dealt: 0,
      stakes: ANTE,
      in0: ANTE,
      in1: ANTE,
      raises: 0,
      checked: false,
      won: 0,
    }),
    turn: (s) => s.turn,
    legalActions: (s) => {
      if (s.turn === 'chance') return DEAL_ACTIONS[s.dealt];
      if (s.turn === 'terminal') return NONE;
      return s.raises === 0 ? OPEN : s.raises < MAX_RAISES ? FACING : CAPPED;
    },
    chanceOutcomes: (s) => (s.turn === 'chance' ? DEALS[s.dealt] : NO_OUTCOMES),
    apply: (s, action) => {
      if (s.turn === 'chance') return deal(s, action);
      if (s.turn === 'terminal') throw new IllegalActionError(`leduc-poker: the game is over, ${JSON.stringify(action)} cannot be played`);
      return bet(s, s.turn, action);
    },
    returns: (s) => RETURNS[s.won + MAX_WIN],
    history: (s) => s.history,
    observe,
    infoKey: (s, seat) => {
      const own = seat === 0 ? s.card0 : s.card1;
      const [first, second] = rounds(s);
      const letters = (actions: readonly number[]) => actions.map((a) => BET_LETTERS[a]).join('');
      const seen = isShowdown(s) ? `|${CARD_NAMES[seat === 0 ? s.card1 : s.card0]}` : '';
      return `${seat}|${CARD_NAMES[own] ?? ''}|${CARD_NAMES[s.board] ?? ''}|${letters(first)}|${letters(second)}${seen}`;
    },
    stateKey: (s) => s.history.join(''),
    rules: (seat) =>
      `You are Player ${seat} in a hand of Leduc hold'em poker against one opponent. ` +
      'The deck has six cards: two Jacks, two Queens and two Kings (suits do not matter). ' +
      'Each player antes 1 chip and gets one private card; Player 0 acts first in each betting round. ' +
      'In round 1 a bet or raise is 2 chips; then one public card is dealt and in round 2 a bet or raise is 4 chips. ' +
      'Each round allows at most 2 bets or raises. Actions: [check] or [bet] when no bet is open; [fold], [call] or [raise] when facing a bet. ' +
      'A round ends when a bet is called or both players check. Folding gives the pot to the other player. ' +
      'At the showdown a private card that pairs the public card wins; otherwise the higher private card wins (K > Q > J); equal ranks split the pot. ' +
      'Reply with your action in brackets, for example [call].',
    observationText: (s, seat) => {
      const o = observe(s, seat);
      const lines = [`You are Player ${seat}.`];
      if (o.card) lines.push(`Your card: ${o.card}`);
      lines.push(`Public card: ${o.publicCard ?? 'not dealt yet'}`);
      o.betting.forEach((words, k) => {
        if (words.length) lines.push(`Round ${k + 1}: ${words.map((w, i) => `Player ${i & 1} ${w}`).join(', ')}`);
      });
      lines.push(`Pot: ${o.pot} chips (you put in ${o.contributed}, your opponent ${o.opponentContributed}).`);
      if (o.opponentCard) lines.push(`Showdown: your opponent had ${o.opponentCard}.`);
      if (o.won !== null) lines.push(o.won > 0 ? `You won ${o.won} chip(s).` : o.won < 0 ? `You lost ${-o.won} chip(s).` : 'The pot is split.');
      else if (o.toMove === seat) lines.push('Your move.');
      return lines.join('\n');
    },
    actionText: (s, action) => {
      if (s.turn === 'chance') return `[deal ${CARD_NAMES[action] ?? action}]`;
      if (action === FOLD) return '[fold]';
      if (action === CALL) return s.raises === 0 ? '[check]' : '[call]';
      if (action === RAISE) return s.raises === 0 ? '[bet]' : '[raise]';
      return `[${action}]`;
    },
  });
}
