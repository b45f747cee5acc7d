import { isDeepStrictEqual } from 'node:util';
import {
  IllegalActionError,
  ParseError,
  restoreState,
  sameAction,
  serializeState,
  type Game,
} from '../core/index.ts';
import { replayPrefix, type Trace } from './trace.ts';

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

/** What each sampled check sees: a played game and some arbitrary strings to parse. */
export interface CheckInput<S, A> {
  readonly trace: Trace<S, A>;
  readonly texts: readonly string[];
}

export interface Invariant {
  readonly name: string;
  readonly description: string;
  check<S, A>(game: Game<S, A>, input: CheckInput<S, A>): void;
}

const show = (value: unknown) => {
  try {
    return value === undefined ? 'undefined' : JSON.stringify(value);
  } catch {
    return String(value);
  }
};
const errorText = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : show(error));
const prefix = <A>(trace: Trace<unknown, A>, i: number) => trace.history.slice(0, i);

/** Every state of the trace with the history that reaches it, the last state included. */
function* statesOf<S, A>(trace: Trace<S, A>): Generator<{ state: S; history: readonly A[] }> {
  for (let i = 0; i < trace.steps.length; i++) yield { state: trace.steps[i].state, history: prefix(trace, i) };
  yield { state: trace.last, history: trace.history };
}

const terminates: Invariant = {
  name: 'terminates',
  description: 'every game reaches a terminal state within the declared maximum length',
  check(game, { trace }) {
    if (trace.stop.kind === 'too-long') {
      throw new Violation(`no terminal state after ${game.maxLength + 1} actions (declared maxLength ${game.maxLength})`, trace.history);
    }
  },
};

const legalActions: Invariant = {
  name: 'legal-actions',
  description: 'legal actions are non-empty exactly when not terminal, without duplicates, in a deterministic order',
  check(game, { trace }) {
    const fresh = replayPrefix(game, trace.history);
    let i = 0;
    for (const { state, history } of statesOf(trace)) {
      const turn = game.turn(state);
      const legal = game.legalActions(state);
      if (turn === 'terminal') {
        if (legal.length > 0) throw new Violation(`terminal state has legal actions ${show(legal)}`, history);
      } else if (legal.length === 0) {
        throw new Violation(`${turn === 'chance' ? 'chance node' : `seat ${turn}`} has no legal actions in a non-terminal state`, history);
      }
      const keys = new Set(legal.map(show));
      if (keys.size !== legal.length) throw new Violation(`duplicate legal actions: ${show(legal)}`, history);
      if (!isDeepStrictEqual(game.legalActions(state), legal)) throw new Violation('two calls of legalActions on one state disagree', history);
      const again = fresh[i++];
      if (again !== undefined && !isDeepStrictEqual(game.legalActions(again), legal)) {
        throw new Violation('the same history replayed gives other legal actions (or another order)', history);
      }
      if (turn === 'chance') {
        const outcomes = game.chanceOutcomes(state).map((o) => o.action);
        if (!isDeepStrictEqual([...outcomes], [...legal])) {
          throw new Violation(`at a chance node the legal actions ${show(legal)} are not the chance outcomes ${show(outcomes)}`, history);
        }
      }
    }
  },
};

const chance: Invariant = {
  name: 'chance',
  description: 'chance outcomes are distinct, with probabilities in (0, 1] summing to 1; none at decision nodes',
  check(game, { trace }) {
    for (const { state, history } of statesOf(trace)) {
      const turn = game.turn(state);
      const outcomes = game.chanceOutcomes(state);
      if (turn !== 'chance') {
        if (outcomes.length > 0) throw new Violation(`a ${turn === 'terminal' ? 'terminal' : 'decision'} node has chance outcomes`, history);
        continue;
      }
      if (outcomes.length === 0) throw new Violation('a chance node has no outcomes', history);
      let sum = 0;
      for (const { action, probability } of outcomes) {
        if (!(probability > 0 && probability <= 1)) throw new Violation(`outcome ${show(action)} has probability ${probability}, outside (0, 1]`, history);
        sum += probability;
      }
      if (Math.abs(sum - 1) > 1e-9) throw new Violation(`chance probabilities sum to ${Number(sum.toPrecision(12))}, not 1`, history);
      if (new Set(outcomes.map((o) => show(o.action))).size !== outcomes.length) {
        throw new Violation(`duplicate chance outcomes: ${show(outcomes.map((o) => o.action))}`, history);
      }
    }
  },
};

