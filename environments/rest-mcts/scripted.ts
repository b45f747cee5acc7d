import type { ReasonerInput, ReasonerOutput, Rng } from '../../src/core/index.ts';
import { applyOp, type Problem, writeStep } from '../self-play-critic/problems.ts';
import { lastNumber } from '../self-play-critic/rules.ts';

/**
 * The scripted reasoner: for a problem it knows, the next operation of the
 * chain computed from the results the steps so far claim (so that an earlier
 * mistake carries through), right with probability `skill` and otherwise off
 * by 1 to 9; once every operation is written, the answer the last one claims.
 * An unknown problem gets a guess.
 */
export function scriptedReasoner(problems: ReadonlyMap<string, Problem>, skill: number) {
  return (input: ReasonerInput, rng: Rng): ReasonerOutput => {
    const problem = problems.get(input.problem);
    if (!problem) return { step: 'Answer: 0' };
    const claimed = input.steps.map((step) => lastNumber(step) ?? 0);
    const k = input.steps.length;
    if (k >= problem.steps.length) return { step: `Answer: ${claimed[problem.steps.length - 1]}` };
    const { op, left, right } = problem.steps[k];
    const value = (operand: typeof left) => (typeof operand === 'number' ? operand : claimed[operand.step]);
    const exact = applyOp(op, value(left), value(right));
    const result = rng.next() < skill ? exact : exact + (rng.next() < 0.5 ? -1 : 1) * (1 + rng.int(9));
    return { step: writeStep(problem.steps, [...claimed.slice(0, k), result], k) };
  };
}
