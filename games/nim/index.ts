import { z } from 'zod';
import { append, assertLegal, defineGame, parseParams, type Game } from '../../src/core/index.ts';

/**
 * Nim, the tutorial game. There are a few heaps of objects; the two players take
 * turns removing one or more objects from a single heap, and whoever takes the
 * last object wins (normal play). Heaps are numbered from 1, in actions and in text.
 *
 * A game is a plain object of pure functions (see src/core/game.ts); `defineGame`
 * fills in what we leave out. States are immutable values: `apply` returns a new one.
 */

/** Take `take` objects from heap number `heap` (1 is the first heap). */
export interface NimAction {
  readonly heap: number;
  readonly take: number;
}

export interface NimState {
  /** Objects left in each heap. */
  readonly heaps: readonly number[];
  /** Every move so far; its length tells whose turn it is. */
  readonly history: readonly NimAction[];
}

// Parameters arrive as strings from the command line (`nim:heaps=1,3,5`) or as
// values from code; zod checks them and gives the defaults.
const paramsSchema = z
  .object({
    heaps: z.coerce
      .string()
      .regex(/^\s*[1-9]\d{0,2}(\s*,\s*[1-9]\d{0,2}){0,19}\s*$/, 'expected 1 to 20 heap sizes from 1 to 999, separated by commas, e.g. "3,4,5"')
      .default('3,4,5'),
  })
  .strict();

export function nim(raw: Record<string, unknown> = {}): Game<NimState, NimAction> {
  const sizes = parseParams('nim', paramsSchema, raw).heaps.split(',').map(Number);
  const total = sizes.reduce((sum, n) => sum + n, 0);

  // Typed explicitly because the functions below call `game` itself (game.turn, game.returns).
  const game: Game<NimState, NimAction> = defineGame<NimState, NimAction>({
    id: 'nim',
    params: { heaps: sizes.join(',') },
    description: `Nim with heaps ${sizes.join(', ')}: take any number of objects from one heap; whoever takes the last object wins.`,
    seats: 2,
    maxLength: total, // every move takes at least one object
    utility: 'zero-sum',
    returnRange: [-1, 1],

    initial: () => ({ heaps: sizes, history: [] }),

    // Player 0 moves first; the game ends when every heap is empty.
    turn: (s) => (s.heaps.every((n) => n === 0) ? 'terminal' : s.history.length % 2),

    legalActions: (s) => {
      const moves: NimAction[] = [];
      s.heaps.forEach((size, i) => {
        for (let take = 1; take <= size; take++) moves.push({ heap: i + 1, take });
      });
      return moves;
    },

    apply: (s, action) => {
      assertLegal(game, s, action); // throws IllegalActionError, listing the legal moves
      const heaps = s.heaps.slice();
      heaps[action.heap - 1] -= action.take;
      return { heaps, history: append(s.history, { heap: action.heap, take: action.take }) };
    },

    // The player who made the last move took the last object and wins.
    returns: (s) => {
      if (game.turn(s) !== 'terminal') return [0, 0];
      return (s.history.length - 1) % 2 === 0 ? [1, -1] : [-1, 1];
    },

    history: (s) => s.history,

    // Two states with the same heaps and the same player to move are the same position.
    stateKey: (s) => `${s.heaps.join(',')}|${s.history.length % 2}`,

    // The text layer, for language models. The default parser matches a reply's
    // last [...] or \boxed{...} against these action texts, ignoring case and spacing.
    rules: (seat) =>
      `You are Player ${seat} in a game of Nim. There ${sizes.length === 1 ? 'is one heap' : `are ${sizes.length} heaps`} of objects, numbered from 1. ` +
      'Players take turns; on your turn you remove one or more objects from a single heap. ' +
      'Whoever takes the last object wins. ' +
      'Write your move in brackets, for example [take 2 from heap 1] removes 2 objects from heap 1.',

    observationText: (s, seat) => {
      const heaps = s.heaps.map((n, i) => `  heap ${i + 1}: ${n} ${'|'.repeat(n)}`).join('\n');
      const turn = game.turn(s);
      const status =
        turn === 'terminal' ? (game.returns(s)[seat] > 0 ? 'You took the last object: you won.' : 'Your opponent took the last object: you lost.')
        : turn === seat ? 'Your move.'
        : "Opponent's move.";
      return `You are Player ${seat}. Heaps:\n${heaps}\n${status}`;
    },

    actionText: (_s, action) => `[take ${action.take} from heap ${action.heap}]`,
  });
  return game;
}
