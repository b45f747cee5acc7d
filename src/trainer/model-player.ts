import { llmAgent } from '../../agents/llm/agent.ts';
import { COMPACT_GAME_PROMPTS, type GamePrompts } from '../../agents/llm/game-prompt.ts';
import { LlmClient } from '../../agents/llm/llm-client.ts';
import { resolveLlmOptions } from '../../agents/llm/options.ts';
import type { Player } from '../runtime/index.ts';

/** How a hosted model is sampled: where, and with which prompts and temperature. */
export interface HostedSampling {
  /** The host's OpenAI API root (`http://127.0.0.1:8100/v1`). */
  readonly apiBase: string;
  /** Sampling temperature over the legal moves (default 1). */
  readonly temperature?: number;
  readonly prompts?: GamePrompts;
}

/** A player that is one exact version of a hosted model (restricted to legal moves); close it when done. */
export function modelPlayer(name: string, model: string, policy: { readonly id: string; readonly version: number }, sampling: HostedSampling): { player: Player; close(): void } {
  const client = new LlmClient(resolveLlmOptions({ model, baseURL: sampling.apiBase, guidedChoice: true, temperature: sampling.temperature ?? 1, retries: 2 }, {}));
  return { player: { name, agent: llmAgent({ client, prompts: sampling.prompts ?? COMPACT_GAME_PROMPTS }), policy }, close: () => client.close() };
}
