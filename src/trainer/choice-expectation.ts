import type { ChoiceScoring } from '../../agents/hosted/host-client.ts';
import { ConfigError } from '../core/index.ts';
import type { TokenObjective } from './sequence-objectives.ts';

/** Choices' scores, and how a loss's derivatives with respect to them go back to each choice's token logprobs. */
export interface ScoredChoices {
  readonly scores: readonly number[];
  backward(dScores: readonly number[]): number[][];
}

/**
 * Each choice's score from its token logprobs (all after one prompt), as the
 * policy host's guided pick scores it: `sum` (the sequence's logprob),
 * `mean` (per token), or `constrained`, the logprob constrained decoding
 * gives it: at each position where the choices that share every earlier
 * token go different ways, the logprob of its own next token less the
 * log-sum-exp of those of the ways they go (any member's logprob of a way's
 * token is the way's: they share the context). Tokens that every choice still
 * in play shares, and those after a choice has parted from the others, count
 * nothing.
 */
export function scoreChoices(sequences: readonly (readonly number[])[], logprobs: readonly (readonly number[])[], scoring: ChoiceScoring): ScoredChoices {
  if (sequences.length !== logprobs.length || sequences.some((s, i) => s.length !== logprobs[i].length || s.length === 0)) {
    throw new RangeError('each choice needs one logprob per token, and at least one token');
  }
  const perToken = (weight: (i: number) => number): ScoredChoices => ({
    scores: logprobs.map((lps, i) => lps.reduce((a, b) => a + b, 0) * weight(i)),
    backward: (d) => logprobs.map((lps, i) => lps.map(() => d[i] * weight(i))),
  });
  if (scoring === 'sum') return perToken(() => 1);
  if (scoring === 'mean') return perToken((i) => 1 / logprobs[i].length);
  /** Where choices part: the position, and each way's members (the first of which stands for the way in the normaliser). */
  const forks: { readonly at: number; readonly ways: readonly (readonly number[])[]; readonly share: readonly number[] }[] = [];
  const scores = new Array<number>(sequences.length).fill(0);
  let groups: number[][] = [sequences.map((_, i) => i)];
  for (let at = 0; groups.length > 0; at++) {
    const next: number[][] = [];
    for (const group of groups) {
      const byToken = new Map<number, number[]>();
      for (const i of group) if (sequences[i].length > at) byToken.set(sequences[i][at], [...(byToken.get(sequences[i][at]) ?? []), i]);
      const ways = [...byToken.values()];
      if (ways.length > 1) {
        const top = Math.max(...ways.map((way) => logprobs[way[0]][at]));
        const norm = top + Math.log(ways.reduce((sum, way) => sum + Math.exp(logprobs[way[0]][at] - top), 0));
        for (const way of ways) for (const i of way) scores[i] += logprobs[i][at] - norm;
        forks.push({ at, ways, share: ways.map((way) => Math.exp(logprobs[way[0]][at] - norm)) });
      }
      next.push(...ways);
    }
    groups = next;
  }
  return {
    scores,
    backward: (d) => {
      const gradient = logprobs.map((lps) => lps.map(() => 0));
      for (const { at, ways, share } of forks) {
        // Each member's own token counts for it; the normaliser, a log-sum-exp over the ways, for every member.
        const total = ways.reduce((sum, way) => sum + way.reduce((s, i) => s + d[i], 0), 0);
        ways.forEach((way, w) => {
          for (const i of way) gradient[i][at] += d[i];
          gradient[way[0]][at] -= total * share[w];
        });
      }
      return gradient;
    },
  };
}

/** log softmax(values), computed without overflow. */
export function logSoftmax(values: readonly number[]): number[] {
  const top = Math.max(...values);
  const z = Math.log(values.reduce((sum, v) => sum + Math.exp(v - top), 0)) + top;
  return values.map((v) => v - z);
}

/** The probability a guided pick at `temperature` takes each choice: softmax(score / T). */
export function choiceProbabilities(scores: readonly number[], temperature: number): number[] {
  return logSoftmax(scores.map((s) => s / temperature)).map(Math.exp);
}

/** A turn whose answer was picked among a few choices: each choice's completion tokens, and the return its seat would get with it. */
export interface ChoiceTurn {
  readonly completions: readonly (readonly number[])[];
  readonly returns: readonly number[];
}

