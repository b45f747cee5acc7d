import type { Game, Turn } from '../core/index.ts';
import { Overrun, passViolations } from './instrument.ts';

/** One step of a played history: the state, who moved, what was played. */
export interface TraceStep<S, A> {
  readonly state: S;
  readonly turn: Turn;
  readonly action: A;
}

/** A game played from the start by a list of choices, as far as the game allowed. */
export interface Trace<S, A> {
  readonly steps: readonly TraceStep<S, A>[];
  /** The state after the last step. */
  readonly last: S;
  readonly history: readonly A[];
  /** Why play stopped where it did. */
  readonly stop:
    | { readonly kind: 'terminal' }
    | { readonly kind: 'choices-exhausted' }
    | { readonly kind: 'too-long' }
    | { readonly kind: 'no-actions'; readonly turn: Turn }
    | { readonly kind: 'apply-threw'; readonly action: A; readonly error: unknown }
    /** turn, legalActions or chanceOutcomes failed on the last state (threw, or turn gave no seat). */
    | { readonly kind: 'broken'; readonly error: unknown };
}

/**
 * Plays `choices` from the initial state: at each node choice k picks the k-th
 * legal action (modulo their number; chance outcomes alike). When the choices run
 * out, `complete` play goes on with the first action, so the trace ends at a
 * terminal state, or after maxLength + 1 actions for a game that does not end.
 */
export function playChoices<S, A>(game: Game<S, A>, choices: readonly number[], complete: boolean): Trace<S, A> {
  const steps: TraceStep<S, A>[] = [];
  const history: A[] = [];
  let state = game.initial();
  for (let i = 0; ; i++) {
    let turn: Turn;
    let actions: readonly A[];
    try {
      turn = game.turn(state);
      if (turn === 'terminal') return { steps, last: state, history, stop: { kind: 'terminal' } };
      if (i > game.maxLength) return { steps, last: state, history, stop: { kind: 'too-long' } };
      if (i >= choices.length && !complete) return { steps, last: state, history, stop: { kind: 'choices-exhausted' } };
      actions = turn === 'chance' ? game.chanceOutcomes(state).map((o) => o.action) : game.legalActions(state);
      if (!Array.isArray(actions)) throw new TypeError(`${turn === 'chance' ? 'chanceOutcomes' : 'legalActions'} returned ${typeof actions}, not a list`);
    } catch (error) {
      if (error instanceof Overrun) throw error;
      return { steps, last: state, history, stop: { kind: 'broken', error } };
    }
    if (actions.length === 0) return { steps, last: state, history, stop: { kind: 'no-actions', turn } };
    const action = actions[(choices[i] ?? 0) % actions.length];
    let next: S;
    try {
      next = game.apply(state, action);
    } catch (error) {
      passViolations(error);
      return { steps, last: state, history, stop: { kind: 'apply-threw', action, error } };
    }
    steps.push({ state, turn, action });
    history.push(action);
    state = next;
  }
}

/** Replays a history, stopping quietly at the first action the game rejects. */
export function replayPrefix<S, A>(game: Game<S, A>, history: readonly A[]): S[] {
  const states = [game.initial()];
  for (const action of history) {
    try {
      states.push(game.apply(states[states.length - 1], action));
    } catch (error) {
      passViolations(error);
      break;
    }
  }
  return states;
}
