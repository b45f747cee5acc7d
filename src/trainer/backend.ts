import type { Rng } from '../core/index.ts';
import type { Sample } from './samples.ts';

/** What a policy answers for one turn. */
export interface PolicyChoice {
  /** The chosen action's text, one of the legal texts. */
  readonly action: string;
  readonly probability: number;
  readonly version: number;
}

/** What an update reports: at least the new version and the samples it used. */
export interface BackendMetrics {
  readonly version: number;
  readonly samples: number;
}

/**
 * Where a policy lives and learns: the tabular learner in this process, or a
 * policy host next to a GPU. The trainer keeps the algorithm (samples,
 * advantages, versions); the backend keeps the parameters.
 */
export interface PolicyBackend {
  readonly version: number;
  /** One update from a batch of samples (advantages set); returns metrics with the new version. */
  update(samples: readonly Sample[]): BackendMetrics | Promise<BackendMetrics>;
  /** The current policy as agents play it (a tabular policy; a model name for a hosted model). */
  policy(): unknown;
}

/** A backend this process samples and checkpoints itself (a hosted model is sampled through its server instead). */
export interface LocalPolicyBackend extends PolicyBackend {
  /** Chooses an action in an information state among the legal action texts. */
  act(turn: { readonly infoKey: string; readonly legal: readonly string[] }, rng: Rng): PolicyChoice | Promise<PolicyChoice>;
  /** Everything needed to restore the policy, as JSON data. */
  snapshot(): unknown;
  load(snapshot: unknown): void;
}
