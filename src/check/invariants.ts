import { isDeepStrictEqual } from 'node:util';
import { IllegalActionError, ParseError, restoreState, sameAction, serializeState, type Game, type Turn } from '../core/index.ts';
import { errorText, Overrun, passOverruns, passViolations, show, Violation } from './instrument.ts';
import { replayPrefix, type Trace } from './trace.ts';
import type { Tree } from './tree.ts';

export { Violation } from './instrument.ts';

/** What each sampled check sees: a played game and some arbitrary strings to parse. */
export interface CheckInput<S, A> {
  readonly trace: Trace<S, A>;
  readonly texts: readonly string[];
  /** Kept across the games of one run of one invariant (tables of states seen so far). */
  readonly memo: Map<string, unknown>;
  /** Runs `f` with every call of a game function timed, so that the first call over its budget stops it. */
  readonly timed: <T>(f: () => T) => T;
}

export interface Invariant {
  readonly name: string;
  readonly description: string;
  /** Checks one sampled game. */
  check<S, A>(game: Game<S, A>, input: CheckInput<S, A>): void;
  /** Checks the whole game tree, for games small enough to walk. */
  whole?<S, A>(game: Game<S, A>, tree: Tree<S, A>): void;
}

const prefix = <A>(trace: Trace<unknown, A>, i: number) => trace.history.slice(0, i);

/** Every state of the trace with the history that reaches it, the last state included. */
function* statesOf<S, A>(trace: Trace<S, A>): Generator<{ state: S; history: readonly A[] }> {
  for (let i = 0; i < trace.steps.length; i++) yield { state: trace.steps[i].state, history: prefix(trace, i) };
  // A last state where the game could not say who moves or what is legal is legal-actions' to report.
  if (trace.stop.kind !== 'broken') yield { state: trace.last, history: trace.history };
}

/** Up to `max` items spread evenly over the list, the first and the last included. */
function spread<T>(items: readonly T[], max: number): readonly T[] {
  if (items.length <= max) return items;
  const out = Array.from({ length: max - 1 }, (_, k) => items[Math.floor((k * items.length) / (max - 1))]);
  out.push(items[items.length - 1]);
  return out;
}

/** The index of the first item whose key an earlier item has, or -1. */
function firstRepeat(keys: readonly string[]): number {
  const seen = new Set<string>();
  for (let i = 0; i < keys.length; i++) {
    if (seen.has(keys[i])) return i;
    seen.add(keys[i]);
  }
  return -1;
}

/** Two long texts shown around their first difference. */
function showDifference(a: string, b: string, quote: (t: string) => string = show): string {
  if (a.length <= 160 && b.length <= 160) return `${quote(a)} vs ${quote(b)}`;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const from = Math.max(0, i - 40);
  const cut = (t: string) => `${from > 0 ? '...' : ''}${quote(t.slice(from, i + 60))}${t.length > i + 60 ? '...' : ''}`;
  return `${cut(a)} vs ${cut(b)} (they differ at character ${i})`;
}

/** Who moves, or undefined where the game cannot say (legal-actions reports that). */
function turnOf<S, A>(game: Game<S, A>, state: S): Turn | undefined {
  try {
    return game.turn(state);
  } catch (error) {
    passOverruns(error);
    return undefined;
  }
}

// ---- checks of one state, shared by sampled games and the whole tree ----

function checkLegalAt<S, A>(game: Game<S, A>, state: S, turn: Turn, history: readonly A[]): readonly A[] {
  const legal = game.legalActions(state);
  if (!Array.isArray(legal)) throw new Violation(`legalActions returned ${show(legal)}, not a list`, history);
  if (turn === 'terminal') {
    if (legal.length > 0) throw new Violation(`terminal state has legal actions ${show(legal)}`, history);
  } else if (legal.length === 0) {
    throw new Violation(`${turn === 'chance' ? 'chance node' : `seat ${turn}`} has no legal actions in a non-terminal state`, history);
  }
  const keys = legal.map(show);
  const dup = firstRepeat(keys);
  if (dup >= 0) throw new Violation(`duplicate legal action ${keys[dup]} in ${show(legal)}`, history);
  if (turn === 'chance') {
    const outcomes = game.chanceOutcomes(state).map((o) => o.action);
    if (!isDeepStrictEqual([...outcomes], [...legal])) {
      throw new Violation(`at a chance node the legal actions ${show(legal)} are not the chance outcomes ${show(outcomes)}`, history);
    }
  }
  return legal;
}

