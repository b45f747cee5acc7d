import { IllegalActionError, ParseError, type Game } from '../core/index.ts';

/** A broken rule, with the history that leads to the state where it broke. */
export class Violation extends Error {
  constructor(
    message: string,
    readonly history?: readonly unknown[],
  ) {
    super(message);
    this.name = 'Violation';
  }
}

/** JSON-like text of a value that also shows NaN, Infinity and undefined as themselves. */
export function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  try {
    // The quick way first: JSON writes NaN, Infinity and undefined in lists as null, so only then look closer.
    const plain = JSON.stringify(value);
    if (plain !== undefined && !plain.includes('null')) return plain;
    const special = new Map<string, string>();
    const text = JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) {
        const mark = `\u0000${special.size}\u0000`;
        special.set(mark, String(v));
        return mark;
      }
      if (v === undefined) return undefined;
      if (typeof v === 'bigint') return `${v}n`;
      return v;
    });
    if (text === undefined) return String(value);
    let out = text;
    for (const [mark, v] of special) out = out.split(JSON.stringify(mark)).join(v);
    return out;
  } catch {
    return String(value);
  }
}

/** A call of a game function that took longer than its time budget. */
export class Overrun extends Violation {}

export const errorText = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : show(error));

/** Text shown for a function's input in a report: long strings are cut. */
const showArg = (value: unknown) => {
  const text = show(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

/** The game functions that take a state first, and how a report names their other arguments. */
const STATE_FUNCTIONS = [
  'turn',
  'legalActions',
  'chanceOutcomes',
  'apply',
  'returns',
  'history',
  'observe',
  'infoKey',
  'stateKey',
  'observationText',
  'actionText',
  'parseAction',
] as const;
export type GameFunction = (typeof STATE_FUNCTIONS)[number] | 'initial' | 'rules';

export interface BudgetOptions {
  /** Milliseconds one call of a game function may take (default 250). */
  readonly callMs?: number;
  /** Extra milliseconds per character of the text given to parseAction (default 2). */
  readonly parseMsPerChar?: number;
}

interface RawSite {
  readonly fn: GameFunction;
  readonly args: readonly unknown[];
  readonly error: unknown;
}

/** Where a game function threw: which function, on what, after which history. */
export interface ThrowSite {
  readonly fn: GameFunction;
  readonly args: string;
  readonly history?: readonly unknown[];
}

/**
 * A game whose functions are timed and watched: a call over its time budget is
 * a Violation naming the function and its input; a `turn` that is not a seat,
 * `chance` or `terminal` is a Violation; an error a game function throws is
 * remembered with the function that threw it, so a report can name it.
 */
export class Instrumented<S, A> {
  readonly game: Game<S, A>;
  private readonly sites = new WeakMap<object, RawSite>();
  private lastSite?: RawSite;
  /** The first overrun: once found it is reported again at once, so shrinking a slow game stays quick. */
  overrun?: Overrun;
  private readonly callMs: number;
  private readonly parseMsPerChar: number;

  constructor(
    readonly raw: Game<S, A>,
    budget: BudgetOptions = {},
  ) {
    this.callMs = budget.callMs ?? 250;
    this.parseMsPerChar = budget.parseMsPerChar ?? 2;
    const game = Object.create(Object.getPrototypeOf(raw) ?? Object.prototype) as Record<string, unknown>;
    for (const key of Object.keys(raw)) game[key] = (raw as unknown as Record<string, unknown>)[key];
    for (const fn of [...STATE_FUNCTIONS, 'initial', 'rules'] as GameFunction[]) {
      const f = (raw as unknown as Record<string, unknown>)[fn];
      if (typeof f === 'function') game[fn] = this.wrap(fn, f as (a?: unknown, b?: unknown) => unknown);
    }
    for (const fn of ['openTurn', 'failedTurnAction']) {
      const f = (raw as unknown as Record<string, unknown>)[fn];
      if (typeof f === 'function') game[fn] = (...args: unknown[]) => (f as (...a: unknown[]) => unknown).apply(raw, args);
    }
    this.game = game as unknown as Game<S, A>;
  }

  /** The function that threw `error`, if a game function did. */
  siteOf(error: unknown): ThrowSite | undefined {
    const raw = typeof error === 'object' && error !== null ? this.sites.get(error) : this.lastSite && Object.is(this.lastSite.error, error) ? this.lastSite : undefined;
    if (!raw) return undefined;
    const { fn, args } = raw;
    return { fn, args: this.describe(fn, args), history: fn === 'initial' || fn === 'rules' ? [] : this.historyOf(args[0]) };
  }

  /** The history of a state, or undefined when the game cannot give it. */
  historyOf(state: unknown): readonly unknown[] | undefined {
    try {
      const h = this.raw.history(state as S);
      return Array.isArray(h) ? [...h] : undefined;
    } catch {
      return undefined;
    }
  }

  private budgetOf(fn: GameFunction, args: readonly unknown[]): number {
    if (fn === 'parseAction' && typeof args[1] === 'string') return this.callMs + this.parseMsPerChar * args[1].length;
    return this.callMs;
  }

  private describe(fn: GameFunction, args: readonly unknown[]): string {
    if (fn === 'initial') return 'initial()';
    if (fn === 'rules') return `rules(${showArg(args[0])})`;
    const rest = args.slice(1, fn === 'legalActions' || fn === 'turn' || fn === 'chanceOutcomes' || fn === 'returns' || fn === 'history' || fn === 'stateKey' ? 1 : 2).map(showArg);
    return `${fn}(state${rest.length ? `, ${rest.join(', ')}` : ''})`;
  }

  /**
   * When false (the default) calls are not timed one by one: the checker times
   * whole checks and turns this on to find the call that took too long.
   */
  timing = false;

  /** Milliseconds a call may take at least (the budget of every call but the parser's long inputs). */
  get callBudgetMs(): number {
    return this.callMs;
  }

  private recordThrow(fn: GameFunction, args: readonly unknown[], error: unknown): void {
    // The errors games throw on purpose are expected by the invariants that provoke them; only the others need a site.
    if (error instanceof Violation || error instanceof IllegalActionError || error instanceof ParseError) return;
    // Most errors are expected ones (IllegalActionError, ParseError): what a report needs is worked out only when asked.
    const site = { fn, args, error };
    if (typeof error === 'object' && error !== null) {
      if (!this.sites.has(error)) this.sites.set(error, site);
    } else this.lastSite = site;
  }

  private wrap(fn: GameFunction, f: (a?: unknown, b?: unknown) => unknown) {
    const raw = this.raw;
    const checkTurn = fn === 'turn';
    // Every game function takes at most two arguments (a state and a seat, an action or a text).
    return (a?: unknown, b?: unknown) => {
      if (this.overrun) throw this.overrun;
      const start = this.timing ? performance.now() : 0;
      let result: unknown;
      try {
        result = f.call(raw, a, b);
      } catch (error) {
        if (this.timing) this.checkTime(fn, f, [a, b], performance.now() - start);
        this.recordThrow(fn, fn === 'rules' ? [a] : [a, b], error);
        throw error;
      }
      if (this.timing) this.checkTime(fn, f, [a, b], performance.now() - start);
      if (checkTurn) this.checkTurn(result, a);
      return result;
    };
  }

  private checkTime(fn: GameFunction, f: (...args: unknown[]) => unknown, args: readonly unknown[], took: number): void {
    const budget = this.budgetOf(fn, args);
    if (took <= budget) return;
    // Measured once more: a pause of the machine (a collection, another process) is not the game's fault.
    const again = performance.now();
    try {
      f.apply(this.raw, [...args]);
    } catch {
      // it returned before; the timing is what matters here
    }
    const second = performance.now() - again;
    if (second <= budget) return;
    const history = fn === 'initial' || fn === 'rules' ? [] : this.historyOf(args[0]);
    this.overrun = new Overrun(`${this.describe(fn, args)} took ${Math.round(Math.min(took, second))} ms, over its time budget of ${Math.round(budget)} ms`, history);
    throw this.overrun;
  }

  private checkTurn(turn: unknown, state: unknown): void {
    if (turn === 'chance' || turn === 'terminal') return;
    if (typeof turn === 'number' && Number.isInteger(turn) && turn >= 0 && turn < this.raw.seats) return;
    throw new Violation(`turn(state) returned ${show(turn)}: not a seat (0 to ${this.raw.seats - 1}), 'chance' or 'terminal'`, this.historyOf(state));
  }
}

/** Rethrows what the checker itself raised (a Violation), so code that expects a game error never swallows it. */
export function passViolations(error: unknown): void {
  if (error instanceof Violation) throw error;
}

/** Rethrows an overrun: the one error of the checker's own that code which tolerates game errors must not swallow. */
export function passOverruns(error: unknown): void {
  if (error instanceof Overrun) throw error;
}
