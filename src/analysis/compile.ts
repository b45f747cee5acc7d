import { ConfigError, GameTooLargeError, type Game } from '../core/index.ts';

/** `CompiledGame.player` of a chance node. */
export const CHANCE = -1;
/** `CompiledGame.player` of a terminal node. */
export const TERMINAL = -2;

/**
 * A small game's whole history tree as flat typed arrays, so that tree
 * algorithms run without calling the game or allocating per node.
 *
 * Nodes are numbered breadth-first from the root (node 0), so every node's
 * children are contiguous, come after it, and node n's children are
 * `childStart[n] .. childStart[n + 1] - 1`. Walking the nodes in reverse order
 * visits every child before its parent.
 *
 * Information states are numbered too; each owns a run of action slots
 * `actionStart[i] .. actionStart[i + 1] - 1`, one per legal action in
 * `legalActions` order, and a strategy is a Float64Array over all slots.
 */
export interface CompiledGame {
  readonly game: Game;
  readonly seats: number;
  readonly nodeCount: number;
  /** Per node: the seat to move, CHANCE or TERMINAL. */
  readonly player: Int8Array;
  /** Per node, plus one: where its children start. */
  readonly childStart: Int32Array;
  /** Per node: its information state (decision nodes), else -1. */
  readonly infoset: Int32Array;
  /** Per node: the probability of the chance outcome that led to it (1 below decision nodes and at the root). */
  readonly chanceProbability: Float64Array;
  /** Per node and seat (`n * seats + seat`): the returns at terminal nodes, 0 elsewhere. */
  readonly utility: Float64Array;

  readonly infosetCount: number;
  /** Per information state: the seat that owns it. */
  readonly infosetSeat: Int8Array;
  /** Per information state, plus one: where its action slots start. */
  readonly actionStart: Int32Array;
  /** Per information state, plus one: where its nodes start in `infosetNodes`. */
  readonly infosetNodeStart: Int32Array;
  /** The decision nodes of each information state, grouped. */
  readonly infosetNodes: Int32Array;
  /** Per information state: the game's `infoKey`. */
  readonly infoKeys: readonly string[];
  /** Per information state: `actionText` of each legal action, in slot order. */
  readonly actionTexts: readonly (readonly string[])[];
  /** Per seat: its decision nodes and its information states. */
  readonly seatNodes: readonly Int32Array[];
  readonly seatInfosets: readonly Int32Array[];
}

export interface CompileOptions {
  /** Refuse games with more histories than this (default 5,000,000). */
  readonly maxNodes?: number;
}

const cache = new WeakMap<Game, CompiledGame>();

/**
 * The compiled tree of `game`, built on first use and cached per game object.
 * Throws GameTooLargeError for a game with more than `maxNodes` histories, and
 * ConfigError when the game's information-state keys cannot serve a tabular
 * policy (one key shared by two seats, or by histories with different legal actions).
 */
export function compile(game: Game, options: CompileOptions = {}): CompiledGame {
  let compiled = cache.get(game);
  if (!compiled) {
    compiled = build(game, options.maxNodes ?? 5_000_000);
    cache.set(game, compiled);
  }
  return compiled;
}

function build(game: Game, maxNodes: number): CompiledGame {
  const seats = game.seats;
  const player: number[] = [];
  const childStart: number[] = [];
  const infoset: number[] = [];
  const chanceProbability: number[] = [1];
  const utility: number[] = [];

  const infosetIndex = new Map<string, number>();
  const infosetSeat: number[] = [];
  const infoKeys: string[] = [];
  const actionTexts: string[][] = [];
  const nodesOf: number[][] = [];

  // Breadth-first: `queue[n]` is node n's state, dropped once expanded.
  const queue: unknown[] = [game.initial()];
  for (let n = 0; n < queue.length; n++) {
    const state = queue[n];
    queue[n] = undefined;
    childStart.push(queue.length);
    const turn = game.turn(state);
    const push = (child: unknown, probability: number) => {
      if (queue.length >= maxNodes) throw new GameTooLargeError(`${game.id} has more than ${maxNodes} histories; too large to compile`);
      queue.push(child);
      chanceProbability.push(probability);
    };

    if (turn === 'terminal') {
      player.push(TERMINAL);
      infoset.push(-1);
      const returns = game.returns(state);
      for (let seat = 0; seat < seats; seat++) utility.push(returns[seat]);
      continue;
    }
    for (let seat = 0; seat < seats; seat++) utility.push(0);
    if (turn === 'chance') {
      player.push(CHANCE);
      infoset.push(-1);
      for (const outcome of game.chanceOutcomes(state)) push(game.apply(state, outcome.action), outcome.probability);
      continue;
    }

    const actions = game.legalActions(state);
    const key = game.infoKey(state, turn);
    const texts = actions.map((action) => game.actionText(state, action));
    let index = infosetIndex.get(key);
    if (index === undefined) {
      index = infoKeys.length;
      infosetIndex.set(key, index);
      infosetSeat.push(turn);
      infoKeys.push(key);
      actionTexts.push(texts);
      nodesOf.push([]);
    } else if (infosetSeat[index] !== turn) {
      throw new ConfigError(`${game.id}: infoKey "${key}" names information states of seats ${infosetSeat[index]} and ${turn}; tabular policies need distinct keys`);
    } else if (texts.join('\u0000') !== actionTexts[index].join('\u0000')) {
      throw new ConfigError(`${game.id}: infoKey "${key}" covers histories with different legal actions (${actionTexts[index].join(' ')} and ${texts.join(' ')})`);
    }
    player.push(turn);
    infoset.push(index);
    nodesOf[index].push(n);
    for (const action of actions) push(game.apply(state, action), 1);
  }
  childStart.push(queue.length);

  const actionStart = new Int32Array(infoKeys.length + 1);
  const infosetNodeStart = new Int32Array(infoKeys.length + 1);
  for (let i = 0; i < infoKeys.length; i++) {
    actionStart[i + 1] = actionStart[i] + actionTexts[i].length;
    infosetNodeStart[i + 1] = infosetNodeStart[i] + nodesOf[i].length;
  }
  const seatList = (indices: number[], owner: (i: number) => number) =>
    Array.from({ length: seats }, (_, seat) => Int32Array.from(indices.filter((i) => owner(i) === seat)));
  const nodeIndices = Array.from({ length: player.length }, (_, n) => n);
  const infosetIndices = Array.from({ length: infoKeys.length }, (_, i) => i);

  return {
    game,
    seats,
    nodeCount: player.length,
    player: Int8Array.from(player),
    childStart: Int32Array.from(childStart),
    infoset: Int32Array.from(infoset),
    chanceProbability: Float64Array.from(chanceProbability),
    utility: Float64Array.from(utility),
    infosetCount: infoKeys.length,
    infosetSeat: Int8Array.from(infosetSeat),
    actionStart,
    infosetNodeStart,
    infosetNodes: Int32Array.from(nodesOf.flat()),
    infoKeys,
    actionTexts,
    seatNodes: seatList(nodeIndices, (n) => player[n]),
    seatInfosets: seatList(infosetIndices, (i) => infosetSeat[i]),
  };
}
