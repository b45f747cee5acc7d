import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseSample } from '../../agents/llm/agent.ts';
import { classifyFailure, LlmError } from '../../agents/llm/errors.ts';
import { GamePrompter } from '../../agents/llm/game-prompt.ts';
import { Limiter } from '../../agents/llm/limiter.ts';
import { fitMeta, turnMeta } from '../../agents/llm/meta.ts';
import { DEFAULT_BASE_URL, parseLlmSpec, resolveLlmOptions } from '../../agents/llm/options.ts';
import { backoffDelay, withRetries } from '../../agents/llm/retry.ts';
import { readPromptFile } from '../../agents/llm/spec.ts';
import { compileTemplate } from '../../agents/llm/template.ts';
import { readValidActions, validActionsLine } from '../../agents/llm/valid-actions.ts';
import { ConfigError } from '../../src/core/index.ts';
import { readModelMeta } from '../../src/episodes/index.ts';
import { PROTOCOL_VERSION, type StartMessage, type TurnMessage } from '../../src/runtime/index.ts';

const start: StartMessage = { type: 'start', v: PROTOCOL_VERSION, matchId: 'm', game: 'kuhn-poker', params: {}, seat: 1, seats: 2, seed: 0, rules: 'RULES' };
const turn = (extra: Partial<TurnMessage> = {}): TurnMessage => ({
  type: 'turn', v: PROTOCOL_VERSION, matchId: 'm', step: 0, seat: 1, observation: 'OBS', legal: ['[check]', '[bet]'], view: { observation: null, infoKey: '' }, timeoutMs: 1000, ...extra,
});

describe('templates', () => {
  it('fill {name} placeholders and leave other braces alone', () => {
    const fill = compileTemplate('Q: {question} -> \\boxed{} {"json": 1} {question}', ['question'], 'test');
    expect(fill({ question: 'x' })).toBe('Q: x -> \\boxed{} {"json": 1} x');
  });

  it('reject an unknown placeholder, naming the ones allowed', () => {
    expect(() => compileTemplate('{questoin}', ['question', 'answer'], 'solver user prompt')).toThrow(
      new ConfigError('solver user prompt: unknown placeholder {questoin}; it may use {question}, {answer}'),
    );
  });
});