/**
 * The loss whose gradient is the policy gradient's exact expectation over
 * every choice of each turn, not only over the one sampled: minus the mean,
 * over the turns, of the turn's expected return sum_c p(c) R(c), p being the
 * guided pick's distribution (`scoring` at `temperature`), plus `entropy`
 * times the entropy of p. Its derivative with respect to choice c's score is
 * -p(c) ((R(c) - sum p R) - entropy (log p(c) + H(p))) / (T N). It takes the
 * token logprobs of every turn's completions, turn after turn, in order, and
 * reports the mean of H(p) over the turns as its entropy.
 *
 * The entropy term matters where every turn has one right answer among two
 * and the turns are balanced between them: the expected return is then flat
 * along the model's bias toward one answer, which drifts (weighing each
 * batch's two kinds of turn equally did not stop it) into certainty, where
 * p(1 - p) and every gradient with it vanish. The entropy pulls the bias
 * back toward the middle.
 */
export function expectedChoiceReturn(turns: readonly ChoiceTurn[], scoring: ChoiceScoring, temperature: number, entropy = 0): TokenObjective {
  if (!(temperature > 0)) throw new ConfigError(`the expected return over choices needs a sampling temperature above 0, not ${temperature}`);
  if (!(entropy >= 0)) throw new ConfigError(`the entropy bonus must be 0 or more, not ${entropy}`);
  for (const turn of turns) if (turn.completions.length !== turn.returns.length) throw new RangeError(`${turn.completions.length} choices but ${turn.returns.length} returns`);
  const n = turns.length;
  return (logprobs) => {
    let loss = 0;
    let meanEntropy = 0;
    const gradient: number[][] = [];
    let at = 0;
    for (const turn of turns) {
      const scored = scoreChoices(turn.completions, logprobs.slice(at, at + turn.completions.length), scoring);
      at += turn.completions.length;
      const logp = logSoftmax(scored.scores.map((s) => s / temperature));
      const p = logp.map(Math.exp);
      const expected = p.reduce((sum, pc, c) => sum + pc * turn.returns[c], 0);
      const h = -p.reduce((sum, pc, c) => sum + (pc > 0 ? pc * logp[c] : 0), 0);
      loss -= (expected + entropy * h) / n;
      meanEntropy += h / n;
      gradient.push(...scored.backward(p.map((pc, c) => (pc > 0 ? (-pc * (turn.returns[c] - expected - entropy * (logp[c] + h))) / (temperature * n) : 0))));
    }
    if (at !== logprobs.length) throw new RangeError(`${logprobs.length} sequences' logprobs for ${at} choices`);
    return { loss, gradient, entropy: meanEntropy };
  };
}

/** A fit of choice distributions to fixed targets: its objective, the targets it fixed, and where the model stood then. */
export interface TargetFit {
  readonly objective: TokenObjective;
  targets(): readonly (readonly number[])[];
  /** At the objective's first call: the mean entropy of the turns' distributions, and the mean KL(target || model). */
  before(): { readonly moveEntropy: number; readonly targetKl: number };
}

/**
 * The loss that fits each turn's choice distribution p (its choices' token
 * logprobs, turn after turn, scored as `scoring` does, at `temperature`) to
 * a target q: the mean over the turns of KL(q || p), whose derivative with
 * respect to each choice's score is (p - q) / (T N). At its first call each
 * turn's target is `targetOf(turn, log p)` (unless `given`), and it stays
 * fixed after, so later epochs fit the same targets.
 */
export function targetFit(
  completions: readonly (readonly (readonly number[])[])[],
  scoring: ChoiceScoring,
  temperature: number,
  targetOf: (turn: number, logP: readonly number[]) => readonly number[],
  given?: readonly (readonly number[])[],
): TargetFit {
  let targets = given;
  const before = { moveEntropy: NaN, targetKl: NaN };
  const n = completions.length;
  const objective: TokenObjective = (logprobs) => {
    const gradient: number[][] = [];
    let loss = 0;
    let entropy = 0;
    let at = 0;
    const fresh: (readonly number[])[] = [];
    completions.forEach((choices, turn) => {
      const scored = scoreChoices(choices, logprobs.slice(at, at + choices.length), scoring);
      at += choices.length;
      const logP = logSoftmax(scored.scores.map((score) => score / temperature));
      entropy -= logP.reduce((h, lp) => h + Math.exp(lp) * lp, 0) / n;
      const q = targets?.[turn] ?? targetOf(turn, logP);
      fresh.push(q);
      q.forEach((qc, c) => {
        if (qc > 0) loss += (qc * (Math.log(qc) - logP[c])) / n;
      });
      gradient.push(...scored.backward(logP.map((lp, c) => (Math.exp(lp) - q[c]) / temperature / n)));
    });
    if (at !== logprobs.length) throw new RangeError(`${logprobs.length} sequences' logprobs for ${at} choices`);
    if (targets === undefined) {
      targets = fresh;
      before.moveEntropy = entropy;
      before.targetKl = loss;
    }
    return { loss, gradient, entropy };
  };
  return { objective, targets: () => targets ?? [], before: () => before };
}
