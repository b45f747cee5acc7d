/**
 * Game-theory toolkit, generic over any `Game`: tree enumeration, minimax,
 * tabular policies and their files, exact expected returns, best response,
 * NashConv and exploitability, CFR/CFR+ over a compiled tree, and
 * external-sampling MCCFR for games too large to walk.
 */
export { bestResponse, evaluatePolicy, exploitability, nashConv, type BestResponse, type PolicyEvaluation } from './best-response.ts';
export { cfr, CfrSolver, type CfrOptions, type CfrResult, type CfrSolverOptions } from './cfr.ts';
export { CHANCE, compile, TERMINAL, type CompiledGame, type CompileOptions } from './compile.ts';
export { enumerate, type TreeCounts } from './enumerate.ts';
export { expectedReturns } from './expected.ts';
export { mccfr, MccfrSolver, type MccfrOptions, type MccfrResult, type MccfrSolverOptions } from './mccfr.ts';
export { bestAction, minimax, type MinimaxOptions, type MinimaxResult, type SearchOptions, type SearchResult } from './minimax.ts';
export { actionValues, infosetReach } from './tree-passes.ts';
export { actionProbabilities, PROBABILITY_TOLERANCE, type TabularPolicy } from './policy.ts';
export { loadPolicy, parsePolicyFile, POLICY_FORMAT, policyFile, savePolicy, type PolicyFile } from './policy-file.ts';
export type { IterationStats, ProgressOptions } from './progress.ts';
export { uniformPolicy } from './strategy.ts';