function checkChanceAt<S, A>(game: Game<S, A>, state: S, turn: Turn, history: readonly A[]): void {
  const outcomes = game.chanceOutcomes(state);
  if (!Array.isArray(outcomes)) throw new Violation(`chanceOutcomes returned ${show(outcomes)}, not a list`, history);
  if (turn !== 'chance') {
    if (outcomes.length > 0) throw new Violation(`a ${turn === 'terminal' ? 'terminal' : 'decision'} node has chance outcomes`, history);
    return;
  }
  if (outcomes.length === 0) throw new Violation('a chance node has no outcomes', history);
  let sum = 0;
  for (const { action, probability } of outcomes) {
    if (!(probability > 0 && probability <= 1)) throw new Violation(`outcome ${show(action)} has probability ${show(probability)}, outside (0, 1]`, history);
    sum += probability;
  }
  if (Math.abs(sum - 1) > 1e-9) throw new Violation(`chance probabilities sum to ${Number(sum.toPrecision(12))}, not 1`, history);
  const keys = outcomes.map((o) => show(o.action));
  const dup = firstRepeat(keys);
  if (dup >= 0) throw new Violation(`duplicate chance outcome ${keys[dup]} in ${show(outcomes.map((o) => o.action))}`, history);
}

function checkReturnsAt<S, A>(game: Game<S, A>, state: S, history: readonly A[]): void {
  const values = game.returns(state);
  const [low, high] = game.returnRange;
  if (!Array.isArray(values) || values.length !== game.seats) {
    throw new Violation(`returns ${show(values)} should have one number per seat (${game.seats})`, history);
  }
  for (const v of values) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Violation(`return ${show(v)} is not a finite number (returns ${show(values)})`, history);
    if (v < low - 1e-9 || v > high + 1e-9) throw new Violation(`return ${v} lies outside the declared range [${low}, ${high}] (returns ${show(values)})`, history);
  }
  const sum = values.reduce((a: number, b: number) => a + b, 0);
  if (game.utility === 'zero-sum' && Math.abs(sum) > 1e-9) throw new Violation(`returns ${show(values)} sum to ${sum} in a zero-sum game`, history);
}

const tooLong = (game: Game, length: number, history: readonly unknown[]) =>
  new Violation(`no terminal state after ${length} actions (declared maxLength ${game.maxLength})`, history);

// ---- the invariants ----

const terminates: Invariant = {
  name: 'terminates',
  description: 'every game reaches a terminal state within the declared maximum length',
  check(game, { trace }) {
    if (trace.stop.kind === 'too-long') throw tooLong(game, game.maxLength + 1, trace.history);
  },
  whole(game, tree) {
    if (tree.tooLong) throw tooLong(game, tree.tooLong.length, tree.tooLong);
  },
};

const legalActions: Invariant = {
  name: 'legal-actions',
  description: 'legal actions are non-empty exactly when not terminal, without duplicates, in a deterministic order',
  check(game, { trace }) {
    if (trace.stop.kind === 'broken') {
      const { error } = trace.stop;
      throw error instanceof Violation ? new Violation(error.message, error.history ?? trace.history) : error;
    }
    const fresh = replayPrefix(game, trace.history);
    let i = 0;
    for (const { state, history } of statesOf(trace)) {
      const legal = checkLegalAt(game, state, game.turn(state), history);
      if (!isDeepStrictEqual(game.legalActions(state), legal)) throw new Violation('two calls of legalActions on one state disagree', history);
      const again = fresh[i++];
      if (again !== undefined && !isDeepStrictEqual(game.legalActions(again), legal)) {
        throw new Violation('the same history replayed gives other legal actions (or another order)', history);
      }
    }
  },
  whole(game, tree) {
    for (const node of tree.nodes) checkLegalAt(game, node.state, node.turn, node.history);
  },
};

