import { TinkerSampler } from '../../agents/hosted/tinker-sampler.ts';
import type { TinkerClient } from '../../agents/hosted/tinker-client.ts';
import { llmAgent } from '../../agents/llm/agent.ts';
import type { ChatTokenizer } from '../../agents/llm/chat-tokenizer.ts';
import { COMPACT_GAME_PROMPTS, type GamePrompts } from '../../agents/llm/game-prompt.ts';
import { LlmClient } from '../../agents/llm/llm-client.ts';
import { resolveLlmOptions } from '../../agents/llm/options.ts';
import type { Player } from '../runtime/index.ts';

/**
 * Sampling over the Tinker API instead of an OpenAI-compatible one: prompts rendered with the model's chat
 * template and tokenized here, free-text answers (no guided choice). Model names are then tinker:// sampler
 * paths or sampling session ids.
 */
export interface TinkerSampling {
  readonly client: TinkerClient;
  readonly tokenizer: ChatTokenizer;
  /** Default 256. */
  readonly maxTokens?: number;
  readonly enableThinking?: boolean;
}

/** How a hosted model is sampled: where, and with which prompts and temperature. */
export interface HostedSampling {
  /** The host's OpenAI API root (`http://127.0.0.1:8100/v1`). */
  readonly apiBase: string;
  /** Sampling temperature over the legal moves (default 1). */
  readonly temperature?: number;
  readonly prompts?: GamePrompts;
  /** Sample over the Tinker API with token-id prompts instead (apiBase unused). */
  readonly tinker?: TinkerSampling;
}

/** A player that is one exact version of a hosted model (restricted to legal moves over an OpenAI API); close it when done. */
export function modelPlayer(name: string, model: string, policy: { readonly id: string; readonly version: number }, sampling: HostedSampling): { player: Player; close(): void } {
  const prompts = sampling.prompts ?? COMPACT_GAME_PROMPTS;
  const tinker = sampling.tinker;
  if (tinker) {
    const source = model.startsWith('tinker://') ? { modelPath: model } : { samplingSessionId: model };
    const sampler = new TinkerSampler(tinker.client, source, model, tinker.tokenizer, {
      temperature: sampling.temperature ?? 1,
      ...(tinker.maxTokens === undefined ? {} : { maxTokens: tinker.maxTokens }),
      ...(tinker.enableThinking === undefined ? {} : { enableThinking: tinker.enableThinking }),
    });
    return { player: { name, agent: llmAgent({ client: sampler, prompts }), policy }, close: () => undefined };
  }
  const client = new LlmClient(resolveLlmOptions({ model, baseURL: sampling.apiBase, guidedChoice: true, temperature: sampling.temperature ?? 1, retries: 2 }, {}));
  return { player: { name, agent: llmAgent({ client, prompts }), policy }, close: () => client.close() };
}
