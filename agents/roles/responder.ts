import type { CompleteOptions, LlmClient } from '../llm/llm-client.ts';
import { turnMeta } from '../llm/meta.ts';
import type { Responder } from './role.ts';

/** A language model filling a role: its first sample is the reply; the call's data (all samples, token ids, logprobs) goes in meta. */
export function modelResponder(client: LlmClient, options: CompleteOptions = {}): Responder {
  return async (messages) => {
    const completion = await client.complete(messages, options);
    return { text: completion.samples[0].text, meta: turnMeta(messages, completion, 0) };
  };
}