const chance: Invariant = {
  name: 'chance',
  description: 'chance outcomes are distinct, with probabilities in (0, 1] summing to 1; none at decision nodes',
  check(game, { trace }) {
    for (const { state, history } of statesOf(trace)) checkChanceAt(game, state, game.turn(state), history);
  },
  whole(game, tree) {
    for (const node of tree.nodes) checkChanceAt(game, node.state, node.turn, node.history);
  },
};

const applyThrew = (action: unknown, error: unknown, history: readonly unknown[]) =>
  new Violation(`apply threw on the legal action ${show(action)}: ${errorText(error)}`, history);

const applyPure: Invariant = {
  name: 'apply-pure',
  description: 'apply accepts every legal action, never changes its input and is deterministic',
  check(game, { trace }) {
    if (trace.stop.kind === 'apply-threw') throw applyThrew(trace.stop.action, trace.stop.error, trace.history);
    let state = game.initial();
    for (let i = 0; i < trace.history.length; i++) {
      const action = trace.history[i];
      let before: unknown;
      try {
        before = structuredClone(state);
      } catch (error) {
        throw new Violation(`the state is not plain data (structuredClone failed: ${errorText(error)})`, prefix(trace, i));
      }
      const next = game.apply(state, action);
      if (!isDeepStrictEqual(state, before)) throw new Violation(`apply(${show(action)}) changed its input state`, prefix(trace, i));
      if (!isDeepStrictEqual(game.apply(state, action), next)) throw new Violation(`apply(${show(action)}) is not deterministic`, prefix(trace, i));
      state = next;
    }
  },
  whole(_game, tree) {
    if (tree.applyThrew) throw applyThrew(tree.applyThrew.action, tree.applyThrew.error, tree.applyThrew.history);
  },
};

const JUNK: readonly unknown[] = [-1, 1e9, 0.5, Number.NaN, null, undefined, 'x', {}, []];
const MAX_ILLEGAL_TRIES = 30;

const illegalActions: Invariant = {
  name: 'illegal-actions',
  description: 'applying an action that is not legal throws IllegalActionError',
  check(game, { trace }) {
    const pool = new Map<string, unknown>();
    for (const value of JUNK) pool.set(show(value), value);
    for (const { state } of statesOf(trace)) for (const action of game.legalActions(state)) pool.set(show(action), action);
    for (const { state, history } of statesOf(trace)) {
      const legalKeys = new Set(game.legalActions(state).map(show));
      let tried = 0;
      for (const [key, action] of pool) {
        if (legalKeys.has(key)) continue;
        if (++tried > MAX_ILLEGAL_TRIES) break;
        try {
          game.apply(state, action as never);
        } catch (error) {
          passViolations(error);
          if (error instanceof IllegalActionError) continue;
          throw new Violation(`apply(${show(action)}) threw ${errorText(error)} instead of IllegalActionError`, history);
        }
        throw new Violation(`apply accepted the illegal action ${show(action)}`, history);
      }
    }
  },
};

const returns: Invariant = {
  name: 'returns',
  description: 'terminal returns have one finite entry per seat, within the declared range, summing to 0 in zero-sum games',
  check(game, { trace }) {
    if (trace.stop.kind === 'terminal') checkReturnsAt(game, trace.last, trace.history);
  },
  whole(game, tree) {
    for (const node of tree.nodes) if (node.turn === 'terminal') checkReturnsAt(game, node.state, node.history);
  },
};

