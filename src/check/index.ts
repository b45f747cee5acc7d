export { choicesArbitrary, reachableHistory, reachableState, type ReachableOptions } from './arbitraries.ts';
export {
  checkGame,
  formatReport,
  GameCheckError,
  inspectGame,
  type CheckOptions,
  type CheckReport,
  type Coverage,
  type Exhaustive,
  type InvariantResult,
} from './check.ts';
export { guidedGames, type GuidedGames } from './coverage.ts';
export { type BudgetOptions } from './instrument.ts';
export { invariants, Violation, type Invariant } from './invariants.ts';
export { playChoices, type Trace } from './trace.ts';
