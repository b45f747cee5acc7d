import { completionDatum } from '../../agents/hosted/index.ts';
import type { ChatTokenizer } from '../../agents/llm/chat-tokenizer.ts';
import { ConfigError, type QuestionAnswer } from '../core/index.ts';
import type { TinkerBackend } from './tinker-backend.ts';

export interface HostStudentOptions {
  /** Training steps on a teacher's pairs (SOAR's k). */
  readonly steps: number;
  /** The student's learning rate (default 1e-3). */
  readonly learningRate?: number;
}

export interface StudentGain {
  /** Accuracy on the held-out questions before and after the student trained on the pairs. */
  readonly before: number;
  readonly after: number;
  readonly gain: number;
}

/** What the student is asked: the question, and to answer with the result alone (as the held-out answers are written). */
export const studentPrompt = (question: string): string => `${question}\nAnswer with the result alone.`;

/**
 * SOAR's student on a Tinker server (Sundaram et al.'s meta-RL teacher): a
 * copy of the model being trained, which is the model itself, trained `steps`
 * supervised steps on a teacher's question/answer pairs, measured on held-out
 * hard questions, then restored from the state saved before it trained
 * (weights, optimizer state and version), so that the teacher's match leaves
 * the model bit for bit as it found it. The student's accuracy on a question
 * is the probability that it answers exactly the held-out answer (the answer's
 * tokens and the stop token, from a forward): its expected exact-match
 * accuracy when sampled, without the noise of sampling.
 */
export class HostStudent {
  private saves = 0;
  private readonly stop: number;

  constructor(
    readonly backend: TinkerBackend,
    readonly tokenizer: ChatTokenizer,
    readonly heldOut: readonly QuestionAnswer[],
    readonly options: HostStudentOptions,
  ) {
    if (heldOut.length === 0) throw new ConfigError('the SOAR student needs held-out questions to be measured on');
    if (!(Number.isInteger(options.steps) && options.steps >= 1)) throw new ConfigError(`the SOAR student's training steps must be a whole number from 1, not ${options.steps}`);
    const stop = tokenizer.stopTokenIds[0];
    if (stop === undefined) throw new ConfigError(`the tokenizer in ${tokenizer.source} has no stop token: the student's answers could not end`);
    this.stop = stop;
  }

  /** A pair as the student sees it: the question as a chat prompt, the answer and the stop token as the completion. */
  private sequence(pair: QuestionAnswer) {
    return { prompt: this.tokenizer.encodeChat([{ role: 'user', content: studentPrompt(pair.question) }]), completion: [...this.tokenizer.encode(pair.answer), this.stop] };
  }

  /** The mean probability, under the training weights now, of answering each held-out question exactly right. */
  async accuracy(): Promise<number> {
    const logprobs = await this.backend.sequenceLogprobs(this.heldOut.map((item) => this.sequence(item)));
    return logprobs.reduce((sum, lp) => sum + Math.exp(lp), 0) / logprobs.length;
  }

  /**
   * The student's gain from `pairs`: trained `steps` steps on them (cross-entropy on each answer, a mean over
   * their tokens), measured, and restored. `before`, the accuracy of the weights now, is measured when not given
   * (the same for every match of a batch, since each leaves the weights as they were). No pairs: no gain.
   */
  async gain(pairs: readonly QuestionAnswer[], before?: number): Promise<StudentGain> {
    const start = before ?? (await this.accuracy());
    if (pairs.length === 0) return { before: start, after: start, gain: 0 };
    const sequences = pairs.map((pair) => this.sequence(pair));
    const tokens = sequences.reduce((n, s) => n + s.completion.length, 0);
    const data = sequences.map((s) => completionDatum(s.prompt, s.completion, { weight: 1 / tokens }));
    const model = this.backend.model;
    const saved = await model.saveWeights(`soar-student-${this.saves++}`);
    let after: number;
    try {
      const adam = this.backend.adam(this.options.learningRate ?? 1e-3);
      for (let step = 0; step < this.options.steps; step++) await Promise.all([model.forwardBackward(data, 'cross_entropy'), model.optimStep(adam)]);
      after = await this.accuracy();
    } finally {
      await model.loadWeights(saved, { optimizer: true });
      await model.client.deleteCheckpoint(saved);
    }
    return { before: start, after, gain: after - start };
  }
}