const applyPure: Invariant = {
  name: 'apply-pure',
  description: 'apply accepts every legal action, never changes its input and is deterministic',
  check(game, { trace }) {
    if (trace.stop.kind === 'apply-threw') {
      throw new Violation(`apply threw on the legal action ${show(trace.stop.action)}: ${errorText(trace.stop.error)}`, trace.history);
    }
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
};

const JUNK: readonly unknown[] = [-1, 1e9, 0.5, Number.NaN, null, undefined, 'x', {}, []];
const MAX_ILLEGAL_TRIES = 30;

const illegalActions: Invariant = {
  name: 'illegal-actions',
  description: 'applying an action that is not legal throws IllegalActionError',
  check(game, { trace }) {
    const pool = new Map<string, unknown>();
    for (const value of JUNK) pool.set(show(value) ?? 'undefined', value);
    for (const { state } of statesOf(trace)) for (const action of game.legalActions(state)) pool.set(show(action), action);
    for (const { state, history } of statesOf(trace)) {
      const legal = game.legalActions(state);
      const legalKeys = new Set(legal.map(show));
      let tried = 0;
      for (const [key, action] of pool) {
        if (legalKeys.has(key)) continue;
        if (++tried > MAX_ILLEGAL_TRIES) break;
        try {
          game.apply(state, action as never);
        } catch (error) {
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
    if (trace.stop.kind !== 'terminal') return;
    const values = game.returns(trace.last);
    const [low, high] = game.returnRange;
    if (!Array.isArray(values) || values.length !== game.seats) {
      throw new Violation(`returns ${show(values)} should have one number per seat (${game.seats})`, trace.history);
    }
    for (const v of values) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Violation(`return ${show(v)} is not a finite number`, trace.history);
      if (v < low - 1e-9 || v > high + 1e-9) throw new Violation(`return ${v} lies outside the declared range [${low}, ${high}]`, trace.history);
    }
    const sum = values.reduce((a, b) => a + b, 0);
    if (game.utility === 'zero-sum' && Math.abs(sum) > 1e-9) throw new Violation(`returns ${show(values)} sum to ${sum} in a zero-sum game`, trace.history);
  },
};

const serialization: Invariant = {
  name: 'serialization',
  description: 'a state stored as its history (through JSON) restores to an equivalent state',
  check(game, { trace }) {
    const middle = Math.floor(trace.steps.length / 2);
    const picks = [{ state: trace.last, history: trace.history }];
    if (middle < trace.steps.length) picks.push({ state: trace.steps[middle].state, history: prefix(trace, middle) });
    for (const { state, history } of picks) {
      let restored;
      try {
        restored = restoreState(game, JSON.parse(JSON.stringify(serializeState(game, state))));
      } catch (error) {
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
  },
};

const MAX_TEXT_ACTIONS = 50;

/** Up to `max` items spread evenly over the list. */
function spread<T>(items: readonly T[], max: number): readonly T[] {
  if (items.length <= max) return items;
  const step = items.length / max;
  return Array.from({ length: max }, (_, k) => items[Math.floor(k * step)]);
}

const text: Invariant = {
  name: 'text',
  description: "each legal action's text is distinct and parses back to that action, bare or inside free text",
  check(game, { trace }) {
    for (let seat = 0; seat < game.seats; seat++) {
      if (typeof game.rules(seat) !== 'string' || !game.rules(seat).trim()) throw new Violation(`rules(${seat}) is empty`, []);
    }
    for (const { state, history } of statesOf(trace)) {
      const turn = game.turn(state);
      for (let seat = 0; seat < game.seats; seat++) {
        if (typeof game.observationText(state, seat) !== 'string') throw new Violation(`observationText for seat ${seat} is not a string`, history);
      }
      if (typeof turn !== 'number') continue;
      const legal = game.legalActions(state);
      const texts = legal.map((a) => game.actionText(state, a));
      const normalized = new Set(texts.map((t) => t.trim().toLowerCase()));
      if (normalized.size !== texts.length) throw new Violation(`legal actions share a text: ${show(texts)}`, history);
      for (const action of spread(legal, MAX_TEXT_ACTIONS)) {
        const written = game.actionText(state, action);
        for (const reply of [written, `I will play ${written}.`, `Let me think step by step. Final answer: \\boxed{${written}}`]) {
          let parsed;
          try {
            parsed = game.parseAction(state, reply);
          } catch (error) {
            throw new Violation(`parseAction(${show(reply)}) failed: ${errorText(error)}`, history);
          }
          if (!sameAction(parsed, action)) throw new Violation(`parseAction(${show(reply)}) gave ${show(parsed)}, not ${show(action)}`, history);
        }
      }
    }
  },
};

const parserRobust: Invariant = {
  name: 'parser-robust',
  description: 'the parser answers any string with an action or a ParseError, never another error',
  check(game, { trace, texts }) {
    for (const { state, history } of statesOf(trace)) {
      const turn = game.turn(state);
      if (typeof turn !== 'number') continue;
      const legal = spread(game.legalActions(state), 5).map((a) => game.actionText(state, a));
      const tries = [...texts, ...legal.flatMap((t) => [t.slice(0, -1), t.toUpperCase(), `${t}${texts[0] ?? ''}`, t.replace(/\d+/g, '99999999999')])];
      for (const reply of tries) {
        try {
          game.parseAction(state, reply);
        } catch (error) {
          if (!(error instanceof ParseError)) throw new Violation(`parseAction(${show(reply)}) threw ${errorText(error)} instead of ParseError`, history);
        }
      }
    }
  },
};

/** What one seat knows at one of its decisions. */
interface Decision {
  readonly seat: number;
  readonly key: string;
  readonly observation: unknown;
  readonly legal: string;
  /** The seat's earlier information states and the actions it took there. */
  readonly recall: string;
  readonly history: readonly unknown[];
}

/** The decisions along one history, each with the seat's own recall. */
export function decisionsOf<S, A>(game: Game<S, A>, history: readonly A[]): Decision[] {
  const states = replayPrefix(game, history);
  const recall: string[][] = Array.from({ length: game.seats }, () => []);
  const out: Decision[] = [];
  for (let i = 0; i < states.length; i++) {
    const state = states[i];
    const turn = game.turn(state);
    if (typeof turn !== 'number') continue;
    const key = game.infoKey(state, turn);
    out.push({
      seat: turn,
      key,
      observation: game.observe(state, turn),
      legal: show(game.legalActions(state).map((a) => game.actionText(state, a))),
      recall: show(recall[turn]),
      history: history.slice(0, i),
    });
    if (i < history.length && i + 1 < states.length) recall[turn].push(`${key} -> ${show(history[i])}`);
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
    if (!isDeepStrictEqual(earlier.observation, decision.observation)) {
      throw new Violation(`two histories share an information state but the seat observes different things (${where}): ${show(earlier.observation)} vs ${show(decision.observation)}`, decision.history);
    }
    if (earlier.legal !== decision.legal) {
      throw new Violation(`two histories share an information state but offer different legal actions (${where}): ${earlier.legal} vs ${decision.legal}`, decision.history);
    }
  }
}

const MAX_PERTURBATIONS = 64;

/**
 * The played history and variants of it where one chance outcome is replaced by
 * another: the pairs of histories that a seat must not be able to tell apart.
 */
function perturbations<S, A>(game: Game<S, A>, trace: Trace<S, A>): (readonly A[])[] {
  const out: (readonly A[])[] = [trace.history];
  trace.steps.forEach((step, k) => {
    if (step.turn !== 'chance') return;
    for (const outcome of game.chanceOutcomes(step.state)) {
      if (out.length > MAX_PERTURBATIONS) return;
      if (sameAction(outcome.action, step.action)) continue;
      const variant = trace.history.slice();
      variant[k] = outcome.action;
      out.push(variant);
    }
  });
  return out;
}

function checkInformationStates<S, A>(game: Game<S, A>, trace: Trace<S, A>, check: InfoStateCheck): void {
  const table = new InfoStateTable(check);
  for (const history of perturbations(game, trace)) for (const d of decisionsOf(game, history)) table.add(d);
}

const hiddenInformation: Invariant = {
  name: 'hidden-information',
  description: "histories that share a seat's infoKey give it the same observation and legal actions, also when hidden chance outcomes change",
  check(game, { trace }) {
    checkInformationStates(game, trace, 'hidden-information');
  },
};

const perfectRecall: Invariant = {
  name: 'perfect-recall',
  description: "a seat's infoKey determines everything it saw and did before",
  check(game, { trace }) {
    checkInformationStates(game, trace, 'perfect-recall');
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
  hiddenInformation,
  perfectRecall,
];
