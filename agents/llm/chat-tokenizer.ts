import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { ByteLevelPreTokenizer, SequencePreTokenizer, Tokenizer } from '@huggingface/tokenizers';
import { ConfigError } from '../../src/core/index.ts';
import type { ChatMessage } from './chat.ts';

export interface ChatTemplateOptions {
  /** End with the opening of the assistant's turn, for the model to go on from (default true: a prompt to sample). */
  readonly addGenerationPrompt?: boolean;
  /** The template's `enable_thinking` (Qwen3: false closes an empty think block); left undefined when absent. */
  readonly enableThinking?: boolean;
}

/** A model's own tokenizer and chat template, as Hugging Face transformers uses them. */
export interface ChatTokenizer {
  /** The folder (or the caller's name for the files) it came from. */
  readonly source: string;
  /** The token ids of `text`, with no special tokens added; special tokens written in it are recognised. */
  encode(text: string): number[];
  decode(ids: readonly number[], options?: { readonly skipSpecialTokens?: boolean }): string;
  /** The id of one token of the vocabulary, e.g. `<|im_end|>`, or undefined. */
  tokenId(token: string): number | undefined;
  /** The ids that end a completion: the config's eos token and generation_config.json's eos_token_id. */
  readonly stopTokenIds: readonly number[];
  /** The chat as the model sees it: `apply_chat_template(messages, tokenize=False)`. */
  renderChat(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string;
  /** The rendered chat's token ids: `apply_chat_template(messages, tokenize=True)`. */
  encodeChat(messages: readonly ChatMessage[], options?: ChatTemplateOptions): number[];
}

/** A model's tokenizer files, parsed; the names say where each came from, for errors. */
export interface ChatTokenizerFiles {
  readonly source: string;
  /** tokenizer.json */
  readonly tokenizer: unknown;
  /** tokenizer_config.json */
  readonly config: unknown;
  /** chat_template.jinja, which newer models ship instead of (and which wins over) the config's chat_template. */
  readonly chatTemplate?: string;
  /** generation_config.json, when the model has one. */
  readonly generationConfig?: unknown;
}

/** The special tokens transformers hands every chat template (its `special_tokens_map`) where the config sets them. */
const SPECIAL_TOKENS = ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'] as const;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A special token as tokenizer_config.json writes it: the text, or an AddedToken object with its `content`. */
function tokenText(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value.content === 'string') return value.content;
  throw new ConfigError(`${where}: expected a token (a string, or an object with a string "content"), got ${JSON.stringify(value)}`);
}

/**
 * @huggingface/jinja (0.5.13) ignores the argument of `str.strip(chars)`,
 * `lstrip` and `rstrip` and trims JavaScript's whitespace; Python strips the
 * characters given, or its own whitespace. Qwen3's template calls
 * `content.lstrip('\n')`, so an answer that starts with a space lost it.
 * The compiled template calls these globals instead, which do what Python does.
 */
const PYTHON_STRIPS = {
  strip: { name: '__selfplay_strip', left: true, right: true },
  lstrip: { name: '__selfplay_lstrip', left: true, right: false },
  rstrip: { name: '__selfplay_rstrip', left: false, right: true },
} as const;

/** What Python's str.isspace() holds true, the default of strip(). */
const PYTHON_WHITESPACE = new Set(
  Array.from('\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000').concat(
    Array.from({ length: 11 }, (_, i) => String.fromCharCode(0x2000 + i)),
  ),
);

const pythonStripGlobals = Object.fromEntries(
  Object.entries(PYTHON_STRIPS).map(([method, { name, left, right }]) => [
    name,
    (text: unknown, chars: unknown) => {
      if (typeof text !== 'string') {
        throw new Error(`${method}() is a string method; called on ${text === undefined ? 'an undefined value' : typeof text}`);
      }
      if (chars !== undefined && chars !== null && typeof chars !== 'string') throw new Error(`${method}() arg must be a string or None`);
      const strip = typeof chars === 'string' ? new Set(Array.from(chars)) : PYTHON_WHITESPACE;
      const points = Array.from(text);
      let start = 0;
      let end = points.length;
      while (left && start < end && strip.has(points[start])) start++;
      while (right && end > start && strip.has(points[end - 1])) end--;
      return points.slice(start, end).join('');
    },
  ]),
);

