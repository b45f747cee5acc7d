import type { ChatMessage } from '../chat.ts';

/**
 * A toy tokenizer for the stub server: words, digits and symbols, each with
 * the space before it, as GPT-style tokenizers do. Ids and logprobs come from
 * a hash of the token, so the same text always gives the same numbers.
 */
const PIECES = /\s?[A-Za-z]+|\s?\d|\s?[^\sA-Za-z\d]|\s+/gu;

export const VOCABULARY_SIZE = 50_000;

interface TokenInfo {
  readonly id: number;
  readonly logprob: number;
  readonly bytes: readonly number[];
}

/**
 * Bounded memo tables: a benchmark sends the stub thousands of requests a
 * second whose prompts and tokens repeat, and hashing them each time would
 * make the stub, not the client, the bottleneck.
 */
const MEMO_LIMIT = 50_000;
const tokenInfos = new Map<string, TokenInfo>();
const textTokens = new Map<string, string[]>();

function remember<V>(table: Map<string, V>, key: string, make: () => V): V {
  let value = table.get(key);
  if (value === undefined) {
    if (table.size >= MEMO_LIMIT) table.clear();
    value = make();
    table.set(key, value);
  }
  return value;
}

export function tokenize(text: string): string[] {
  return remember(textTokens, text, () => text.match(PIECES) ?? []);
}

function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function info(token: string): TokenInfo {
  return remember(tokenInfos, token, () => {
    const h = hash(token);
    // A log-probability in [-4, 0] that depends only on the token.
    return { id: h % VOCABULARY_SIZE, logprob: -((h >>> 8) % 4000) / 1000, bytes: [...Buffer.from(token, 'utf8')] };
  });
}

export const tokenId = (token: string): number => info(token).id;

/** The prompt's tokens as a chat template would lay them out: each message behind a role marker, then the assistant's marker. */
export function promptTokens(messages: readonly ChatMessage[]): string[] {
  const tokens: string[] = [];
  for (const m of messages) tokens.push(...tokenize(`<|${m.role}|>\n`), ...tokenize(m.content), '\n');
  tokens.push(...tokenize('<|assistant|>\n'));
  return tokens;
}

/** OpenAI's `logprobs.content` for a completion: each token, its logprob and bytes, and `top` alternatives. */
export function logprobContent(tokens: readonly string[], top: number) {
  return tokens.map((token) => {
    const { logprob, bytes } = info(token);
    const alternatives = Array.from({ length: top }, (_, k) => {
      if (k === 0) return { token, logprob, bytes };
      const alt = `${token}~${k}`;
      return { token: alt, logprob: logprob - k, bytes: info(alt).bytes };
    });
    return { token, logprob, bytes, top_logprobs: alternatives };
  });
}
