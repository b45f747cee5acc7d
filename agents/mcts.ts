import { ConfigError, randomPlayout, replay, type Game, type Rng, type Turn } from '../src/core/index.ts';
import { policyAgent, type Agent } from '../src/runtime/agent.ts';

export interface MctsOptions {
  /** Simulations per move (default 1000). */
  readonly iterations?: number;
  /** The UCT exploration constant c (default sqrt(2)); rewards are scaled to [0, 1] by the game's returnRange. */
  readonly exploration?: number;
}

export interface MctsSearchOptions extends MctsOptions {
  readonly rng: Rng;
}

export interface MctsResult<A> {
  /** The most visited action at the root. */
  readonly action: A;
  /** Its index in `game.legalActions(state)`. */
  readonly index: number;
  /** Visits of each root action, in `game.legalActions(state)` order. */
  readonly visits: readonly number[];
}

export const MCTS_DEFAULTS = { iterations: 1000, exploration: Math.SQRT2 } as const;

const NO_ACTIONS: readonly never[] = Object.freeze([]);

/**
 * A search-tree node. Decision nodes expand one untried action per visit;
 * chance nodes create the child of each sampled outcome when it first comes up.
 * `value` sums the rewards of `mover`, the seat whose choice led here.
 */
class Node<S, A> {
  visits = 0;
  value = 0;
  /** Decision nodes: children in expansion order. Chance nodes: children by outcome index. */
  readonly children: Node<S, A>[] = [];
  /** Decision nodes: indices of actions not yet expanded. */
  untried: number[] | null = null;
  /** Chance nodes: outcome probabilities, parallel to `actions`. */
  probabilities: number[] | null = null;
  /** Terminal nodes: each seat's return scaled to [0, 1]. */
  rewards: number[] | null = null;
  readonly actions: readonly A[];
  readonly turn: Turn;

  constructor(
    game: Game<S, A>,
    readonly state: S,
    readonly mover: number,
    /** Index of the action (or outcome) that led here, in the parent's list. */
    readonly index: number,
    scale: (returns: readonly number[]) => number[],
  ) {
    this.turn = game.turn(state);
    if (this.turn === 'terminal') {
      this.actions = NO_ACTIONS;
      this.rewards = scale(game.returns(state));
    } else if (this.turn === 'chance') {
      const outcomes = game.chanceOutcomes(state);
      this.actions = outcomes.map((o) => o.action);
      this.probabilities = outcomes.map((o) => o.probability);
    } else {
      this.actions = game.legalActions(state);
      this.untried = Array.from({ length: this.actions.length }, (_, i) => i);
    }
  }
}

/**
 * UCT Monte Carlo tree search from `state` (a seat must be to move): each
 * simulation descends by UCB1 from the mover's point of view, expands one
 * action, plays uniformly random moves to the end, and credits every node with
 * the return of the seat that chose it, so any number of seats works. Chance
 * outcomes are sampled by probability. The search sees the whole state; it
 * suits perfect-information games.
 */
export function mctsSearch<S, A>(game: Game<S, A>, state: S, options: MctsSearchOptions): MctsResult<A> {
  const { iterations, exploration } = resolveOptions(options);
  const rng = options.rng;
  const [low, high] = game.returnRange;
  const span = high - low;
  const scale = (returns: readonly number[]) => returns.map((r) => (span > 0 ? (r - low) / span : 0.5));

  const root = new Node(game, state, -1, -1, scale);
  if (typeof root.turn !== 'number') throw new ConfigError(`${game.id}: mcts needs a seat to move, not ${root.turn}`);
  if (root.actions.length === 0) throw new ConfigError(`${game.id}: the seat to move has no legal action`);

  const path: Node<S, A>[] = [];
  for (let i = 0; i < iterations; i++) {
    path.length = 0;
    let node = root;
    path.push(node);
    let rewards: number[] | null = null;
    for (;;) {
      const turn = node.turn;
      if (turn === 'terminal') {
        rewards = node.rewards;
        break;
      }
      if (turn === 'chance') {
        const k = rng.weighted(node.probabilities!);
        let child = node.children[k];
        if (child === undefined) {
          child = new Node(game, game.apply(node.state, node.actions[k]), -1, k, scale);
          node.children[k] = child;
        }
        node = child;
        path.push(node);
        continue;
      }
      const untried = node.untried!;
      if (untried.length > 0) {
        const pick = rng.int(untried.length);
        const k = untried[pick];
        untried[pick] = untried[untried.length - 1];
        untried.pop();
        const child = new Node(game, game.apply(node.state, node.actions[k]), turn, k, scale);
        node.children.push(child);
        path.push(child);
        rewards = child.rewards ?? scale(game.returns(randomPlayout(game, rng, child.state)));
        break;
      }
      node = selectChild(node, exploration);
      path.push(node);
    }
    for (const visited of path) {
      visited.visits++;
      if (visited.mover >= 0) visited.value += rewards![visited.mover];
    }
  }

  const visits = new Array<number>(root.actions.length).fill(0);
  let best: Node<S, A> | null = null;
  for (const child of root.children) {
    visits[child.index] = child.visits;
    if (best === null || child.visits > best.visits || (child.visits === best.visits && child.value > best.value)) best = child;
  }
  // With fewer iterations than actions some actions stay unvisited; iterations >= 1 guarantees one child.
  return { action: root.actions[best!.index], index: best!.index, visits };
}

