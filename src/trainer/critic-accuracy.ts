import type { ChoiceScoring, PolicyHostClient } from '../../agents/hosted/host-client.ts';
import { critic, CRITIC_VERDICTS } from '../../agents/roles/critic.ts';
import type { RoleTemplates } from '../../agents/roles/role.ts';
import type { LabelledCriticStep } from '../core/index.ts';
import { meanIntervalOf } from '../core/mean-interval.ts';

export interface CriticAccuracy {
  /** The mean, over the items, of the probability that the model gives the right verdict. */
  readonly accuracy: number;
  /** 95% interval of that mean (normal approximation over the items). */
  readonly interval: readonly [number, number];
  /** The same on the correct steps alone and on the attacked ones alone. */
  readonly onCorrect: number;
  readonly onIncorrect: number;
  readonly items: number;
  /** The exact version that was scored. */
  readonly model: string;
}

const mean = (values: readonly number[]) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : Number.NaN);

/**
 * How well a hosted model judges steps as the critic, exactly: for each
 * labelled step, the probability it samples the right verdict when its
 * answer is chosen among the critic's two (guided choice at `temperature`,
 * with the critic role's prompt, or `prompt` over it), as training samples
 * it. No sampling noise: the host returns the distribution.
 */
export async function criticAccuracy(
  host: PolicyHostClient,
  model: string,
  items: readonly LabelledCriticStep[],
  options: { readonly temperature?: number; readonly scoring?: ChoiceScoring; readonly batch?: number; readonly prompt?: Partial<RoleTemplates> } = {},
): Promise<CriticAccuracy> {
  const role = critic(options.prompt);
  const batch = options.batch ?? 256;
  const right: number[] = [];
  let scoredBy = model;
  for (let first = 0; first < items.length; first += batch) {
    const part = items.slice(first, first + batch);
    const scored = await host.choiceProbabilities(
      model,
      part.map((item) => ({ messages: role.prompt(item.input), choices: CRITIC_VERDICTS })),
      { temperature: options.temperature ?? 1, ...(options.scoring ? { scoring: options.scoring } : {}) },
    );
    scoredBy = scored.model;
    part.forEach((item, k) => right.push(scored.probabilities[k][item.verdict === 'correct' ? 0 : 1]));
  }
  const { mean: accuracy, low, high } = meanIntervalOf(right);
  return {
    accuracy,
    interval: [low, high],
    onCorrect: mean(right.filter((_, i) => items[i].verdict === 'correct')),
    onIncorrect: mean(right.filter((_, i) => items[i].verdict === 'incorrect')),
    items: items.length,
    model: scoredBy,
  };
}
