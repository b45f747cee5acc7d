import { ConfigError, IllegalActionError, ParseError } from './errors.ts';
import { candidateText, normalizeActionText } from './text.ts';

/** Who moves in a state: a seat number (0-based), chance, or nobody (the game is over). */
export type Turn = number | 'chance' | 'terminal';

export interface ChanceOutcome<A> {
  readonly action: A;
  readonly probability: number;
}

/** How returns relate across seats; `zero-sum` games' returns sum to 0 at every terminal. */
export type Utility = 'zero-sum' | 'constant-sum' | 'general-sum';

export type ParamValue = string | number | boolean;
export type GameParams = Readonly<Record<string, ParamValue>>;

/**
 * A game: pure functions over immutable states. Actions are plain data (numbers,
 * strings or JSON objects) so that a state can be stored as its action history.
 */
export interface Game<S = any, A = any> {
  readonly id: string;
  readonly params: GameParams;
  readonly description: string;
  readonly seats: number;
  /** The most actions, chance outcomes included, that any history can hold. */
  readonly maxLength: number;
  readonly utility: Utility;
  /** Every return of every seat lies in [min, max]. */
  readonly returnRange: readonly [number, number];
  readonly perfectInformation: boolean;

  initial(): S;
  turn(state: S): Turn;
  /** The mover's actions in a stable order (at a chance node: the outcomes' actions). */
  legalActions(state: S): readonly A[];
  /** Outcomes with probabilities at a chance node; empty elsewhere. */
  chanceOutcomes(state: S): readonly ChanceOutcome<A>[];
  /** A new state; the input is never changed. Throws IllegalActionError. */
  apply(state: S, action: A): S;
  /** One return per seat; meaningful at terminal states. */
  returns(state: S): readonly number[];
  /** Every action applied since `initial()`, chance outcomes included. */
  history(state: S): readonly A[];
  /** Everything `seat` may see, as plain data, and nothing more. */
  observe(state: S, seat: number): unknown;
  /** Identifies the seat's information state (with perfect recall). */
  infoKey(state: S, seat: number): string;
  /** Identifies the position: equal keys mean interchangeable states. */
  stateKey(state: S): string;

  /** The rules as a language model playing `seat` should read them: the same text at every call (a referee reuses it). */
  rules(seat: number): string;
  observationText(state: S, seat: number): string;
  /** How an action is written, e.g. `[bet]`; distinct legal actions have distinct texts. */
  actionText(state: S, action: A): string;
  /** Reads an action out of free text (a model's reply); throws ParseError. */
  parseAction(state: S, text: string): A;
  /**
   * True where the mover writes its action (a program, a verdict) instead of
   * choosing one from a list: `legalActions` is empty there and every action
   * `parseAction` returns is legal. Environments have such turns; games do not.
   */
  openTurn?(state: S): boolean;
  /**
   * At an open turn, the action taken for a seat that fails to answer (no
   * reply in time, a crashed agent, a reply that cannot be read): the game
   * scores the failure by its own rules instead of the referee's forfeit.
   */
  failedTurnAction?(state: S, reason: string): A;
}

export type StateOf<G> = G extends Game<infer S, any> ? S : never;
export type ActionOf<G> = G extends Game<any, infer A> ? A : never;

type Optional = 'params' | 'perfectInformation' | 'chanceOutcomes' | 'observe' | 'infoKey' | 'stateKey' | 'rules' | 'observationText' | 'actionText' | 'parseAction';

/** What `defineGame` needs: the rules; the text layer and keys have sensible defaults. */
export type GameSpec<S, A> = Omit<Game<S, A>, Optional> & Partial<Pick<Game<S, A>, Optional>>;

const noChance: readonly ChanceOutcome<never>[] = Object.freeze([]);

/**
 * Completes a game from its rules. Perfect-information games may omit `observe`
 * and `infoKey` (the whole state is visible, the history is the information
 * state); imperfect-information games must give both.
 */
export function defineGame<S, A>(spec: GameSpec<S, A>): Game<S, A> {
  const perfectInformation = spec.perfectInformation ?? true;
  if (!perfectInformation && (!spec.observe || !spec.infoKey)) {
    throw new ConfigError(`game ${spec.id}: an imperfect-information game must define observe() and infoKey()`);
  }
  if (!Number.isInteger(spec.seats) || spec.seats < 1) throw new ConfigError(`game ${spec.id}: seats must be a positive integer`);
  if (!Number.isInteger(spec.maxLength) || spec.maxLength < 1) throw new ConfigError(`game ${spec.id}: maxLength must be a positive integer`);

  const game: Game<S, A> = {
    params: {},
    chanceOutcomes: () => noChance,
    observe: (state) => state,
    infoKey: (state) => JSON.stringify(game.history(state)),
    stateKey: (state) => JSON.stringify(game.history(state)),
    rules: () => spec.description,
    observationText: (state, seat) => JSON.stringify(game.observe(state, seat)),
    actionText: (_state, action) => `[${typeof action === 'string' || typeof action === 'number' ? action : JSON.stringify(action)}]`,
    parseAction: (state, text) => matchLegalAction(game, state, text),
    ...spec,
    perfectInformation,
  };
  return game;
}

/** Structural equality of two actions as plain data: key order and prototypes do not matter. */
export function sameAction(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return Number.isNaN(a) && Number.isNaN(b);
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameAction((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

export function isLegal<S, A>(game: Game<S, A>, state: S, action: A): boolean {
  return game.legalActions(state).some((legal) => sameAction(legal, action));
}

/** Throws IllegalActionError unless `action` is legal in `state`; for games that validate the simple way. */
export function assertLegal<S, A>(game: Game<S, A>, state: S, action: A): void {
  if (isLegal(game, state, action)) return;
  const turn = game.turn(state);
  if (turn === 'terminal') throw new IllegalActionError(`${game.id}: no action is legal, the game is over (got ${JSON.stringify(action)})`);
  const legal = game.legalActions(state).map((a) => JSON.stringify(a)).join(', ');
  throw new IllegalActionError(`${game.id}: ${JSON.stringify(action)} is not legal for ${turn === 'chance' ? 'chance' : `seat ${turn}`}; legal: ${legal}`);
}

/**
 * The default parser: takes the last `\boxed{...}` or `[...]` in the text (or the
 * whole text when there is none) and matches it against the legal actions' texts,
 * ignoring case, brackets and repeated whitespace.
 */
export function matchLegalAction<S, A>(game: Game<S, A>, state: S, text: string): A {
  if (typeof text !== 'string') throw new ParseError(`expected text, got ${typeof text}`);
  if (game.turn(state) === 'terminal') throw new ParseError('the game is over: no action can be read');
  const wanted = normalizeActionText(candidateText(text));
  const legal = game.legalActions(state);
  for (const action of legal) {
    if (normalizeActionText(game.actionText(state, action)) === wanted) return action;
  }
  const options = legal.map((a) => game.actionText(state, a)).join(' ');
  const shown = wanted.length > 40 ? `${wanted.slice(0, 40)}...` : wanted;
  throw new ParseError(`"${shown}" is not a legal action; answer with one of: ${options}`);
}
