/**
 * Losses of whole sequences' logprobs (SPPO's; SPIN's and DPO's have the same
 * shape), trained through any Tinker server: the loss depends on the model
 * only through each sequence's summed logprob lp_i, so its gradient is
 * sum_i (dL/dlp_i) grad lp_i, which forward_backward computes exactly with
 * cross_entropy and the weight -dL/dlp_i on every token of sequence i
 * (`TinkerBackend.trainSequences`).
 */

/** A loss over N sequences' summed logprobs now: its value and its derivative with respect to each. */
export type SequenceObjective = (logprobs: readonly number[]) => { readonly loss: number; readonly gradient: number[] };

/** SPPO's regression target for a response: eta * (its win rate against the policy - 1/2). */
export const sppoTarget = (winRate: number, eta: number): number => eta * (winRate - 0.5);

/**
 * SPPO's square loss (Wu et al., 2024), the mean over responses of
 * (lp_i - reference_i - target_i)^2, where reference_i is the response's
 * logprob under the policy that sampled it (pi_t) and target_i =
 * eta * (P(y_i beats pi_t) - 1/2): each response's log-ratio to pi_t is pushed
 * towards its scaled win-rate advantage.
 */
export function sppoObjective(reference: readonly number[], target: readonly number[]): SequenceObjective {
  if (reference.length !== target.length) throw new RangeError(`${reference.length} reference logprobs but ${target.length} targets`);
  const n = reference.length;
  return (logprobs) => {
    if (logprobs.length !== n) throw new RangeError(`${logprobs.length} logprobs for ${n} sequences`);
    const residual = logprobs.map((lp, i) => lp - reference[i] - target[i]);
    return { loss: residual.reduce((sum, r) => sum + r * r, 0) / n, gradient: residual.map((r) => (2 * r) / n) };
  };
}
