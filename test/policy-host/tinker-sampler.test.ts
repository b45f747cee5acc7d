import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { POLICY_HOST_DIR, TinkerClient, completionDatum } from '../../agents/hosted/index.ts';
import { TinkerSampler } from '../../agents/hosted/tinker-sampler.ts';
import type { ChatMessage } from '../../agents/llm/chat.ts';
import { loadChatTokenizer, type ChatTokenizer } from '../../agents/llm/chat-tokenizer.ts';
import { LlmError } from '../../agents/llm/errors.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { trainHosted, type HostedIteration } from '../../src/trainer/hosted-loop.ts';
import { spawn } from 'node:child_process';
import { runCli } from '../cli/run-cli.ts';
import { startNats } from '../trainer/nats-server.ts';
import { testHost, tinkerBackend } from './host-fixture.ts';
import { parityPennies } from './parity-game.ts';

const fixture = testHost('tinker-sampler-', ['--seed', '6']);
let tokenizer: ChatTokenizer;
beforeAll(async () => {
  tokenizer = await loadChatTokenizer(join(POLICY_HOST_DIR, 'tokenizer'));
});
const clients: TinkerClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

/** The host's own tokens for a chat prompt (its OpenAI side, return_token_ids). */
async function hostPrompt(messages: readonly ChatMessage[]): Promise<number[]> {
  const response = await fetch(`${fixture.host.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny', messages, max_tokens: 1, return_token_ids: true }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { prompt_token_ids: number[] }).prompt_token_ids;
}

describe("the byte model's tokenizer files (policy-host/tokenizer)", () => {
  it('render and tokenize every prompt exactly as the host does', async () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 24 }).filter((s) => !s.includes('<|'));
    const message = fc.record({ role: fc.constantFrom('system', 'user', 'assistant') as fc.Arbitrary<ChatMessage['role']>, content: text });
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 4 }), async (messages) => {
        expect(tokenizer.encodeChat(messages)).toEqual(await hostPrompt(messages));
      }),
      { numRuns: 60, seed: 11 },
    );
    expect(tokenizer.stopTokenIds).toEqual([256]);
  }, 60_000);
});

describe('TinkerSampler: sampling over the Tinker API with token-id prompts', () => {
  it('samples what training then scores: the same tokens and logprobs', async () => {
    const client = await TinkerClient.connect(fixture.host.url);
    clients.push(client);
    const model = await client.createModel({ baseModel: 'tiny', loraRank: 2 });
    await model.forwardBackward([completionDatum([257, 259, 72, 256, 260], [79, 75, 256])], 'cross_entropy');
    await model.optimStep({ learning_rate: 5e-2 });
    const saved = await model.saveWeightsForSampler('trained');
    const sampler = new TinkerSampler(client, { modelPath: saved.path! }, saved.model!, tokenizer, { maxTokens: 12 });
    const messages: ChatMessage[] = [{ role: 'user', content: 'Your card: K\nValid actions: [check], [bet]' }];
    const completion = await sampler.complete(messages);
    expect(completion.model).toBe(saved.model);
    expect(completion.promptTokenIds).toEqual(await hostPrompt(messages));
    const [sample] = completion.samples;
    expect(sample.tokenIds!.length).toBe(sample.logprobs!.length);
    expect(sample.tokenIds!.length).toBeLessThanOrEqual(12);
    expect(sample.text).toBe(tokenizer.decode(sample.tokenIds!, { skipSpecialTokens: true }));
    if (sample.finishReason === 'stop') expect(sample.tokenIds!.at(-1)).toBe(256);
    // The training weights are the sampler's: scoring the sampled tokens gives the logprobs they were sampled with.
    const scored = await model.forward([completionDatum(completion.promptTokenIds!, sample.tokenIds!)]);
    const logprobs = scored.loss_fn_outputs[0].logprobs.data.slice(completion.promptTokenIds!.length - 1);
    logprobs.forEach((value, i) => expect(value).toBeCloseTo(sample.logprobs![i], 4));
  }, 60_000);

  it('refuses guided choice, and reports a failed sample as the model failing', async () => {
    const client = await TinkerClient.connect(fixture.host.url, { retry: { retries: 0, backoffMs: 1, maxBackoffMs: 1 } });
    clients.push(client);
    const sampler = new TinkerSampler(client, { baseModel: 'tiny' }, 'tiny', tokenizer);
    const messages: ChatMessage[] = [{ role: 'user', content: 'hi' }];
    await expect(sampler.complete(messages, { guidedChoice: ['a', 'b'] })).rejects.toThrow(/guided choice is not available/);
    const missing = new TinkerSampler(client, { modelPath: 'tinker://model_00000000/none' }, 'x', tokenizer);
    const failure = await missing.complete(messages).catch((error) => error);
    expect(failure).toBeInstanceOf(LlmError);
    expect(failure.message).toContain('Model not found');
  }, 60_000);
});

describe('self-play sampled over the Tinker API (no OpenAI side used)', () => {
  it('trains on exactly the tokens the model was prompted with and sampled, version after version', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 1e-2, loss: 'ppo', sampling: { tokenizer, maxTokens: 6 } });
    try {
      const game = parityPennies();
      // A version is named by what samples it over the Tinker API: a sampling session of unnamed sampler weights.
      expect(backend.policy()).toMatch(/^sampling_[0-9a-f]{8}$/);
      const seen: { it: HostedIteration; episodes: readonly Episode[] }[] = [];
      await trainHosted({ game, backend, maxStaleness: 0, iterations: 2, gamesPerIteration: 8, concurrency: 4, seed: 3, exactEvery: 0, onIteration: (it, _state, episodes) => void seen.push({ it, episodes }) });
      expect(seen.map(({ it }) => it.version)).toEqual([1, 2]);
      for (const { it, episodes } of seen) {
        expect(it.model).toMatch(/^sampling_[0-9a-f]{8}$/);
        // Self-play: both seats are the model, every turn is a sample.
        expect(it.samples).toBe(2 * episodes.length);
        for (const episode of episodes) {
          for (const step of episode.steps) {
            const meta = step.meta as { model: string; messages: ChatMessage[]; promptTokenIds: number[]; completionTokenIds: number[]; logprobs: number[]; completion: string };
            expect(meta.promptTokenIds).toEqual(tokenizer.encodeChat(meta.messages));
            expect(meta.completionTokenIds.length).toBe(meta.logprobs.length);
            expect(meta.completion).toBe(tokenizer.decode(meta.completionTokenIds, { skipSpecialTokens: true }));
          }
        }
      }
      // Each version sampled is the one that played: the first step's games were played by the base weights.
      expect(seen[0].it.played).toBe('tiny@0');
      expect(seen[1].it.played).toBe('tiny@1');
    } finally {
      close();
    }
  }, 120_000);
});

describe('selfplay train-llm --tokenizer', () => {
  it('trains from the command line with the games sampled over the Tinker API, and says what does not go with it', async () => {
    const game = join(import.meta.dirname, 'parity-game.ts');
    const tokenizerDir = join(POLICY_HOST_DIR, 'tokenizer');
    const out = join(fixture.dir, 'cli-tokenizer');
    const args = ['--tinker', fixture.host.url, '--tokenizer', tokenizerDir, '--max-tokens', '6', '--games', '8', '--eval-games', '8', '--rate-games', '0'];
    const { code, out: stdout, err } = await runCli('train-llm', game, ...args, '--iterations', '2', '--out', out, '--json');
    expect(err).not.toMatch(/Error/);
    expect(code).toBe(0);
    expect(err).toContain('free-text sampling over the Tinker API (--tokenizer): no exact exploitability');
    const result = JSON.parse(stdout);
    expect(result.iterations.map((it: HostedIteration) => it.version)).toEqual([1, 2]);
    expect(result.model).toMatch(/^sampling_[0-9a-f]{8}$/);
    expect(result.before.matches).toBe(8);
    const resumed = await runCli('train-llm', '--resume', out, '--tinker', fixture.host.url, '--iterations', '3', '--json');
    expect(resumed.err).not.toMatch(/Error/);
    expect(JSON.parse(resumed.out).iterations.map((it: HostedIteration) => it.version)).toEqual([3]);
    const envRefused = await runCli('train-llm', '--env', 'self-play-critic', '--tinker', fixture.host.url, '--tokenizer', tokenizerDir);
    expect(envRefused.err).toMatch(/--tokenizer apply to game runs, not to --env runs/);
  }, 120_000);
});

describe('selfplay train-llm --tokenizer --bus', () => {
  let nats: Awaited<ReturnType<typeof startNats>> | undefined;
  afterEach(async () => {
    await nats?.stop();
    nats = undefined;
  });

  it('gives actor processes what they need to sample over the Tinker API too', async () => {
    nats = await startNats();
    const root = join(import.meta.dirname, '../..');
    const actor = spawn(process.execPath, ['bin/selfplay.js', 'actor', '--bus', nats.url, '--run', 'tok-bus', '--concurrency', '4', '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const game = join(import.meta.dirname, 'parity-game.ts');
      const args = ['--tinker', fixture.host.url, '--tokenizer', join(POLICY_HOST_DIR, 'tokenizer'), '--max-tokens', '6', '--games', '8', '--eval-games', '0', '--rate-games', '0'];
      const learner = await runCli('train-llm', game, ...args, '--bus', nats.url, '--run', 'tok-bus', '--iterations', '2', '--out', join(fixture.dir, 'tok-bus'), '--json');
      expect(learner.err).not.toMatch(/Error/);
      expect(learner.code).toBe(0);
      expect(JSON.parse(learner.out).iterations).toHaveLength(2);
      const output: string[] = [];
      actor.stdout!.on('data', (chunk) => output.push(String(chunk)));
      const exited = new Promise<number | null>((resolve) => actor.once('exit', resolve));
      actor.kill('SIGINT');
      expect(await exited).toBe(0);
      // The actor played the matches (its episodes carry the model's tokens: the learner trained on them).
      expect(JSON.parse(output.join('')).jobs).toBeGreaterThanOrEqual(2 * 8);
    } finally {
      actor.kill('SIGKILL');
    }
  }, 120_000);
});
