import fc from 'fast-check';
import type { Game } from '../core/index.ts';
import { playChoices } from './trace.ts';

export interface ReachableOptions {
  /** Play on to a terminal state (default false: histories of any length). */
  readonly complete?: boolean;
}

/**
 * Choices that drive play: choice k picks the k-th legal action (modulo their
 * number). Shrinking makes the list shorter and its numbers smaller, that is,
 * the history shorter and its actions the first legal ones.
 */
export function choicesArbitrary(game: Game): fc.Arbitrary<number[]> {
  return fc.array(fc.nat(), { maxLength: game.maxLength + 1, size: 'max' });
}

/** Histories reachable by legal play from the initial state, chance included. */
export function reachableHistory<S, A>(game: Game<S, A>, options: ReachableOptions = {}): fc.Arbitrary<A[]> {
  return choicesArbitrary(game).map((choices) => [...playChoices(game, choices, options.complete ?? false).history]);
}

/** States reachable by legal play from the initial state, chance included. */
export function reachableState<S, A>(game: Game<S, A>, options: ReachableOptions = {}): fc.Arbitrary<S> {
  return choicesArbitrary(game).map((choices) => playChoices(game, choices, options.complete ?? false).last);
}
