import { AIMessage, HumanMessage, SystemMessage, type BaseMessage } from '@langchain/core/messages';
import type { LLMResult } from '@langchain/core/outputs';
import { ChatOpenAICompletions } from '@langchain/openai';
import type { ChatMessage } from './chat.ts';
import type { LlmOptions } from './options.ts';

function toLangChain(message: ChatMessage): BaseMessage {
  if (message.role === 'system') return new SystemMessage(message.content);
  if (message.role === 'assistant') return new AIMessage(message.content);
  return new HumanMessage(message.content);
}

/** Chat Completions through LangChain, plus `guided_choice` per call (LangChain passes no extra body fields per call). */
class GuidedChatOpenAI extends ChatOpenAICompletions {
  override invocationParams(options?: this['ParsedCallOptions'] & { guidedChoice?: readonly string[] }, extra?: { streaming?: boolean }) {
    const params = super.invocationParams(options, extra);
    return options?.guidedChoice ? { ...params, guided_choice: [...options.guidedChoice] } : params;
  }
}

/** One request to the model: the messages, the call's abort signal and its guided choice. */
export type Generate = (messages: readonly ChatMessage[], call: { signal: AbortSignal; guidedChoice?: readonly string[] }) => Promise<LLMResult>;

/** LangChain's ChatOpenAI set up for `options`, its requests through `fetch`. This module is loaded at a client's first request. */
export function langChainChat(options: LlmOptions, fetch: typeof globalThis.fetch): Generate {
  const chat = new GuidedChatOpenAI({
    model: options.model,
    apiKey: options.apiKey,
    temperature: options.temperature,
    topP: options.topP,
    maxTokens: options.maxTokens,
    n: options.n,
    logprobs: options.logprobs || undefined,
    topLogprobs: options.logprobs && options.topLogprobs > 0 ? options.topLogprobs : undefined,
    modelKwargs: options.tokenIds ? { return_token_ids: true } : {},
    maxRetries: 0,
    // The SDK's own request timeout (10 minutes by default) must never fire before ours.
    timeout: options.timeoutMs + 1_000,
    // Keeps the raw response on each message: the only place vLLM's token ids survive.
    __includeRawResponse: true,
    configuration: { baseURL: options.baseURL, fetch, maxRetries: 0 },
  });
  return (messages, call) => chat.generate([messages.map(toLangChain)], call as GuidedChatOpenAI['ParsedCallOptions']);
}