/** The child maximising UCB1 for the seat to move at `node` (every child has been visited). */
function selectChild<S, A>(node: Node<S, A>, exploration: number): Node<S, A> {
  const children = node.children;
  const logVisits = Math.log(node.visits);
  let best = children[0];
  let bestScore = -Infinity;
  for (let i = 0; i < children.length; i++) {
    const child = children[i];
    const score = child.value / child.visits + exploration * Math.sqrt(logVisits / child.visits);
    if (score > bestScore) {
      bestScore = score;
      best = child;
    }
  }
  return best;
}

/** The options with defaults filled in; throws ConfigError for values out of range. */
function resolveOptions(options: MctsOptions): Required<MctsOptions> {
  const iterations = options.iterations ?? MCTS_DEFAULTS.iterations;
  const exploration = options.exploration ?? MCTS_DEFAULTS.exploration;
  if (!Number.isInteger(iterations) || iterations < 1) throw new ConfigError(`mcts: iterations must be a positive integer (got ${iterations})`);
  if (!Number.isFinite(exploration) || exploration < 0) throw new ConfigError(`mcts: the exploration constant c must be a finite number >= 0 (got ${exploration})`);
  return { iterations, exploration };
}

/**
 * An agent that searches each move with UCT. It rebuilds the position from the
 * history in the turn's view, which is only sent for perfect-information games,
 * so imperfect-information games are refused here.
 */
export function mctsAgent<S, A>(game: Game<S, A>, options: MctsOptions = {}): Agent {
  if (!game.perfectInformation) {
    throw new ConfigError(`mcts plays perfect-information games only; ${game.id} has hidden information (try tabular)`);
  }
  const settings = resolveOptions(options);
  return policyAgent((turn, { rng }) => {
    const history = turn.view.history;
    if (!history) throw new ConfigError(`mcts: turn ${turn.step} of match ${turn.matchId} carries no history to rebuild the position from`);
    const state = replay(game, history as A[]);
    const legal = game.legalActions(state).length;
    if (legal !== turn.legal.length) {
      throw new ConfigError(`mcts: the turn lists ${turn.legal.length} legal actions but the position rebuilt from its history has ${legal}`);
    }
    return turn.legal[mctsSearch(game, state, { ...settings, rng }).index];
  });
}

/** MCTS options from a spec's strings: `iterations` and `c`. */
export function parseMctsOptions(options: Readonly<Record<string, string>>): MctsOptions {
  const number = (key: string, text: string) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value)) throw new ConfigError(`mcts: ${key}=${text} is not a number`);
    return value;
  };
  const parsed: { iterations?: number; exploration?: number } = {};
  for (const [key, text] of Object.entries(options)) {
    if (key === 'iterations') parsed.iterations = number(key, text);
    else if (key === 'c') parsed.exploration = number(key, text);
    else throw new ConfigError(`mcts: unknown option "${key}"; options: iterations (default ${MCTS_DEFAULTS.iterations}), c (default sqrt(2))`);
  }
  return resolveOptions(parsed);
}
