import type { Rng, ScriptedRole } from '../../src/core/index.ts';
import type { Executor, JsonValue } from './executor.ts';
import type { ProposerObservation, SolverObservation } from './game.ts';
import { canonicalJson, sameValue, type TaskType } from './tasks.ts';
import { allParams, drawParams, TEMPLATES } from './templates.ts';

const INDUCTION_INPUTS = 6;
const ABDUCTION_TRIES = 24;

/**
 * Proposes a program from the template grammar with fresh inputs; now and then
 * a broken one (a syntax error, or Math.random, which the sandbox lacks), so
 * that invalid proposals happen with no model too.
 */
export function scriptedProposer(brokenRate: number): ScriptedRole {
  return (observation: ProposerObservation, rng: Rng) => {
    const template = rng.pick(TEMPLATES);
    const program = template.source(drawParams(template, rng));
    const induction = observation.instructions.includes('induction');
    const inputs = induction ? distinctInputs(template.input, rng) : [template.input(rng)];
    const input = JSON.stringify(induction ? inputs : inputs[0]);
    if (rng.next() < brokenRate) {
      const broken = rng.next() < 0.5 ? program.replace('return', 'return (') : program.replace('return', 'return Math.random() +');
      return { program: broken, input, language: 'javascript' };
    }
    return { program, input, language: 'javascript' };
  };
}

function distinctInputs(draw: (rng: Rng) => JsonValue[], rng: Rng): JsonValue[][] {
  const seen = new Map<string, JsonValue[]>();
  for (let i = 0; i < 50 && seen.size < INDUCTION_INPUTS; i++) {
    const args = draw(rng);
    seen.set(JSON.stringify(args), args);
  }
  return [...seen.values()];
}

/** A template program that reproduces every shown pair, or null. */
function synthesize(pairs: NonNullable<SolverObservation['pairs']>): string | null {
  for (const template of TEMPLATES) {
    for (const params of allParams(template)) {
      const fn = template.native(params);
      const fits = pairs.every(({ input, output }) => {
        try {
          return sameValue(fn(...input), output);
        } catch {
          return false;
        }
      });
      if (fits) return template.source(params);
    }
  }
  return null;
}

/**
 * A solver that gets it right with probability `skill` (a number, or one per
 * task type, asked at each attempt: a solver that improves with practice): it
 * runs deduction tasks in the sandbox, searches template inputs for
 * abduction, and the template grammar for induction; otherwise it answers a
 * near miss.
 */
export function scriptedSolver(executor: Executor, skill: number | ((type: TaskType) => number)): ScriptedRole {
  return (task: SolverObservation, rng: Rng) => {
    const tries = rng.next() < (typeof skill === 'number' ? skill : skill(task.type));
    switch (task.type) {
      case 'deduction': {
        const result = tries && task.program ? executor.run(task.program, task.input ?? []) : undefined;
        return { answer: result?.ok ? canonicalJson(result.value) : JSON.stringify(rng.int(100)) };
      }
      case 'abduction': {
        if (tries && task.program) {
          for (let i = 0; i < ABDUCTION_TRIES; i++) {
            const args = rng.pick(TEMPLATES).input(rng);
            const result = executor.run(task.program, args);
            if (result.ok && sameValue(result.value, task.output ?? null)) return { answer: JSON.stringify(args) };
          }
        }
        return { answer: JSON.stringify([rng.int(10)]) };
      }
      case 'induction': {
        const program = tries && task.pairs ? synthesize(task.pairs) : null;
        return { answer: program ?? 'function f(x) {\n  return x;\n}' };
      }
    }
  };
}