function checkRestores<S, A>(game: Game<S, A>, state: S, history: readonly A[]): void {
  let restored;
  try {
    restored = restoreState(game, JSON.parse(JSON.stringify(serializeState(game, state))));
  } catch (error) {
    passViolations(error);
    throw new Violation(`restoring the serialised state failed: ${errorText(error)}`, history);
  }
  const same = (what: string, a: unknown, b: unknown) => {
    if (!isDeepStrictEqual(a, b)) throw new Violation(`the restored state has another ${what}: ${show(b)} instead of ${show(a)}`, history);
  };
  same('history', game.history(state), game.history(restored));
  same('turn', game.turn(state), game.turn(restored));
  same('stateKey', game.stateKey(state), game.stateKey(restored));
  same('set of legal actions', game.legalActions(state), game.legalActions(restored));
  for (let seat = 0; seat < game.seats; seat++) {
    same(`observation for seat ${seat}`, game.observe(state, seat), game.observe(restored, seat));
    same(`infoKey for seat ${seat}`, game.infoKey(state, seat), game.infoKey(restored, seat));
  }
}

const serialization: Invariant = {
  name: 'serialization',
  description: 'a state stored as its history (through JSON) restores to an equivalent state',
  check(game, { trace }) {
    const states = [...statesOf(trace)];
    const middle = states[Math.floor(states.length / 2)];
    const last = states[states.length - 1];
    try {
      checkRestores(game, last.state, last.history);
      checkRestores(game, middle.state, middle.history);
    } catch (error) {
      if (!(error instanceof Violation) || error instanceof Overrun) throw error;
      // Report the earliest state that shows it, not the end of the game.
      for (const { state, history } of states) checkRestores(game, state, history);
      throw error;
    }
  },
};

const MAX_TEXT_ACTIONS = 50;

const text: Invariant = {
  name: 'text',
  description: "each legal action's text is distinct and parses back to that action, bare or inside free text",
  check(game, { trace }) {
    for (let seat = 0; seat < game.seats; seat++) {
      const rules = game.rules(seat);
      if (typeof rules !== 'string' || !rules.trim()) throw new Violation(`rules(${seat}) is ${typeof rules === 'string' ? 'empty' : show(rules)}`, []);
    }
    for (const { state, history } of statesOf(trace)) {
      const turn = game.turn(state);
      for (let seat = 0; seat < game.seats; seat++) {
        const observed = game.observationText(state, seat);
        if (typeof observed !== 'string') throw new Violation(`observationText for seat ${seat} is ${show(observed)}, not a string`, history);
      }
      if (typeof turn !== 'number') continue;
      const legal = game.legalActions(state);
      const texts = legal.map((a) => game.actionText(state, a));
      const normalized = texts.map((t) => (typeof t === 'string' ? t.trim().toLowerCase() : show(t)));
      const dup = firstRepeat(normalized);
      if (dup >= 0) {
        const first = normalized.indexOf(normalized[dup]);
        throw new Violation(
          `legal actions share a text: ${show(texts[first])} for ${show(legal[first])} and ${show(texts[dup])} for ${show(legal[dup])} (all texts ${show(texts)}, as data ${show(legal)})`,
          history,
        );
      }
      for (const action of spread(legal, MAX_TEXT_ACTIONS)) {
        const written = game.actionText(state, action);
        for (const reply of [written, `I will play ${written}.`, `Let me think step by step. Final answer: \\boxed{${written}}`]) {
          let parsed;
          try {
            parsed = game.parseAction(state, reply);
          } catch (error) {
            passViolations(error);
            throw new Violation(`parseAction(${show(reply)}) failed: ${errorText(error)}`, history);
          }
          if (!sameAction(parsed, action)) throw new Violation(`parseAction(${show(reply)}) gave ${show(parsed)}, not ${show(action)}`, history);
        }
      }
    }
  },
};

/** Ordinary replies without brackets or punctuation, grown one character at a time to find a parser that slows down. */
const PROBE_SENTENCE =
  'i think the best move here is to play this one because it keeps my options open and then i win the game in the end so here it is';
const PROBE_LENGTHS = Array.from({ length: 80 }, (_, i) => i + 1);

