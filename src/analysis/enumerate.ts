import { GameTooLargeError, walkTree, type Game } from '../core/index.ts';

export interface TreeCounts {
  /** Nodes of the history tree by kind. */
  readonly chance: number;
  readonly decision: number;
  readonly terminal: number;
  /** Distinct `stateKey`s, and how many of them are not terminal. */
  readonly states: number;
  readonly nonTerminalStates: number;
  /** Distinct information states (seat and infoKey) at decision nodes, in all and per seat. */
  readonly infoStates: number;
  readonly infoStatesPerSeat: readonly number[];
}

/**
 * Walks the whole tree of a small game. Throws when it has more than
 * `maxNodes` histories, so a large game fails fast instead of running for hours.
 */
export function enumerate(game: Game, maxNodes = 5_000_000): TreeCounts {
  let chance = 0;
  let decision = 0;
  let terminal = 0;
  const states = new Map<string, boolean>();
  const infoSets = Array.from({ length: game.seats }, () => new Set<string>());

  const result = walkTree(
    game,
    (state, turn) => {
      states.set(game.stateKey(state), turn === 'terminal');
      if (turn === 'terminal') terminal++;
      else if (turn === 'chance') chance++;
      else {
        decision++;
        infoSets[turn].add(game.infoKey(state, turn));
      }
    },
    { maxNodes },
  );
  if (!result.complete) throw new GameTooLargeError(`${game.id} has more than ${maxNodes} histories; too large to enumerate`);

  let nonTerminalStates = 0;
  for (const isTerminal of states.values()) if (!isTerminal) nonTerminalStates++;
  const infoStatesPerSeat = infoSets.map((set) => set.size);
  return {
    chance,
    decision,
    terminal,
    states: states.size,
    nonTerminalStates,
    infoStates: infoStatesPerSeat.reduce((a, b) => a + b, 0),
    infoStatesPerSeat,
  };
}
