import type { Game, Turn } from '../core/index.ts';
import { passViolations } from './instrument.ts';

/** One history of the game tree: the state it reaches, who moves there, and its parent's index. */
export interface TreeNode<S, A> {
  readonly state: S;
  readonly turn: Turn;
  readonly history: readonly A[];
  readonly parent: number;
}

/** The whole tree of a small game, or as much of it as the walk got through and why it stopped. */
export interface Tree<S, A> {
  /** Parents come before their children. */
  readonly nodes: readonly TreeNode<S, A>[];
  /** True when every history was walked (histories longer than maxLength are cut, and reported by `tooLong`). */
  readonly complete: boolean;
  /** Why the walk stopped early. */
  readonly stopped?: string;
  /** The first history found with more actions than maxLength and no terminal state. */
  readonly tooLong?: readonly A[];
  /** The first legal action that apply refused. */
  readonly applyThrew?: { readonly action: A; readonly error: unknown; readonly history: readonly A[] };
}

/** Why the whole-tree pass did not run on a large game. */
export const tooManyHistories = (limit: number) => `the game has more than ${limit.toLocaleString('en-US')} histories`;

/**
 * Walks the game tree depth-first, chance outcomes included, up to `limit`
 * histories. A history that grows past maxLength is cut there (and reported
 * whatever its probability); apply throwing on a legal action is recorded and
 * its branch skipped. Other errors of the game stop the walk.
 */
export function walkWholeTree<S, A>(game: Game<S, A>, limit: number): Tree<S, A> {
  const nodes: TreeNode<S, A>[] = [];
  let tooLong: A[] | undefined;
  let applyThrew: Tree<S, A>['applyThrew'];
  const stack: { state: S; history: A[]; parent: number }[] = [];
  try {
    stack.push({ state: game.initial(), history: [], parent: -1 });
    while (stack.length) {
      const { state, history, parent } = stack.pop()!;
      if (nodes.length >= limit) {
        return { nodes, complete: false, stopped: tooManyHistories(limit), tooLong, applyThrew };
      }
      const turn = game.turn(state);
      const index = nodes.push({ state, turn, history, parent }) - 1;
      if (turn === 'terminal') continue;
      if (history.length > game.maxLength) {
        tooLong ??= history;
        continue;
      }
      const actions = game.legalActions(state);
      const children: { state: S; history: A[]; parent: number }[] = [];
      for (const action of Array.isArray(actions) ? actions : []) {
        try {
          children.push({ state: game.apply(state, action), history: [...history, action], parent: index });
        } catch (error) {
          passViolations(error);
          applyThrew ??= { action, error, history };
        }
      }
      for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
    }
  } catch (error) {
    const what = error instanceof Error ? error.message : String(error);
    return { nodes, complete: false, stopped: `the walk met an error (${what.length > 80 ? `${what.slice(0, 77)}...` : what})`, tooLong, applyThrew };
  }
  return { nodes, complete: true, tooLong, applyThrew };
}

/**
 * Whether the game surely has more than `limit` histories, so that walking it
 * to the limit would be wasted: its histories are counted over its distinct
 * states (by stateKey, each state's subtree once), which for a game with
 * transpositions is far fewer calls than the histories. Any doubt says no and
 * the walk decides: a cycle, a history past maxLength, an error of the
 * game's (the walk reports those).
 */
export function surelyLargerThan<S, A>(game: Game<S, A>, limit: number): boolean {
  const histories = new Map<string, number>();
  const open = new Set<string>();
  let visited = 0;
  const large = new Error('large');
  // The histories of the subtree at `state`, itself included, or undefined when in doubt.
  const count = (state: S, depth: number): number | undefined => {
    const key = game.stateKey(state);
    const known = histories.get(key);
    if (known !== undefined) return known;
    if (open.has(key) || depth > game.maxLength) return undefined;
    // Distinct states are distinct histories: past the limit of them, the tree is past it too.
    if (++visited > limit) throw large;
    open.add(key);
    let n = 1;
    if (game.turn(state) !== 'terminal') {
      for (const action of game.legalActions(state)) {
        const below = count(game.apply(state, action), depth + 1);
        if (below === undefined) return undefined;
        n += below;
        if (n > limit) throw large;
      }
    }
    open.delete(key);
    histories.set(key, n);
    return n;
  };
  try {
    return (count(game.initial(), 0) ?? 0) > limit;
  } catch (error) {
    return error === large;
  }
}