function probeFamilies(actionText: string): string[] {
  const bare = actionText.replace(/[^\p{L}\p{N} ]+/gu, ' ').trim() || 'move';
  const words = `${bare} `.repeat(20);
  return [PROBE_SENTENCE, 'a'.repeat(80), '1'.repeat(80), words, `[${words}`, `\\boxed{${words}`, ' '.repeat(80)];
}

const parserRobust: Invariant = {
  name: 'parser-robust',
  description: 'the parser answers any string with an action or a ParseError, never another error, and within its time budget',
  check(game, { trace, texts, memo, timed }) {
    for (const { state, history } of statesOf(trace)) {
      const turn = game.turn(state);
      if (typeof turn !== 'number') continue;
      const legal = spread(game.legalActions(state), 5).map((a) => game.actionText(state, a));
      const tries = [...texts, ...legal.flatMap((t) => [t.slice(0, -1), t.toUpperCase(), `${t}${texts[0] ?? ''}`, t.replace(/\d+/g, '99999999999')])];
      // Once per run: replies of ordinary text growing from one character, so that a parser that backtracks
      // catastrophically overruns its budget on a short reply instead of hanging on a long one.
      if (!memo.has('probed')) {
        memo.set('probed', true);
        timed(() => {
          for (const family of probeFamilies(legal[0] ?? '')) {
            for (const n of PROBE_LENGTHS) {
              const reply = family.slice(0, n);
              try {
                game.parseAction(state, reply);
              } catch (error) {
                passViolations(error);
                if (!(error instanceof ParseError)) throw new Violation(`parseAction(${show(reply)}) threw ${errorText(error)} instead of ParseError`, history);
              }
            }
          }
        });
      }
      for (const reply of tries) {
        try {
          game.parseAction(state, reply);
        } catch (error) {
          passViolations(error);
          if (!(error instanceof ParseError)) throw new Violation(`parseAction(${show(reply)}) threw ${errorText(error)} instead of ParseError`, history);
        }
      }
    }
  },
};

const MAX_READ_ONLY_STATES = 8;
const FOUND = Symbol('found');

/** Calls every function that only reads a state; `check` runs after each call when given. */
function readAll<S, A>(game: Game<S, A>, state: S, texts: readonly string[], check?: (call: string) => void): void {
  const call = (name: string, f: () => unknown) => {
    try {
      f();
    } catch (error) {
      passOverruns(error); // errors are other invariants' business; a change of the state is this one's
    }
    check?.(name);
  };
  let legal: readonly A[] = [];
  let turn: unknown;
  call('turn(state)', () => (turn = game.turn(state)));
  call('legalActions(state)', () => (legal = game.legalActions(state)));
  call('chanceOutcomes(state)', () => game.chanceOutcomes(state));
  call('history(state)', () => game.history(state));
  call('stateKey(state)', () => game.stateKey(state));
  if (turn === 'terminal') call('returns(state)', () => game.returns(state));
  for (let seat = 0; seat < game.seats; seat++) {
    call(`observe(state, ${seat})`, () => game.observe(state, seat));
    call(`infoKey(state, ${seat})`, () => game.infoKey(state, seat));
    call(`observationText(state, ${seat})`, () => game.observationText(state, seat));
  }
  if (typeof turn !== 'number') return;
  for (const action of spread(Array.isArray(legal) ? legal : [], 5)) {
    let written = '';
    call(`actionText(state, ${show(action)})`, () => (written = game.actionText(state, action)));
    call(`parseAction(state, ${show(written)})`, () => game.parseAction(state, written));
  }
  for (const t of texts.slice(0, 2)) call(`parseAction(state, ${show(t)})`, () => game.parseAction(state, t));
}