/** Rewrites, in the parsed template, each `x.strip(...)` (lstrip, rstrip) to `__selfplay_strip(x, ...)`. */
function usePythonStrips(node: unknown): void {
  if (Array.isArray(node)) {
    for (const child of node) usePythonStrips(child);
  } else if (node instanceof Map) {
    for (const [key, value] of node) {
      usePythonStrips(key);
      usePythonStrips(value);
    }
  } else if (typeof node === 'object' && node !== null) {
    for (const child of Object.values(node)) usePythonStrips(child);
    type Member = { type?: unknown; computed?: unknown; object?: unknown; property?: { type?: unknown; value?: unknown } };
    const call = node as { type?: unknown; callee?: Member; args?: unknown[] };
    const { callee } = call;
    const method = callee?.property?.type === 'Identifier' ? callee.property.value : undefined;
    const isStrip = typeof method === 'string' && Object.hasOwn(PYTHON_STRIPS, method);
    if (call.type === 'CallExpression' && callee?.type === 'MemberExpression' && !callee.computed && callee.property && isStrip) {
      callee.property.value = PYTHON_STRIPS[method as keyof typeof PYTHON_STRIPS].name;
      call.callee = callee.property;
      call.args = [callee.object, ...(call.args ?? [])];
    }
  }
}

/**
 * Two costs in @huggingface/tokenizers' (0.2.0) pre-tokenizers: the byte-level
 * step turns each pre-token into its bytes' characters with a TextEncoder call
 * and an array join, and every step gathers its pieces with Array.prototype.flat.
 * The byte-level step is a pure function of the pre-token, so its results are
 * remembered, as the library's BPE step remembers its own (pre-tokens up to 256
 * characters, at most 50,000 of them); one with its own regex sees whole texts,
 * which do not repeat, and is not. Each step gathers its pieces with a loop.
 * SPIRAL's Kuhn poker prompts with Qwen3's tokenizer on Node 20: about 2,200
 * encoded a second before, 6,800 after.
 */
function quickenPreTokenizer(tokenizer: Tokenizer): void {
  const pre = tokenizer.pre_tokenizer;
  for (const step of pre instanceof SequencePreTokenizer ? [pre, ...pre.tokenizers] : [pre]) {
    if (step === null) continue;
    const split = step.pre_tokenize_text.bind(step);
    const seen = step instanceof ByteLevelPreTokenizer && !step.use_regex ? new Map<string, string[]>() : undefined;
    step.pre_tokenize = (texts, options) => {
      const out: string[] = [];
      for (const text of Array.isArray(texts) ? texts : [texts]) {
        let pieces = seen?.get(text);
        if (pieces === undefined) {
          pieces = split(text, options);
          if (seen && text.length <= 256) {
            if (seen.size >= 50_000) seen.clear();
            seen.set(text, pieces);
          }
        }
        for (const piece of pieces) out.push(piece);
      }
      return out;
    };
  }
}

/**
 * A chat tokenizer from a model's files already read: the tokenizer by
 * @huggingface/tokenizers, the template by @huggingface/jinja (compiled here,
 * once), rendered with the variables transformers' `apply_chat_template` gives it.
 */