describe('the Valid actions line', () => {
  it('reads back what it wrote, for any bracketed action texts', () => {
    const action = fc.oneof(
      fc.string().filter((s) => !/[[\]\n]/.test(s)).map((s) => `[${s}]`),
      fc.array(fc.integer(), { maxLength: 3 }).map((a) => `[${JSON.stringify(a)}]`),
      fc.dictionary(fc.string({ maxLength: 3 }).filter((s) => !/[[\]\n\\"]/.test(s)), fc.array(fc.nat(), { maxLength: 2 }), { maxKeys: 2 }).map((o) => `[${JSON.stringify(o)}]`),
    );
    fc.assert(
      fc.property(fc.array(action, { minLength: 1, maxLength: 8 }), fc.string().filter((s) => !s.includes('\n')), (legal, before) => {
        const text = `${before}\nObservation\n${validActionsLine(legal)}\nPlease answer.`;
        expect(readValidActions(text)).toEqual(legal);
      }),
    );
  });

  it('splits unbracketed action texts on ", ", takes the last line, and is null without one', () => {
    expect(readValidActions('Valid actions: up, down')).toEqual(['up', 'down']);
    expect(readValidActions('Valid actions: [a]\nlater\nValid actions: [b], [c]')).toEqual(['[b]', '[c]']);
    expect(readValidActions('The Valid actions: [a]')).toBeNull();
    expect(readValidActions('no list here')).toBeNull();
  });
});

describe('game prompts', () => {
  it('use SPIRAL\'s prompt by default: rules, observation, the legal actions, \\boxed{}', () => {
    const [user] = new GamePrompter().messages(start, turn());
    expect(user.role).toBe('user');
    expect(user.content).toBe(
      'You are playing a game. Make valid actions to win.\nRULES\n\nObservation:\nOBS\n\nValid actions: [check], [bet]\nPlease reason step by step, and put your final answer within \\boxed{}.',
    );
  });

  it('take per-game text over a default over the built-in one, checked when built', () => {
    const prompter = new GamePrompter({ default: { system: 'You play {game} as seat {seat}.' }, 'kuhn-poker': { user: '{observation} | {valid_actions}' } });
    expect(prompter.messages(start, turn())).toEqual([
      { role: 'system', content: 'You play kuhn-poker as seat 1.' },
      { role: 'user', content: 'OBS | Valid actions: [check], [bet]' },
    ]);
    expect(prompter.messages({ ...start, game: 'nim' }, turn())[1].content).toMatch(/^You are playing a game/);
    expect(() => new GamePrompter({ nim: { retry: '{oops}' } })).toThrow(/retry prompt for nim: unknown placeholder \{oops\}/);
  });

  it('after an invalid reply, send the prompt, the reply and the error', () => {
    const messages = new GamePrompter().messages(start, turn({ retry: { attempt: 1, error: 'not legal', reply: '\\boxed{raise}' } }));
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(messages[1].content).toBe('\\boxed{raise}');
    expect(messages[2].content).toMatch(/^Your answer was not accepted: not legal\nValid actions: \[check\], \[bet\]\n/);
  });

  it('read prompt files, with an error that names the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prompts-'));
    writeFileSync(join(dir, 'good.json'), JSON.stringify({ default: { user: '{observation}' } }));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ default: { user: 3 } }));
    expect(readPromptFile(join(dir, 'good.json'))).toEqual({ default: { user: '{observation}' } });
    expect(() => readPromptFile(join(dir, 'bad.json'))).toThrow(/prompt file .*bad\.json should map game ids .*default\.user/);
    expect(() => readPromptFile(join(dir, 'missing.json'))).toThrow(/cannot read prompt file/);
  });
});

describe('choosing among n samples', () => {
  it('plays the first sample whose answer is legal, else the first', () => {
    const samples = ['\\boxed{raise}', 'I check. \\boxed{check}', '[bet]'].map((text) => ({ text }));
    expect(chooseSample(samples, ['[check]', '[bet]'])).toEqual({ chosen: 1, valid: [false, true, true] });
    expect(chooseSample([{ text: 'x' }, { text: 'y' }], ['[check]'])).toEqual({ chosen: 0, valid: [false, false] });
  });
});

describe('retries', () => {
  const policy = { retries: 3, backoffMs: 100, maxBackoffMs: 300 };

  it('back off exponentially with jitter between half and all of each step, capped, and at least Retry-After', () => {
    expect([1, 2, 3, 4].map((k) => backoffDelay(policy, k, () => 0))).toEqual([50, 100, 150, 150]);
    expect([1, 2, 3, 4].map((k) => backoffDelay(policy, k, () => 1))).toEqual([100, 200, 300, 300]);
    expect(backoffDelay(policy, 1, () => 0, 250)).toBe(250);
    expect(backoffDelay(policy, 1, () => 0, 10_000)).toBe(300);
  });

  it('retry what may pass, wait between attempts, and say how many were made', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await withRetries(
      async () => {
        if (++calls < 3) throw new LlmError('rate-limited', '429', true, calls === 2 ? 220 : undefined);
        return 'ok';
      },
      policy,
      { random: () => 0, sleep: async (ms) => void waits.push(ms) },
    );
    expect(result).toEqual({ value: 'ok', attempts: 3, failures: ['429', '429'] });
    expect(waits).toEqual([50, 220]);
  });

  it('stop at once on what will not pass, and after the last retry with the count', async () => {
    const sleep = async () => undefined;
    await expect(withRetries(async () => Promise.reject(new LlmError('rejected', 'bad key', false)), policy, { sleep })).rejects.toThrow('bad key');
    await expect(withRetries(async () => Promise.reject(new Error('bug')), policy, { sleep })).rejects.toThrow('bug');
    await expect(withRetries(async () => Promise.reject(new LlmError('server-error', '500', true)), policy, { sleep })).rejects.toThrow('500 (gave up after 4 attempts)');
  });

  it('do not start a wait that would pass the deadline', async () => {
    const attempt = async () => Promise.reject(new LlmError('timeout', 'slow', true));
    await expect(withRetries(attempt, policy, { deadline: performance.now() + 10, random: () => 0 })).rejects.toThrow('slow (gave up after 1 attempt: the turn has no time left for another)');
  });
});

