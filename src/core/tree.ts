import type { Game, Turn } from './game.ts';

export interface WalkOptions {
  /** Stop (and report `complete: false`) after visiting this many nodes. */
  readonly maxNodes?: number;
  /** `history` visits every history; `state` visits each distinct `stateKey` once. */
  readonly dedupe?: 'history' | 'state';
}

export interface WalkResult {
  readonly nodes: number;
  /** False when the walk stopped at maxNodes, or at a history longer than the game's maxLength. */
  readonly complete: boolean;
}

/**
 * Depth-first walk of a game's tree from the initial state, visiting every node
 * (chance, decision and terminal) before its children.
 */
export function walkTree<S, A>(
  game: Game<S, A>,
  visit: (state: S, turn: Turn, depth: number) => void,
  options: WalkOptions = {},
): WalkResult {
  const maxNodes = options.maxNodes ?? Infinity;
  const seen = options.dedupe === 'state' ? new Set<string>() : null;
  let nodes = 0;
  let complete = true;

  const walk = (state: S, depth: number): void => {
    if (nodes >= maxNodes || depth > game.maxLength) {
      complete = false;
      return;
    }
    if (seen) {
      const key = game.stateKey(state);
      if (seen.has(key)) return;
      seen.add(key);
    }
    nodes++;
    const turn = game.turn(state);
    visit(state, turn, depth);
    if (turn === 'terminal') return;
    for (const action of game.legalActions(state)) {
      walk(game.apply(state, action), depth + 1);
      if (!complete) return;
    }
  };
  walk(game.initial(), 0);
  return { nodes, complete };
}