const readOnly: Invariant = {
  name: 'read-only',
  description: 'no function but apply changes a state: turn, legal actions, returns, keys, observations, texts and the parser only read it',
  check<S, A>(game: Game<S, A>, { trace, texts }: CheckInput<S, A>) {
    const length = trace.history.length + (trace.stop.kind === 'broken' ? 0 : 1);
    const chosen = new Set(spread(Array.from({ length }, (_, i) => i), MAX_READ_ONLY_STATES));
    // The game replayed by apply alone, each chosen state copied as soon as apply made it: a state that play
    // has already read may already have been changed.
    let state = game.initial();
    for (let i = 0; i < length; i++) {
      if (i > 0) state = game.apply(state, trace.history[i - 1]);
      if (!chosen.has(i)) continue;
      const history = trace.history.slice(0, i);
      let before: unknown;
      try {
        before = structuredClone(state);
      } catch {
        return; // apply-pure reports a state that is not plain data
      }
      readAll(game, state, texts);
      if (isDeepStrictEqual(state, before)) continue;
      // Something changed it: find which call, on a fresh copy of the same state.
      const fresh = replayPrefix(game, history)[history.length];
      let culprit = 'a function other than apply';
      if (fresh !== undefined) {
        const copy = structuredClone(fresh);
        try {
          readAll(game, fresh, texts, (call) => {
            if (!isDeepStrictEqual(fresh, copy)) {
              culprit = call;
              throw FOUND;
            }
          });
        } catch (error) {
          if (error !== FOUND) throw error;
        }
      }
      throw new Violation(`${culprit} changed the state it was given`, history);
    }
  },
};

// ---- information states ----

/** What one seat sees at one of its decisions: every text it reads there (worked out only when compared). */
interface Details {
  readonly observation: unknown;
  readonly observationText: string;
  readonly rules: string;
  readonly legal: string;
}

/** One seat at one of its decisions. */
export interface Decision {
  readonly seat: number;
  readonly key: string;
  /** The seat's earlier information states and the actions it took there. */
  readonly recall: string;
  readonly history: readonly unknown[];
  readonly details: () => Details;
}

function decisionAt<S, A>(game: Game<S, A>, state: S, seat: number, recall: readonly string[], history: readonly unknown[]): Decision {
  let details: Details | undefined;
  return {
    seat,
    key: game.infoKey(state, seat),
    recall: show(recall),
    history,
    details: () =>
      (details ??= {
        observation: game.observe(state, seat),
        observationText: game.observationText(state, seat),
        rules: game.rules(seat),
        legal: show(game.legalActions(state).map((a) => game.actionText(state, a))),
      }),
  };
}

/** The decisions along one history, each with the seat's own recall; only those after `from` actions are returned. */
export function decisionsOf<S, A>(game: Game<S, A>, history: readonly A[], from = 0): Decision[] {
  const states = replayPrefix(game, history);
  if (from > 0) {
    // A varied history is played only as far as each action is taken (a game that ignores an action is not checked here).
    const taken = states.findIndex((state, i) => game.history(state).length !== i);
    if (taken >= 0) states.length = taken;
  }
  const recall: string[][] = Array.from({ length: game.seats }, () => []);
  const out: Decision[] = [];
  for (let i = 0; i < states.length; i++) {
    const state = states[i];
    const turn = turnOf(game, state);
    if (turn === undefined) break;
    if (typeof turn !== 'number') continue;
    const d = decisionAt(game, state, turn, recall[turn], history.slice(0, i));
    if (i >= from) out.push(d);
    if (i < history.length && i + 1 < states.length) recall[turn].push(`${d.key} -> ${show(history[i])}`);
  }
  return out;
}

export type InfoStateCheck = 'hidden-information' | 'perfect-recall';

/** Groups decisions by information state and reports the first pair that disagrees. */
export class InfoStateTable {
  private readonly first = new Map<string, Decision>();

  constructor(private readonly check: InfoStateCheck) {}