describe('reading failures', () => {
  const headers = (entries: Record<string, string>) => new Headers(entries);
  const classify = (error: unknown) => classifyFailure(error, 'http://h/v1', 'm');

  it('retries rate limits and server errors, honouring Retry-After', () => {
    expect(classify({ status: 429, message: '429 slow down', headers: headers({ 'retry-after': '2' }) })).toMatchObject({ failure: 'rate-limited', retryable: true, retryAfterMs: 2000 });
    expect(classify({ status: 429, headers: headers({ 'retry-after-ms': '150' }), error: { message: 'slow down' } })).toMatchObject({ retryAfterMs: 150, message: 'the server at http://h/v1 is rate limiting requests (429: slow down)' });
    expect(classify({ status: 503, message: 'busy' })).toMatchObject({ failure: 'server-error', retryable: true });
    expect(classify({ status: 500, message: 'oops' }).code).toBe('llm-server-error');
  });

  it('does not retry what the server refused', () => {
    expect(classify({ status: 401, message: 'bad key' })).toMatchObject({ failure: 'rejected', retryable: false, message: 'the server at http://h/v1 rejected the request (401: bad key)' });
    expect(classify({ status: 404, code: 'model_not_found', message: 'nope' })).toMatchObject({ failure: 'unknown-model', retryable: false });
    expect(classify({ status: 404, message: 'model "m" not found, try pulling it first' }).failure).toBe('unknown-model');
    expect(classify({ status: 404, message: 'Not Found' }).failure).toBe('rejected');
  });

  it('finds connection failures under the client\'s wrapping', () => {
    const refused = Object.assign(new Error('Connection error.'), { cause: Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }) });
    expect(classify(refused)).toMatchObject({ failure: 'unreachable', retryable: true, message: 'cannot reach the model server at http://h/v1 (connection refused); is it running?' });
    expect(classify({ message: 'x', cause: { code: 'ENOTFOUND' } })).toMatchObject({ failure: 'unreachable', retryable: false });
    expect(classify(new Error('weird'))).toMatchObject({ failure: 'bad-response', retryable: false });
  });
});

describe('meta size', () => {
  it('passes small meta through untouched', () => {
    const meta = { model: 'm', completion: 'x', logprobs: [-1] };
    expect(fitMeta(meta, 1000)).toBe(meta);
  });

  it('drops the bulkiest fields first and says which, until it fits', () => {
    const meta = { model: 'm', messages: [{ role: 'user', content: 'hi' }], completion: 'done', topLogprobs: [new Array(50).fill({ token: 'abc', logprob: -1 })], samples: new Array(10).fill({ completion: 'x'.repeat(50) }), logprobs: [-0.5] };
    const fitted = fitMeta(meta, 400);
    expect(Object.keys(fitted)).toEqual(['model', 'messages', 'completion', 'logprobs', 'omitted']);
    expect(fitted.omitted).toEqual({ fields: ['topLogprobs', 'samples'], reason: "the turn's data was larger than the 400-byte limit on meta" });
    expect(JSON.stringify(fitted).length).toBeLessThanOrEqual(400);
  });
});

