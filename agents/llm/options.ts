import { ConfigError } from '../../src/core/index.ts';

/** Everything an llm client needs: the endpoint, the model and how to sample it, and how hard to try. */
export interface LlmOptions {
  /** The OpenAI-compatible API root, e.g. `http://127.0.0.1:8000/v1`. */
  readonly baseURL: string;
  readonly apiKey: string;
  readonly model: string;
  readonly temperature: number;
  readonly topP?: number;
  readonly maxTokens?: number;
  /** Samples per request; the agent plays the first valid one and records all. */
  readonly n: number;
  readonly logprobs: boolean;
  /** Alternatives per token (0: none). */
  readonly topLogprobs: number;
  /** Ask for prompt and completion token ids (vLLM's `return_token_ids`). */
  readonly tokenIds: boolean;
  /** In games, restrict the completion to one of the legal actions' texts (vLLM's and the policy host's `guided_choice`). */
  readonly guidedChoice: boolean;
  /** Per request. */
  readonly timeoutMs: number;
  readonly retries: number;
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
  /** Requests in flight at once to this endpoint. */
  readonly concurrency: number;
}

type Field = keyof Omit<LlmOptions, 'apiKey'>;
type Kind = { type: 'text' } | { type: 'url' } | { type: 'bool' } | { type: 'number' | 'int'; min: number; max: number };

/** Each option, its key in an agent spec (`llm:model=x,max_tokens=512`) and what values it takes. */
const FIELDS: Readonly<Record<Field, { key: string; kind: Kind }>> = {
  model: { key: 'model', kind: { type: 'text' } },
  baseURL: { key: 'base', kind: { type: 'url' } },
  temperature: { key: 'temperature', kind: { type: 'number', min: 0, max: 2 } },
  topP: { key: 'top_p', kind: { type: 'number', min: 0, max: 1 } },
  maxTokens: { key: 'max_tokens', kind: { type: 'int', min: 1, max: 1_000_000 } },
  n: { key: 'n', kind: { type: 'int', min: 1, max: 128 } },
  logprobs: { key: 'logprobs', kind: { type: 'bool' } },
  topLogprobs: { key: 'top_logprobs', kind: { type: 'int', min: 0, max: 20 } },
  tokenIds: { key: 'token_ids', kind: { type: 'bool' } },
  guidedChoice: { key: 'guided_choice', kind: { type: 'bool' } },
  timeoutMs: { key: 'timeout_ms', kind: { type: 'int', min: 1, max: 3_600_000 } },
  retries: { key: 'retries', kind: { type: 'int', min: 0, max: 100 } },
  backoffMs: { key: 'backoff_ms', kind: { type: 'int', min: 0, max: 600_000 } },
  maxBackoffMs: { key: 'max_backoff_ms', kind: { type: 'int', min: 0, max: 600_000 } },
  concurrency: { key: 'concurrency', kind: { type: 'int', min: 1, max: 65_536 } },
};

/** vLLM's default address, used when neither the options nor OPENAI_BASE_URL name one. */
export const DEFAULT_BASE_URL = 'http://127.0.0.1:8000/v1';

export const LLM_DEFAULTS = {
  temperature: 1,
  n: 1,
  logprobs: true,
  topLogprobs: 0,
  tokenIds: true,
  guidedChoice: false,
  timeoutMs: 60_000,
  retries: 3,
  backoffMs: 500,
  maxBackoffMs: 8_000,
  concurrency: 64,
} as const;

const BOOLEANS: Readonly<Record<string, boolean>> = { true: true, false: false, '1': true, '0': false, yes: true, no: false };

function expected(kind: Kind): string {
  switch (kind.type) {
    case 'text':
      return 'a non-empty name';
    case 'url':
      return 'an http:// or https:// URL';
    case 'bool':
      return 'true or false';
    default:
      return `${kind.type === 'int' ? 'a whole number' : 'a number'} from ${kind.min} to ${kind.max}`;
  }
}

function check(field: Field, value: unknown, shown: string): void {
  const { key, kind } = FIELDS[field];
  const ok =
    kind.type === 'text'
      ? typeof value === 'string' && value.trim() !== ''
      : kind.type === 'url'
        ? typeof value === 'string' && /^https?:\/\/[^\s]+$/.test(value)
        : kind.type === 'bool'
          ? typeof value === 'boolean'
          : typeof value === 'number' && Number.isFinite(value) && value >= kind.min && value <= kind.max && (kind.type === 'number' || Number.isInteger(value));
  if (!ok) throw new ConfigError(`llm: ${key} must be ${expected(kind)}, got ${shown}`);
}

/** Fills defaults (the base URL and key from OPENAI_BASE_URL and OPENAI_API_KEY) and checks every value. */
export function resolveLlmOptions(given: Partial<LlmOptions>, env: NodeJS.ProcessEnv = process.env): LlmOptions {
  if (given.model === undefined) throw new ConfigError('llm: which model? Give model=NAME (the name the server serves, see GET /v1/models)');
  const options = {
    ...LLM_DEFAULTS,
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
    baseURL: (given.baseURL ?? env.OPENAI_BASE_URL ?? DEFAULT_BASE_URL).replace(/\/+$/, ''),
    // vLLM and most local servers accept any key, but the OpenAI client insists on one.
    apiKey: given.apiKey ?? env.OPENAI_API_KEY ?? 'EMPTY',
  } as LlmOptions;
  for (const field of Object.keys(FIELDS) as Field[]) {
    if (options[field] !== undefined) check(field, options[field], JSON.stringify(options[field]));
  }
  return options;
}

/** Options from an agent spec's `key=value` pairs; `prompt=FILE` is returned apart. The API key comes only from OPENAI_API_KEY, so it never lands in a player's name. */
export function parseLlmSpec(raw: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv = process.env): { options: LlmOptions; promptFile?: string } {
  const byKey = new Map(Object.entries(FIELDS).map(([field, { key }]) => [key, field as Field]));
  const given: Record<string, unknown> = {};
  let promptFile: string | undefined;
  for (const [key, text] of Object.entries(raw)) {
    if (key === 'prompt') {
      promptFile = text;
      continue;
    }
    const field = byKey.get(key);
    if (!field) {
      const hint = key === 'key' || key === 'api_key' ? ' (set OPENAI_API_KEY instead: a spec is recorded in every episode)' : '';
      throw new ConfigError(`llm: unknown option "${key}"${hint}; options: ${[...byKey.keys(), 'prompt'].join(', ')}`);
    }
    const kind = FIELDS[field].kind;
    const value = kind.type === 'bool' ? BOOLEANS[text.toLowerCase()] : kind.type === 'number' || kind.type === 'int' ? (text.trim() === '' ? NaN : Number(text)) : text;
    check(field, value, `"${text}"`);
    given[field] = value;
  }
  return { options: resolveLlmOptions(given as Partial<LlmOptions>, env), ...(promptFile === undefined ? {} : { promptFile }) };
}
