import { defineGame, type Game } from '../../src/core/index.ts';

type Parity = 'odd' | 'even';

/**
 * Matching pennies played in words: each seat says anything, and the parity of its answer's length is its move
 * (seat 0 wins when the parities match). Any reply is a legal move, so a language model that cannot yet name
 * moves still plays whole games: what tests of free-text sampling need.
 */
export function parityPennies(): Game<Parity[], Parity> {
  return defineGame<Parity[], Parity>({
    id: 'parity-pennies',
    description: 'Matching pennies: say anything; the parity of its length is your move. Player 0 wins when the parities match.',
    seats: 2,
    maxLength: 2,
    utility: 'zero-sum',
    returnRange: [-1, 1],
    perfectInformation: false,
    initial: () => [],
    turn: (s) => (s.length === 2 ? 'terminal' : s.length),
    legalActions: () => ['odd', 'even'],
    apply: (s, a) => [...s, a],
    returns: (s) => (s[0] === s[1] ? [1, -1] : [-1, 1]),
    history: (s) => s,
    observe: (s, seat) => ({ seat, moved: s.length }),
    infoKey: (s, seat) => `${seat}:${s.length}`,
    parseAction: (_, text) => (text.length % 2 === 1 ? 'odd' : 'even'),
  });
}
