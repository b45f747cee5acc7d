import type { Rng } from '../../../src/core/index.ts';
import type { ChatMessage } from '../chat.ts';
import { readValidActions } from '../valid-actions.ts';

/** Picks the stub's action from the legal ones listed in the prompt. */
export type StubPolicy = (actions: readonly string[], rng: Rng, messages: readonly ChatMessage[]) => string;

export const STUB_POLICIES: Readonly<Record<'random' | 'first', StubPolicy>> = {
  random: (actions, rng) => rng.pick(actions),
  first: (actions) => actions[0],
};

/** An answer no game accepts, for testing retries. */
export const INVALID_ANSWER = 'no such move';

const unbracket = (action: string) => (action.startsWith('[') && action.endsWith(']') ? action.slice(1, -1) : action);

/** The last user message's text ('' when there is none). */
export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === 'user') return messages[i].content;
  }
  return '';
}

/** The legal actions in the last user message (where the llm agent's prompt puts them), or null. */
export function promptedActions(messages: readonly ChatMessage[]): string[] | null {
  return readValidActions(lastUserText(messages));
}

/** A model-like reply: a line of reasoning, then the answer in \boxed{}. */
export function replyText(actions: readonly string[] | null, chosen: string | null): string {
  if (!actions || actions.length === 0) {
    return 'I looked for a line starting with "Valid actions: " in the prompt and found no actions, so I cannot choose a move.\n\\boxed{}';
  }
  if (chosen === null) return `Let me think step by step. I am not sure what to do here.\n\\boxed{${INVALID_ANSWER}}`;
  return `Let me think step by step. The legal actions are ${actions.length}; I choose ${chosen}.\n\\boxed{${unbracket(chosen)}}`;
}
