import { ConfigError } from '../core/index.ts';
import type { PolicyEvaluation } from './best-response.ts';

export interface IterationStats {
  /** Iterations finished so far, this one included. */
  readonly iteration: number;
  /** Iterations asked for. */
  readonly iterations: number;
  /** The average policy's evaluation, on every `evaluateEvery`-th iteration only. */
  readonly evaluation?: PolicyEvaluation;
}

/** Progress reporting and early stopping for iterative solvers. */
export interface ProgressOptions {
  /** Called after every iteration (cheap, e.g. to move a progress bar). */
  readonly onIteration?: (stats: IterationStats) => void;
  /** Evaluate the average policy (NashConv, exploitability) every this many iterations. */
  readonly evaluateEvery?: number;
  /** Stop at an evaluation whose exploitability is at most this; needs `evaluateEvery`. */
  readonly targetExploitability?: number;
}

/** Runs `step` up to `iterations` times with the reporting `options` ask for; returns the iterations run. */
export function runIterations(iterations: number, options: ProgressOptions, step: () => void, evaluate: () => PolicyEvaluation): number {
  const { onIteration, evaluateEvery, targetExploitability } = options;
  if (!Number.isInteger(iterations) || iterations < 1) throw new ConfigError(`iterations must be a positive integer, not ${iterations}`);
  if (evaluateEvery !== undefined && (!Number.isInteger(evaluateEvery) || evaluateEvery < 1)) {
    throw new ConfigError(`evaluateEvery must be a positive integer, not ${evaluateEvery}`);
  }
  if (targetExploitability !== undefined && evaluateEvery === undefined) throw new ConfigError('targetExploitability needs evaluateEvery');

  for (let iteration = 1; iteration <= iterations; iteration++) {
    step();
    const evaluation = evaluateEvery !== undefined && iteration % evaluateEvery === 0 ? evaluate() : undefined;
    onIteration?.({ iteration, iterations, evaluation });
    if (evaluation && targetExploitability !== undefined && evaluation.exploitability <= targetExploitability) return iteration;
  }
  return iterations;
}