export function createChatTokenizer(files: ChatTokenizerFiles): ChatTokenizer {
  const { source } = files;
  const configName = join(source, 'tokenizer_config.json');
  const tokenizerName = join(source, 'tokenizer.json');
  if (!isObject(files.config)) throw new ConfigError(`${configName}: expected a JSON object`);
  if (!isObject(files.tokenizer)) throw new ConfigError(`${tokenizerName}: expected a JSON object`);
  const config = files.config;

  const templateName = files.chatTemplate === undefined ? `${configName} (chat_template)` : join(source, 'chat_template.jinja');
  const templateText = files.chatTemplate ?? config.chat_template;
  if (templateText === undefined || templateText === null) {
    throw new ConfigError(
      `${configName} has no chat_template, and there is no chat_template.jinja beside it: ` +
        'the model has no chat template to render chats with (a base model?)',
    );
  }
  if (typeof templateText !== 'string') {
    throw new ConfigError(`${templateName}: expected the template as a string; a list of named templates is not supported`);
  }
  let template: Template;
  try {
    template = new Template(templateText);
  } catch (error) {
    throw new ConfigError(`${templateName}: the chat template does not parse: ${(error as Error).message}`);
  }
  usePythonStrips(template.parsed);

  const specials: Record<string, unknown> = {};
  for (const name of SPECIAL_TOKENS) {
    const text = tokenText(config[name], `${configName} ${name}`);
    if (text !== undefined) specials[name] = text;
  }
  if (Array.isArray(config.additional_special_tokens)) {
    const where = `${configName} additional_special_tokens`;
    specials.additional_special_tokens = config.additional_special_tokens.map((token, i) => tokenText(token, `${where}[${i}]`));
  }

  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(files.tokenizer, config);
  } catch (error) {
    throw new ConfigError(`${tokenizerName}: @huggingface/tokenizers cannot load it: ${(error as Error).message}`);
  }
  quickenPreTokenizer(tokenizer);

  const stopTokenIds: number[] = [];
  const eos = specials.eos_token as string | undefined;
  if (eos !== undefined) {
    const id = tokenizer.token_to_id(eos);
    if (id === undefined) throw new ConfigError(`${configName}: its eos_token ${JSON.stringify(eos)} is not a token of ${tokenizerName}`);
    stopTokenIds.push(id);
  }
  if (files.generationConfig !== undefined) {
    const generationName = join(source, 'generation_config.json');
    if (!isObject(files.generationConfig)) throw new ConfigError(`${generationName}: expected a JSON object`);
    const ids = files.generationConfig.eos_token_id;
    for (const id of ids === undefined || ids === null ? [] : Array.isArray(ids) ? ids : [ids]) {
      if (!Number.isInteger(id) || tokenizer.id_to_token(id as number) === undefined) {
        throw new ConfigError(`${generationName}: eos_token_id ${JSON.stringify(id)} is not a token id of ${tokenizerName}`);
      }
      if (!stopTokenIds.includes(id as number)) stopTokenIds.push(id as number);
    }
  }
  if (stopTokenIds.length === 0) {
    throw new ConfigError(
      `${configName} names no eos_token and no generation_config.json gives an eos_token_id: nothing would end a completion`,
    );
  }

  const encode = (text: string) => tokenizer.encode(text, { add_special_tokens: false }).ids;
  const renderChat = (messages: readonly ChatMessage[], { addGenerationPrompt = true, enableThinking }: ChatTemplateOptions = {}) => {
    try {
      return template.render({
        messages,
        // What apply_chat_template passes without tools or documents.
        tools: null,
        documents: null,
        add_generation_prompt: addGenerationPrompt,
        ...specials,
        ...pythonStripGlobals,
        ...(enableThinking === undefined ? {} : { enable_thinking: enableThinking }),
      });
    } catch (error) {
      // raise_exception('...') in a template throws an Error with the template's message.
      throw new ConfigError(`${templateName}: the chat template failed on these messages: ${(error as Error).message}`);
    }
  };

  return {
    source,
    stopTokenIds: Object.freeze(stopTokenIds),
    encode,
    decode: (ids, { skipSpecialTokens = false } = {}) => {
      for (const id of ids) {
        if (!Number.isInteger(id) || tokenizer.id_to_token(id) === undefined) {
          throw new RangeError(`${source}: ${id} is not a token id of its vocabulary`);
        }
      }
      // The library refuses an empty list; no tokens are the empty text.
      return ids.length === 0 ? '' : tokenizer.decode(ids.slice(), { skip_special_tokens: skipSpecialTokens });
    },
    tokenId: (token) => tokenizer.token_to_id(token),
    renderChat,
    encodeChat: (messages, options) => encode(renderChat(messages, options)),
  };
}

/** A JSON file of the model folder, or undefined when an optional one is absent. */
async function readJson(path: string, optional: boolean): Promise<unknown> {
  const text = await readText(path, optional);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

async function readText(path: string, optional: boolean): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`${path}: cannot read it (${(error as Error).message})`);
    if (optional) return undefined;
    throw new ConfigError(`${path} not found: a model folder needs tokenizer.json and tokenizer_config.json (as the hub has them)`);
  }
}

/**
 * The tokenizer and chat template of the model whose files are in `dir`:
 * tokenizer.json and tokenizer_config.json, and where present
 * chat_template.jinja and generation_config.json.
 */
export async function loadChatTokenizer(dir: string): Promise<ChatTokenizer> {
  const folder = await stat(dir).catch(() => undefined);
  if (!folder?.isDirectory()) {
    throw new ConfigError(`${dir}: no such folder; expected a model folder with tokenizer.json and tokenizer_config.json`);
  }
  const [config, chatTemplate, generationConfig, tokenizer] = await Promise.all([
    readJson(join(dir, 'tokenizer_config.json'), false),
    readText(join(dir, 'chat_template.jinja'), true),
    readJson(join(dir, 'generation_config.json'), true),
    readJson(join(dir, 'tokenizer.json'), false),
  ]);
  return createChatTokenizer({ source: dir, tokenizer, config, chatTemplate, generationConfig });
}
