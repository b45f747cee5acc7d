import type { ChatMessage } from '../llm/chat.ts';
import type { ChatTokenizer } from '../llm/chat-tokenizer.ts';
import type { ModelCompletion } from '../llm/completion.ts';
import { LlmError } from '../llm/errors.ts';
import type { CompleteOptions } from '../llm/llm-client.ts';
import { TinkerError, type SampleSource, type TinkerClient } from './tinker-client.ts';

export interface TinkerSamplerOptions {
  /** Default 256. */
  readonly maxTokens?: number;
  /** Default 1. */
  readonly temperature?: number;
  readonly topP?: number;
  /** Passed to the chat template (Qwen3's `enable_thinking`); the template's default when absent. */
  readonly enableThinking?: boolean;
}

/**
 * A language model sampled over the Tinker API with token-id prompts: the messages are rendered with the
 * model's own chat template and tokenized with its own tokenizer here, so the prompt and completion tokens an
 * episode records are exactly the tokens the model saw and sampled (what training then scores). It completes
 * as an LlmClient does, so the llm agent plays with it; guided choice is not available this way.
 */
export class TinkerSampler {
  readonly options = { guidedChoice: false } as const;

  constructor(
    readonly client: TinkerClient,
    /** Which weights sample: a base model, saved sampler weights, or a sampling session. */
    readonly source: SampleSource,
    /** The name completions report as the model (the version that played). */
    readonly name: string,
    readonly tokenizer: ChatTokenizer,
    readonly sampling: TinkerSamplerOptions = {},
  ) {}

  async complete(messages: readonly ChatMessage[], options: CompleteOptions = {}): Promise<ModelCompletion> {
    if (options.guidedChoice) throw new LlmError('rejected', 'guided choice is not available when sampling over the Tinker API: play with free-text answers', false);
    const prompt = this.tokenizer.encodeChat(messages, this.sampling.enableThinking === undefined ? {} : { enableThinking: this.sampling.enableThinking });
    const started = performance.now();
    let sampled;
    try {
      sampled = await this.client.sample(this.source, prompt, {
        max_tokens: this.sampling.maxTokens ?? 256,
        temperature: this.sampling.temperature ?? 1,
        ...(this.sampling.topP === undefined ? {} : { top_p: this.sampling.topP }),
        stop: [...this.tokenizer.stopTokenIds],
      });
    } catch (error) {
      if (!(error instanceof TinkerError)) throw error;
      throw new LlmError(error.status === 0 ? 'unreachable' : error.status >= 500 ? 'server-error' : 'rejected', error.message, false);
    }
    const samples = sampled.sequences.map((s) => ({
      text: this.tokenizer.decode(s.tokens, { skipSpecialTokens: true }),
      finishReason: s.stop_reason,
      tokenIds: s.tokens,
      logprobs: s.logprobs,
    }));
    const completionTokens = samples.reduce((n, s) => n + s.tokenIds.length, 0);
    return {
      model: this.name,
      samples,
      promptTokenIds: prompt,
      usage: { promptTokens: prompt.length, completionTokens, totalTokens: prompt.length + completionTokens },
      latencyMs: performance.now() - started,
      attempts: 1,
      failures: [],
    };
  }
}
