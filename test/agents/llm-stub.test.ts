import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { startLlmStub, type LlmStub } from '../../agents/llm/stub/server.ts';
import { registerLlmStub } from '../../src/cli/commands/llm-stub.ts';

const stubs: LlmStub[] = [];
afterAll(async () => {
  await Promise.all(stubs.map((s) => s.close()));
});

async function post(url: string, body: unknown) {
  const response = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as any };
}

describe('the stub server, over HTTP', () => {
  it('speaks the chat-completions API: n choices, logprobs with top alternatives, vLLM token ids, usage', async () => {
    const stub = await startLlmStub({ policy: 'first' });
    stubs.push(stub);
    const { status, body } = await post(stub.url, {
      model: 'stub',
      messages: [{ role: 'system', content: 'Play well.' }, { role: 'user', content: 'Board...\nValid actions: [[1, 2]], [{"a": [3]}]\nAnswer in \\boxed{}.' }],
      n: 2,
      logprobs: true,
      top_logprobs: 3,
      return_token_ids: true,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ object: 'chat.completion', model: 'stub' });
    expect(body.choices).toHaveLength(2);
    for (const [index, choice] of body.choices.entries()) {
      expect(choice.index).toBe(index);
      expect(choice.message.content).toMatch(/\\boxed\{\[1, 2\]\}$/);
      expect(choice.token_ids).toHaveLength(choice.logprobs.content.length);
      expect(choice.logprobs.content[0]).toMatchObject({ token: expect.any(String), logprob: expect.any(Number), bytes: expect.any(Array) });
      expect(choice.logprobs.content[0].top_logprobs).toHaveLength(3);
    }
    expect(body.usage.prompt_tokens).toBe(body.prompt_token_ids.length);
    expect(body.usage.completion_tokens).toBe(body.choices[0].token_ids.length * 2);
  });

  it('leaves out logprobs and token ids unless asked, and says so when the prompt lists no actions', async () => {
    const stub = await startLlmStub();
    stubs.push(stub);
    const { body } = await post(stub.url, { model: 'stub', messages: [{ role: 'user', content: 'What is 2 + 2?' }] });
    expect(body.choices[0].logprobs).toBeNull();
    expect(body.choices[0].token_ids).toBeUndefined();
    expect(body.prompt_token_ids).toBeUndefined();
    expect(body.choices[0].message.content).toMatch(/found no actions/);
  });

  it('answers bad requests with OpenAI-style errors and serves GET /v1/models', async () => {
    const stub = await startLlmStub({ model: 'm1' });
    stubs.push(stub);
    expect(await post(stub.url, '{not json')).toMatchObject({ status: 400, body: { error: { message: 'the request body is not JSON' } } });
    expect(await post(stub.url, { model: 'm1', messages: [] })).toMatchObject({ status: 400, body: { error: { type: 'invalid_request_error', param: 'messages' } } });
    expect(await post(stub.url, { model: 'm1', messages: [{ role: 'user', content: 'x' }], stream: true })).toMatchObject({ status: 400, body: { error: { param: 'stream' } } });
    expect(await post(stub.url, { model: 'm2', messages: [{ role: 'user', content: 'x' }] })).toMatchObject({ status: 404, body: { error: { code: 'model_not_found', message: 'The model `m2` does not exist.' } } });
    const models = await fetch(`${stub.url}/models`);
    expect(await models.json()).toMatchObject({ object: 'list', data: [{ id: 'm1', object: 'model' }] });
    expect((await fetch(`${stub.url}/nothing`)).status).toBe(404);
  });

  it('fails the share of requests it is told to, with the status it is told to', async () => {
    const stub = await startLlmStub({ failRate: 0.5, failStatus: 429, seed: 3 });
    stubs.push(stub);
    const statuses = [];
    for (let i = 0; i < 40; i++) statuses.push((await post(stub.url, { model: 'stub', messages: [{ role: 'user', content: 'x' }] })).status);
    const failed = statuses.filter((s) => s === 429).length;
    expect(failed).toBeGreaterThan(8);
    expect(failed).toBeLessThan(32);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(stub.stats).toMatchObject({ requests: 40, failures: failed });
  });
});

describe('selfplay llm-stub', () => {
  function program() {
    const out: string[] = [];
    const err: string[] = [];
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const command = new Command('selfplay').exitOverride().configureOutput({ writeOut: (s) => out.push(s), writeErr: (s) => err.push(s) });
    registerLlmStub(command, { out: (t) => out.push(t), err: (t) => err.push(t) }, () => stopped);
    return { command, out, err, stop };
  }

  it('serves on a free port, prints the URL, and stops cleanly', async () => {
    const { command, out, err, stop } = program();
    const running = command.parseAsync(['node', 'selfplay', 'llm-stub', '--port', '0', '--model', 'tiny', '--latency-ms', '1', '--json']);
    await expect.poll(() => out.length).toBe(1);
    const { url, model, port } = JSON.parse(out[0]);
    expect(model).toBe('tiny');
    expect(url).toBe(`http://127.0.0.1:${port}/v1`);
    const { body } = await post(url, { model: 'tiny', messages: [{ role: 'user', content: 'Valid actions: [x]' }] });
    expect(body.choices[0].message.content).toMatch(/\\boxed\{x\}$/);
    stop();
    await running;
    expect(err.join('\n')).toMatch(/stopped after 1 completion requests/);
    await expect(fetch(url.replace('/v1', '/v1/models'))).rejects.toThrow();
  });

  it('rejects bad options with a message that names them', async () => {
    for (const [args, message] of [
      [['--fail-rate', '2'], /--fail-rate must be a number from 0 to 1, got "2"/],
      [['--fail-status', '200'], /--fail-status must be an HTTP error status from 400 to 599/],
      [['--policy', 'smart'], /--policy must be random or first, got "smart"/],
    ] as const) {
      const { command, err } = program();
      await expect(command.parseAsync(['node', 'selfplay', 'llm-stub', ...args])).rejects.toThrow();
      expect(err.join('')).toMatch(message);
    }
  });
});
