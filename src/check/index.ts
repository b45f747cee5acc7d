export { choicesArbitrary, reachableHistory, reachableState, type ReachableOptions } from './arbitraries.ts';
export { checkGame, formatReport, GameCheckError, inspectGame, type CheckOptions, type CheckReport, type InvariantResult } from './check.ts';
export { invariants, Violation, type Invariant } from './invariants.ts';
export { playChoices, type Trace } from './trace.ts';