  add(decision: Decision): void {
    const id = `${decision.seat}\u0000${decision.key}`;
    const earlier = this.first.get(id);
    if (!earlier) {
      this.first.set(id, decision);
      return;
    }
    const where = `seat ${decision.seat}, infoKey ${show(decision.key)}; the other history is ${show(earlier.history)}`;
    if (this.check === 'perfect-recall') {
      if (earlier.recall !== decision.recall) {
        throw new Violation(`infoKey forgets the seat's past: two histories share it but the seat's earlier information states and actions differ (${where}): ${earlier.recall} vs ${decision.recall}`, decision.history);
      }
      return;
    }
    const differ = (what: string, detail: string) => {
      throw new Violation(`two histories share an information state but ${what} (${where}): ${detail}`, decision.history);
    };
    const a = earlier.details();
    const b = decision.details();
    if (!isDeepStrictEqual(a.observation, b.observation)) differ('the seat observes different things', `${show(a.observation)} vs ${show(b.observation)}`);
    if (a.legal !== b.legal) differ('offer different legal actions', `${a.legal} vs ${b.legal}`);
    if (a.observationText !== b.observationText) differ('the seat reads different observation texts', showDifference(a.observationText, b.observationText));
    if (a.rules !== b.rules) differ('the seat reads different rules', showDifference(a.rules, b.rules));
  }
}

const MAX_PERTURBATIONS = 64;
/** Variants that replace a seat's action (each replays a game that may turn illegal later): fewer, spread over the game. */
const MAX_ACTION_PERTURBATIONS = 12;

/**
 * Variants of the played history where one chance outcome, or one action of a
 * seat, is replaced by another (and play goes on as before while it stays
 * legal): pairs of histories that the seats who did not see the change must not
 * be able to tell apart. `at` is the index of the replaced action.
 */
function perturbations<S, A>(game: Game<S, A>, trace: Trace<S, A>): { history: readonly A[]; at: number }[] {
  const out: { history: readonly A[]; at: number }[] = [];
  const vary = (k: number, action: A) => {
    const variant = trace.history.slice();
    variant[k] = action;
    out.push({ history: variant, at: k });
  };
  trace.steps.forEach((step, k) => {
    if (step.turn !== 'chance') return;
    for (const { action } of game.chanceOutcomes(step.state)) {
      if (out.length >= MAX_PERTURBATIONS) return;
      if (!sameAction(action, step.action)) vary(k, action);
    }
  });
  const decisions = trace.steps.map((step, k) => ({ step, k })).filter(({ step }) => typeof step.turn === 'number');
  const perStep = Math.max(1, Math.ceil(MAX_ACTION_PERTURBATIONS / Math.max(1, decisions.length)));
  let budget = MAX_ACTION_PERTURBATIONS;
  for (const { step, k } of spread(decisions, MAX_ACTION_PERTURBATIONS)) {
    const others = game.legalActions(step.state).filter((a) => !sameAction(a, step.action));
    for (const action of spread(others, Math.min(perStep, budget))) {
      vary(k, action);
      budget--;
    }
    if (budget <= 0) break;
  }
  return out;
}

function checkInformationStates<S, A>(game: Game<S, A>, trace: Trace<S, A>, check: InfoStateCheck): void {
  const table = new InfoStateTable(check);
  for (const d of decisionsOf(game, trace.history)) table.add(d);
  // Decisions before the replaced action are the played ones again: only those after it are new.
  for (const { history, at } of perturbations(game, trace)) for (const d of decisionsOf(game, history, at + 1)) table.add(d);
}

function wholeInformationStates<S, A>(game: Game<S, A>, tree: Tree<S, A>, check: InfoStateCheck): void {
  const table = new InfoStateTable(check);
  const recalls: (readonly string[][] | undefined)[] = [];
  const keys: (string | undefined)[] = [];
  tree.nodes.forEach((node, i) => {
    const parent = node.parent;
    let recall: string[][];
    if (parent < 0) recall = Array.from({ length: game.seats }, () => []);
    else {
      recall = recalls[parent]!.map((r) => r);
      const mover = tree.nodes[parent].turn;
      if (typeof mover === 'number') recall[mover] = [...recall[mover], `${keys[parent]} -> ${show(node.history[node.history.length - 1])}`];
    }
    recalls[i] = recall;
    if (typeof node.turn !== 'number') return;
    const d = decisionAt(game, node.state, node.turn, recall[node.turn], node.history);
    keys[i] = d.key;
    table.add(d);
  });
}

