import { ConfigError, type Environment } from '../core/index.ts';
import type { Episode } from '../episodes/episode.ts';
import { learnerSeats, tokensOf } from './episode-trainer.ts';
import { imitationObjective } from './sequence-objectives.ts';
import { noStep, type TinkerBackend, type TinkerMetrics } from './tinker-backend.ts';

export interface ImitationSequence {
  readonly episodeId: string;
  readonly prompt: readonly number[];
  readonly completion: readonly number[];
}

/**
 * The learner's moves that each episode's environment names to imitate
 * (`Environment.trainingTargets`: ReST-MCTS*'s best trace), as the token
 * sequences the model sampled them with. A match's moves are its valid steps,
 * in history order; moves of another seat, or without token ids, are left out.
 */
export function imitationSequences(episodes: readonly Episode[], environment: Environment, policyId: string): ImitationSequence[] {
  const targets = environment.trainingTargets;
  if (!targets) throw new ConfigError(`${environment.id} names no moves to imitate: imitation trains on an environment that does (rest-mcts)`);
  const out: ImitationSequence[] = [];
  for (const episode of episodes) {
    if (episode.outcome !== 'normal') continue;
    const learner = new Set(learnerSeats(episode, { policyId }));
    const moves = episode.steps.filter((step) => step.valid);
    for (const index of targets.call(environment, episode.game, episode.history).imitate) {
      const move = moves[index];
      if (!move || typeof move.seat !== 'number' || !learner.has(move.seat)) continue;
      const { tokens } = tokensOf(move.meta);
      if (tokens) out.push({ episodeId: episode.id, prompt: tokens.prompt, completion: tokens.completion });
    }
  }
  return out;
}

/**
 * One supervised step on `sequences` (cross-entropy on their completions, a mean over their tokens), then the
 * weights are published; with nothing to imitate (no search found a correct trace) no step is taken and the
 * version stays.
 */
export async function imitationUpdate(backend: TinkerBackend, sequences: readonly ImitationSequence[]): Promise<TinkerMetrics> {
  if (sequences.length === 0) return noStep(backend);
  return backend.trainSequences(sequences, imitationObjective(sequences.map((s) => s.completion.length)));
}
