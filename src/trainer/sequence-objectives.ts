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

/** A prompt and its completion, as token ids. */
export interface TokenSequence {
  readonly prompt: readonly number[];
  readonly completion: readonly number[];
}

/** A loss over N sequences' completion token logprobs now: its value, its derivative with respect to each token's logprob, and where it has one, the entropy of the distribution it trains. */
export type TokenObjective = (logprobs: readonly (readonly number[])[]) => { readonly loss: number; readonly gradient: readonly (readonly number[])[]; readonly entropy?: number };

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

const softplus = (x: number) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
const sigmoid = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/**
 * SPIN's logistic loss (Chen et al., 2024) over N pairs, sequences 0..N-1 the
 * data set's answers and N..2N-1 the previous iterate's answers to the same
 * prompts: the mean of log(1 + exp(-d_i)), d_i = beta * ((lp(real_i) -
 * ref(real_i)) - (lp(own_i) - ref(own_i))), `reference` holding each
 * sequence's logprob under the previous iterate. It raises the data's answers
 * and lowers the iterate's own, relative to that iterate.
 */
export function spinObjective(reference: readonly number[], beta: number): SequenceObjective {
  if (reference.length % 2) throw new RangeError(`SPIN takes pairs: ${reference.length} reference logprobs is an odd count`);
  if (!(beta > 0)) throw new RangeError(`SPIN's beta must be positive, not ${beta}`);
  const n = reference.length / 2;
  return (logprobs) => {
    if (logprobs.length !== 2 * n) throw new RangeError(`${logprobs.length} logprobs for ${2 * n} sequences`);
    const gradient = new Array<number>(2 * n).fill(0);
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const d = beta * (logprobs[i] - reference[i] - (logprobs[n + i] - reference[n + i]));
      loss += softplus(-d) / n;
      const pull = (beta * sigmoid(-d)) / n;
      gradient[i] = -pull;
      gradient[n + i] = pull;
    }
    return { loss, gradient };
  };
}

/**
 * Supervised fine-tuning's loss (ReST-MCTS*'s policy step on its best traces):
 * minus the sequences' summed logprobs over their total token count, the mean
 * cross-entropy per token; `tokens[i]` is sequence i's completion length.
 */
export function imitationObjective(tokens: readonly number[]): SequenceObjective {
  const total = tokens.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new RangeError('nothing to imitate: the sequences have no completion tokens');
  return (logprobs) => {
    if (logprobs.length !== tokens.length) throw new RangeError(`${logprobs.length} logprobs for ${tokens.length} sequences`);
    return { loss: -logprobs.reduce((a, b) => a + b, 0) / total, gradient: logprobs.map(() => -1 / total) };
  };
}