const hiddenInformation: Invariant = {
  name: 'hidden-information',
  description:
    "histories that share a seat's infoKey give it the same observation, observation text, rules and legal actions (and their texts), also when hidden chance outcomes or other seats' actions change",
  check(game, { trace }) {
    checkInformationStates(game, trace, 'hidden-information');
  },
  whole(game, tree) {
    wholeInformationStates(game, tree, 'hidden-information');
  },
};

const perfectRecall: Invariant = {
  name: 'perfect-recall',
  description: "a seat's infoKey determines everything it saw and did before",
  check(game, { trace }) {
    checkInformationStates(game, trace, 'perfect-recall');
  },
  whole(game, tree) {
    wholeInformationStates(game, tree, 'perfect-recall');
  },
};

// ---- state keys ----

interface Position {
  readonly history: readonly unknown[];
  readonly parts: readonly (readonly [string, string])[];
}

/**
 * What a seat observes of a position: its observation without a top-level
 * `history` field (the path there, which defineGame's default observation, the
 * whole state, includes).
 */
function positionalObservation(observation: unknown): unknown {
  if (typeof observation !== 'object' || observation === null || Array.isArray(observation) || !('history' in observation)) return observation;
  const { history: _path, ...rest } = observation as Record<string, unknown>;
  return rest;
}

/** What a state key must pin down: everything but the path that led there. */
function positionOf<S, A>(game: Game<S, A>, state: S, history: readonly unknown[]): Position {
  const turn = game.turn(state);
  const parts: [string, string][] = [
    ['turn', show(turn)],
    ['legal actions', show(game.legalActions(state))],
  ];
  if (turn === 'terminal') parts.push(['returns', show(game.returns(state))]);
  for (let seat = 0; seat < game.seats; seat++) {
    parts.push([`observation for seat ${seat}`, show(positionalObservation(game.observe(state, seat)))]);
  }
  return { history, parts };
}

class StateKeyTable {
  /** The first state seen under each key; what it looks like is worked out only when another state shares the key. */
  private readonly first = new Map<string, { state: unknown; history: readonly unknown[]; position?: Position }>();

  add<S, A>(game: Game<S, A>, state: S, history: readonly unknown[]): void {
    const key = game.stateKey(state);
    if (typeof key !== 'string') throw new Violation(`stateKey returned ${show(key)}, not a string`, history);
    const earlier = this.first.get(key);
    if (!earlier) {
      this.first.set(key, { state, history });
      return;
    }
    if (isDeepStrictEqual(earlier.history, history)) return;
    earlier.position ??= positionOf(game, earlier.state as S, earlier.history);
    const position = positionOf(game, state, history);
    for (let i = 0; i < position.parts.length; i++) {
      const [what, value] = position.parts[i];
      const before = earlier.position.parts[i]?.[1];
      if (value !== before) {
        throw new Violation(
          `two histories share stateKey ${show(key)} but not the ${what}: ${showDifference(before ?? '(nothing)', value, (t) => t)} (the other history is ${show(earlier.history)})`,
          history,
        );
      }
    }
  }
}

const MAX_KEYED_STATES = 16;

const stateKey: Invariant = {
  name: 'state-key',
  description: "states with equal stateKeys are interchangeable: same turn, legal actions, returns and, for each seat, observation (but for a `history` field)",
  check(game, { trace, memo }) {
    let table = memo.get('states') as StateKeyTable | undefined;
    if (!table) memo.set('states', (table = new StateKeyTable()));
    for (const { state, history } of spread([...statesOf(trace)], MAX_KEYED_STATES)) table.add(game, state, history);
  },
  whole(game, tree) {
    const table = new StateKeyTable();
    for (const node of tree.nodes) table.add(game, node.state, node.history);
  },
};

export const invariants: readonly Invariant[] = [
  terminates,
  legalActions,
  chance,
  applyPure,
  illegalActions,
  returns,
  serialization,
  text,
  parserRobust,
  readOnly,
  stateKey,
  hiddenInformation,
  perfectRecall,
];