describe('model meta', () => {
  const completion = {
    model: 'tiny@3',
    samples: [{ text: '[bet]', finishReason: 'stop', tokenIds: [7, 8], logprobs: [-0.5, -0.25] }, { text: '[fold]' }],
    promptTokenIds: [1, 2, 3],
    usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 },
    latencyMs: 12.5,
    attempts: 2,
    failures: ['timeout'],
  };

  it('reads back every field a turn writes, trimmed to fit or not', () => {
    const meta = turnMeta([{ role: 'user', content: 'OBS' }], completion, 0, [true, false]);
    expect(readModelMeta(JSON.parse(JSON.stringify(meta)))).toEqual(meta);
    const fitted = fitMeta(meta, 300);
    expect(fitted.omitted).toBeDefined();
    expect(readModelMeta(fitted)).toEqual(fitted);
  });

  it('leaves out fields of the wrong type, and reads only the fields asked for', () => {
    const meta = { model: 3, completion: 'x', completionTokenIds: [1.5], logprobs: [-1, null], promptTokenIds: [4] };
    expect(readModelMeta(meta)).toEqual({ completion: 'x', promptTokenIds: [4] });
    expect(readModelMeta(meta, ['completion'])).toEqual({ completion: 'x' });
    expect(readModelMeta(undefined)).toEqual({});
  });
});

describe('the limiter', () => {
  it('runs at most its limit at once, in arrival order', async () => {
    const limiter = new Limiter(2);
    let running = 0;
    let most = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 7 }, (_, i) =>
        limiter.run(async () => {
          most = Math.max(most, ++running);
          order.push(i);
          await new Promise((resolve) => setTimeout(resolve, 2));
          running--;
        }),
      ),
    );
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect([limiter.active, limiter.queued]).toEqual([0, 0]);
  });
});

describe('llm options', () => {
  it('default the endpoint and key from the environment, then vLLM\'s address', () => {
    expect(resolveLlmOptions({ model: 'm' }, { OPENAI_BASE_URL: 'http://gpu:8000/v1/', OPENAI_API_KEY: 'sk' })).toMatchObject({ baseURL: 'http://gpu:8000/v1', apiKey: 'sk', n: 1, logprobs: true, tokenIds: true });
    expect(resolveLlmOptions({ model: 'm' }, {})).toMatchObject({ baseURL: DEFAULT_BASE_URL, apiKey: 'EMPTY' });
  });

  it('read every spec option, with errors that say what was expected', () => {
    const { options, promptFile } = parseLlmSpec(
      { model: 'q', base: 'http://x/v1', temperature: '0.7', top_p: '0.9', max_tokens: '512', n: '4', logprobs: 'false', top_logprobs: '5', token_ids: 'no', timeout_ms: '5000', retries: '0', backoff_ms: '10', max_backoff_ms: '100', concurrency: '8', prompt: 'p.json' },
      {},
    );
    expect(options).toMatchObject({ model: 'q', baseURL: 'http://x/v1', temperature: 0.7, topP: 0.9, maxTokens: 512, n: 4, logprobs: false, topLogprobs: 5, tokenIds: false, timeoutMs: 5000, retries: 0, backoffMs: 10, maxBackoffMs: 100, concurrency: 8 });
    expect(promptFile).toBe('p.json');
    expect(() => parseLlmSpec({}, {})).toThrow(/which model\? Give model=NAME/);
    expect(() => parseLlmSpec({ model: 'q', temperature: 'hot' }, {})).toThrow('llm: temperature must be a number from 0 to 2, got "hot"');
    expect(() => parseLlmSpec({ model: 'q', n: '1.5' }, {})).toThrow('llm: n must be a whole number from 1 to 128, got "1.5"');
    expect(() => parseLlmSpec({ model: 'q', logprobs: 'maybe' }, {})).toThrow('llm: logprobs must be true or false, got "maybe"');
    expect(() => parseLlmSpec({ model: 'q', base: 'localhost:8000' }, {})).toThrow('llm: base must be an http:// or https:// URL, got "localhost:8000"');
    expect(() => parseLlmSpec({ model: 'q', key: 'sk-123' }, {})).toThrow(/unknown option "key" \(set OPENAI_API_KEY instead/);
    expect(() => resolveLlmOptions({ model: 'q', concurrency: 0 }, {})).toThrow('llm: concurrency must be a whole number from 1 to 65536, got 0');
  });
});
