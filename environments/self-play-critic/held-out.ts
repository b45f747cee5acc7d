import { Rng, type CriticInput, type LabelledCriticStep } from '../../src/core/index.ts';
import { makeProblem } from './problems.ts';
import { judgeAttack } from './rules.ts';
import { scriptedSneaky } from './scripted.ts';

/**
 * A balanced set of steps to measure a critic on, apart from training: item
 * i draws its problem and step from `seed` and i alone; even items show the
 * correct step, odd ones the step as the scripted sneaky generator rewrote
 * it (redrawn until the rewrite changes the final answer, as an attack must
 * to count). Training draws from the run's seed, so a seed of its own keeps
 * the set held out.
 */
export function heldOutCriticSteps(count: number, seed: number, options: { readonly steps: number; readonly level: number }): LabelledCriticStep[] {
  const items: LabelledCriticStep[] = [];
  for (let i = 0; i < count; i++) {
    const rng = new Rng(`critic-held-out/${seed}/${i}`);
    for (let attempt = 0; ; attempt++) {
      if (attempt === 100) throw new Error(`self-play-critic: no attack that counts in 100 draws at ${JSON.stringify(options)}`);
      const problem = makeProblem(rng.split(`problem-${attempt}`), options);
      const target = rng.split(`step-${attempt}`).int(problem.steps.length);
      const before = problem.solution.slice(0, target);
      const input = (step: string): CriticInput => ({ problem: problem.text, steps: [...before, step], step: target + 1 });
      if (i % 2 === 0) {
        items.push({ input: input(problem.solution[target]), verdict: 'correct' });
        break;
      }
      const rewrite = scriptedSneaky({ problem: problem.text, steps: problem.solution, step: target + 1 }, rng.split(`attack-${attempt}`));
      if (judgeAttack(problem, target, rewrite.step).counts) {
        items.push({ input: input(rewrite.step), verdict: 'incorrect' });
        break;
      }
    }
  }
  return items;
}
