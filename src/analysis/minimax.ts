import { ConfigError, GameTooLargeError, type Game } from '../core/index.ts';

export interface MinimaxOptions<S> {
  /** The position to solve (default: the initial state). */
  readonly state?: S;
  /** Alpha-beta pruning (default true). Without it every state reachable from the position is solved exactly. */
  readonly pruning?: boolean;
  /** Give up with a GameTooLargeError past this many distinct states (default 5,000,000), rather than exhaust memory. */
  readonly maxStates?: number;
}

export interface MinimaxResult {
  /** Each seat's value under optimal play: seat 0's value and its negation. */
  readonly values: readonly [number, number];
  /** Distinct states (by `stateKey`) searched, terminal ones included. */
  readonly states: number;
}

export interface SearchOptions<S> {
  /** Plies to look ahead (chance moves count as plies); at least 1. */
  readonly depth: number;
  /** Estimated returns per seat of a non-terminal state at the depth limit; seat 0's entry is used. */
  readonly evaluate: (state: S) => readonly number[];
  /** Alpha-beta pruning (default true). */
  readonly pruning?: boolean;
}

export interface SearchResult<A> {
  /** The best action for the seat to move (the first of equal ones, in `legalActions` order). */
  readonly action: A;
  /** The searched value of that action per seat. */
  readonly values: readonly [number, number];
  /** Distinct states (by `stateKey`) searched. */
  readonly states: number;
}

/**
 * Solves a two-player zero-sum perfect-information game (or a position in it)
 * by expectiminimax: seat 0 maximises, seat 1 minimises, chance nodes average.
 * Alpha-beta pruning with a transposition table keyed by `stateKey`.
 */
export function minimax<S, A>(game: Game<S, A>, options: MinimaxOptions<S> = {}): MinimaxResult {
  const search = new AlphaBeta(game, undefined, options.pruning ?? true, options.maxStates ?? 5_000_000);
  const value = search.value(options.state ?? game.initial(), Infinity, -Infinity, Infinity);
  return { values: [value, 0 - value], states: search.states };
}

/**
 * The best action in `state` by depth-limited expectiminimax with alpha-beta
 * pruning, scoring positions at the depth limit with `evaluate`: for games too
 * large to solve. Each call starts a fresh transposition table.
 */
export function bestAction<S, A>(game: Game<S, A>, state: S, options: SearchOptions<S>): SearchResult<A> {
  const { depth, evaluate } = options;
  if (!Number.isInteger(depth) || depth < 1) throw new ConfigError(`search depth must be a positive integer, not ${depth}`);
  const turn = game.turn(state);
  if (typeof turn !== 'number') throw new ConfigError(`${game.id}: no seat is to move in this state (${turn})`);

  const search = new AlphaBeta(game, evaluate, options.pruning ?? true, Infinity);
  const maximising = turn === 0;
  let alpha = -Infinity;
  let beta = Infinity;
  let best: { action: A; value: number } | undefined;
  for (const action of game.legalActions(state)) {
    const value = search.value(game.apply(state, action), depth - 1, alpha, beta);
    if (!best || (maximising ? value > best.value : value < best.value)) best = { action, value };
    if (maximising) alpha = Math.max(alpha, value);
    else beta = Math.min(beta, value);
  }
  if (!best) throw new ConfigError(`${game.id}: seat ${turn} has no legal action`);
  return { action: best.action, values: [best.value, 0 - best.value], states: search.states };
}

const EXACT = 0;
const LOWER = 1;
const UPPER = 2;

interface Entry {
  readonly value: number;
  /** Plies searched below the state (Infinity: solved). */
  readonly depth: number;
  readonly bound: typeof EXACT | typeof LOWER | typeof UPPER;
}

/** Fail-soft alpha-beta over seat 0's return, remembering results and bounds per `stateKey`. */
class AlphaBeta<S, A> {
  private readonly table = new Map<string, Entry>();

  constructor(
    private readonly game: Game<S, A>,
    private readonly evaluate: ((state: S) => readonly number[]) | undefined,
    private readonly pruning: boolean,
    private readonly maxStates: number,
  ) {
    if (!game.perfectInformation || game.seats !== 2 || game.utility !== 'zero-sum') {
      throw new ConfigError(`${game.id}: minimax needs a two-player zero-sum perfect-information game`);
    }
  }

  get states(): number {
    return this.table.size;
  }

  /** Seat 0's value of `state` searched `depth` plies deep: exact inside (alpha, beta), else a bound beyond it. */
  value(state: S, depth: number, alpha: number, beta: number): number {
    const { game } = this;
    const key = game.stateKey(state);
    const known = this.table.get(key);
    if (known && known.depth >= depth) {
      if (known.bound === EXACT || (known.bound === LOWER && known.value >= beta) || (known.bound === UPPER && known.value <= alpha)) return known.value;
    }

    const turn = game.turn(state);
    let value: number;
    let bound: Entry['bound'] = EXACT;
    if (turn === 'terminal') {
      value = game.returns(state)[0];
      depth = Infinity;
    } else if (depth <= 0) {
      value = this.evaluate!(state)[0];
    } else if (turn === 'chance') {
      value = 0;
      for (const outcome of game.chanceOutcomes(state)) value += outcome.probability * this.value(game.apply(state, outcome.action), depth - 1, -Infinity, Infinity);
    } else {
      const maximising = turn === 0;
      let low = alpha;
      let high = beta;
      value = maximising ? -Infinity : Infinity;
      for (const action of game.legalActions(state)) {
        const child = this.value(game.apply(state, action), depth - 1, low, high);
        if (maximising) {
          value = Math.max(value, child);
          low = Math.max(low, child);
        } else {
          value = Math.min(value, child);
          high = Math.min(high, child);
        }
        if (this.pruning && low >= high) break;
      }
      bound = value <= alpha ? UPPER : value >= beta ? LOWER : EXACT;
    }
    this.table.set(key, { value, depth, bound });
    if (this.table.size > this.maxStates) {
      throw new GameTooLargeError(`${game.id}: more than ${this.maxStates} distinct states, too many to solve exactly; search to a fixed depth with bestAction instead`);
    }
    return value;
  }
}
