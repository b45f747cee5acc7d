import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createPlayer } from '../../agents/index.ts';
import { llmAgent } from '../../agents/llm/agent.ts';
import type { ChatMessage } from '../../agents/llm/chat.ts';
import { LlmClient } from '../../agents/llm/llm-client.ts';
import { resolveLlmOptions, type LlmOptions } from '../../agents/llm/options.ts';
import { startLlmStub, type LlmStub, type LlmStubOptions, type StubRequest } from '../../agents/llm/stub/server.ts';
import { tokenId, tokenize } from '../../agents/llm/stub/tokens.ts';
import { kuhnPoker, ticTacToe } from '../../games/index.ts';
import type { Episode, EpisodeStep } from '../../src/episodes/episode.ts';
import { INVALID_MOVE_PRESETS, playMatch, type InvalidMovePolicy, type Player } from '../../src/runtime/index.ts';

const stubs: LlmStub[] = [];
const clients: LlmClient[] = [];

afterAll(async () => {
  for (const client of clients) client.close();
  await Promise.all(stubs.map((s) => s.close()));
});

async function stub(options: LlmStubOptions = {}): Promise<LlmStub> {
  const started = await startLlmStub(options);
  stubs.push(started);
  return started;
}

function client(baseURL: string, options: Partial<LlmOptions> = {}): LlmClient {
  const made = new LlmClient(resolveLlmOptions({ model: 'stub', baseURL, retries: 2, backoffMs: 20, ...options }, {}));
  clients.push(made);
  return made;
}

const llmPlayer = (name: string, c: LlmClient): Player => ({ name, agent: llmAgent({ client: c }) });
const randomPlayer = (): Player => createPlayer('random', kuhnPoker());

function match(players: Player[], options: { invalidMoves?: InvalidMovePolicy; turnTimeoutMs?: number; seed?: number } = {}): Promise<Episode> {
  return playMatch({ game: kuhnPoker(), players, seed: options.seed ?? 1, matchId: 'm', invalidMoves: options.invalidMoves, turnTimeoutMs: options.turnTimeoutMs });
}

const decisions = (episode: Episode): EpisodeStep[] => episode.steps.filter((s) => s.seat !== 'chance');
const metaOf = (step: EpisodeStep) => step.meta as Record<string, any>;

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('llm agents against the stub server', () => {
  it('play a full match, recording messages, completion, token ids, logprobs, usage and the model in every step', async () => {
    const server = await stub({ seed: 7 });
    const shared = client(server.url, { topLogprobs: 2 });
    const episode = await match([llmPlayer('a', shared), llmPlayer('b', shared)]);
    expect(episode.outcome).toBe('normal');
    const steps = decisions(episode);
    expect(steps.length).toBeGreaterThanOrEqual(2);
    for (const step of steps) {
      expect(step.valid).toBe(true);
      const meta = metaOf(step);
      expect(meta.model).toBe('stub');
      const prompt = (meta.messages as ChatMessage[]).at(-1)!;
      expect(prompt.role).toBe('user');
      expect(prompt.content).toContain(step.observation);
      expect(prompt.content).toMatch(/^Valid actions: \[(check|call)\], \[(bet|fold)\]$/m);
      expect(prompt.content).toContain('\\boxed{}');
      expect(meta.completion).toMatch(/\\boxed\{\w+\}$/);
      // The ids and logprobs are the stub's own tokenization of this very completion: they came through intact.
      expect(meta.completionTokenIds).toEqual(tokenize(meta.completion).map(tokenId));
      expect(meta.logprobs).toHaveLength(meta.completionTokenIds.length);
      expect(meta.logprobs.every((l: number) => l <= 0)).toBe(true);
      expect(meta.topLogprobs).toHaveLength(meta.logprobs.length);
      expect(meta.topLogprobs[0]).toHaveLength(2);
      expect(meta.tokens).toBeUndefined(); // ids make the token strings redundant
      expect(meta.promptTokenIds.length).toBeGreaterThan(50);
      expect(meta.usage).toEqual({ promptTokens: meta.promptTokenIds.length, completionTokens: meta.logprobs.length, totalTokens: meta.promptTokenIds.length + meta.logprobs.length });
      expect(meta.latencyMs).toBeGreaterThan(0);
      expect(meta.attempts).toBe(1);
      expect(meta.finishReason).toBe('stop');
    }
    expect(server.stats.requests).toBe(steps.length);
  });

  it('with guided_choice, send the legal actions and get exactly one of them back', async () => {
    const offered: string[][] = [];
    const server = await stub({ seed: 3, policy: (actions) => (offered.push([...actions]), actions[actions.length - 1]) });
    const episode = await match([llmPlayer('a', client(server.url, { guidedChoice: true })), randomPlayer()]);
    expect(episode.outcome).toBe('normal');
    const mine = decisions(episode).filter((s) => s.seat === 0);
    expect(mine.length).toBeGreaterThan(0);
    expect(offered).toHaveLength(mine.length);
    mine.forEach((step, i) => {
      expect(step.valid).toBe(true);
      expect(metaOf(step).completion).toBe(offered[i].at(-1));
      expect(offered[i]).toEqual(expect.arrayContaining([step.action]));
    });
  });

  it('keep token strings when the server gives logprobs but no token ids', async () => {
    const server = await stub();
    const episode = await match([llmPlayer('a', client(server.url, { tokenIds: false })), randomPlayer()]);
    const meta = metaOf(decisions(episode).find((s) => s.seat === 0)!);
    expect(meta.completionTokenIds).toBeUndefined();
    expect(meta.promptTokenIds).toBeUndefined();
    expect(meta.tokens.join('')).toBe(meta.completion);
    expect(meta.logprobs).toHaveLength(meta.tokens.length);
  });

  it('re-prompt with the error after an invalid reply (textarena policy), and forfeit on the second', async () => {
    const seen: ChatMessage[][] = [];
    const recordingFirst = (actions: readonly string[], _rng: unknown, messages: readonly ChatMessage[]) => {
      seen.push([...messages]);
      return actions[0];
    };
    const server = await stub({ invalidFirst: 1, policy: recordingFirst });
    const episode = await match([llmPlayer('a', client(server.url)), randomPlayer()], { invalidMoves: INVALID_MOVE_PRESETS.textarena });
    expect(episode.outcome).toBe('normal');
    const [invalid, retried] = decisions(episode).filter((s) => s.seat === 0);
    expect(invalid.valid).toBe(false);
    expect(invalid.error).toMatch(/"no such move" is not a legal action; answer with one of: \[check\] \[bet\]/);
    expect(retried.valid).toBe(true);
    // What reached the server on the retry: the prompt, the rejected reply, and the error.
    const wire = seen[0];
    expect(wire.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(wire[1].content).toBe(invalid.action);
    expect(wire[2].content).toContain(invalid.error);
    expect(wire[2].content).toMatch(/^Valid actions: \[check\], \[bet\]$/m);
    expect(metaOf(retried).messages).toEqual(wire);

    const twice = await stub({ invalidFirst: 2 });
    const lost = await match([llmPlayer('a', client(twice.url)), randomPlayer()], { invalidMoves: INVALID_MOVE_PRESETS.textarena });
    expect(lost).toMatchObject({ outcome: 'forfeit', offender: 0, returns: [-1, 1] });
  });

  it.each([429, 500])('retry a %i with exponential backoff, then succeed, counting every attempt', async (status) => {
    const requests: StubRequest[] = [];
    const server = await stub({ failFirst: 2, failStatus: status, onRequest: (r) => requests.push(r) });
    const episode = await match([llmPlayer('a', client(server.url, { retries: 3, backoffMs: 40 })), randomPlayer()]);
    expect(episode.outcome).toBe('normal');
    const first = metaOf(decisions(episode).find((s) => s.seat === 0)!);
    expect(first.attempts).toBe(3);
    expect(first.failures).toHaveLength(2);
    expect(first.failures[0]).toContain(`(${status}: injected failure (${status}))`);
    const chat = requests.filter((r) => r.path === '/v1/chat/completions');
    expect(chat.slice(0, 3).map((r) => r.status)).toEqual([status, status, 200]);
    // Waits of 40 then 80 ms, each jittered down to no less than half: the OpenAI client did not retry on its own.
    expect(chat[1].receivedAt - chat[0].receivedAt).toBeGreaterThanOrEqual(19);
    expect(chat[2].receivedAt - chat[1].receivedAt).toBeGreaterThanOrEqual(39);
  });

  it('end the match with an error once the retries are spent', async () => {
    const server = await stub({ failFirst: 100, failStatus: 503 });
    const episode = await match([llmPlayer('a', client(server.url, { retries: 2, backoffMs: 5 })), randomPlayer()]);
    expect(episode.outcome).toBe('error');
    expect(episode.returns).toEqual([0, 0]);
    expect(episode.reason).toMatch(/seat 0 \(a\) reported an error: the server at http:\/\/127\.0\.0\.1:\d+\/v1 failed \(503: injected failure \(503\)\) \(gave up after 3 attempts\)/);
    expect(server.stats.requests).toBe(3);
  });

  it('time out a slow request, retry it, and report the timeout', async () => {
    const server = await stub({ latencyMs: 400 });
    const episode = await match([llmPlayer('a', client(server.url, { timeoutMs: 60, retries: 1, backoffMs: 5 })), randomPlayer()]);
    expect(episode.outcome).toBe('error');
    expect(episode.reason).toMatch(/model "stub" at http:\/\/127\.0\.0\.1:\d+\/v1 did not answer within 60 ms \(gave up after 2 attempts\)/);
    expect(server.stats.requests).toBe(2);
  });

  it("give up before the referee's turn deadline, so a slow model ends the match with an error, not a timeout", async () => {
    const server = await stub({ latencyMs: 2_000 });
    const started = performance.now();
    const episode = await match([llmPlayer('a', client(server.url, { timeoutMs: 60_000 })), randomPlayer()], { turnTimeoutMs: 300 });
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(episode.outcome).toBe('error');
    const waited = /did not answer within (\d+) ms \(gave up after 1 attempt: the turn has no time left for another\)/.exec(episode.reason ?? '');
    expect(waited, episode.reason).not.toBeNull();
    expect(Number(waited![1])).toBeGreaterThan(200);
    expect(Number(waited![1])).toBeLessThanOrEqual(270); // 300 ms less the agent's margin
  });

  it('end the match with outcome error and a clear reason when the server is down', async () => {
    const base = `http://127.0.0.1:${await closedPort()}/v1`;
    const episode = await match([llmPlayer('a', client(base, { retries: 1, backoffMs: 5 })), randomPlayer()]);
    expect(episode.outcome).toBe('error');
    expect(episode.reason).toBe(`seat 0 (a) reported an error: cannot reach the model server at ${base} (connection refused); is it running? (gave up after 2 attempts)`);
  });

  it('say which models the server has when asked for an unknown one, without retrying', async () => {
    const server = await stub({ model: 'qwen-small' });
    const episode = await match([llmPlayer('a', client(server.url, { model: 'gpt-nope' })), randomPlayer()]);
    expect(episode.outcome).toBe('error');
    expect(episode.reason).toContain(`the server at ${server.url} does not serve model "gpt-nope" (404: The model \`gpt-nope\` does not exist.); it serves: qwen-small`);
    expect(server.stats.requests).toBe(1);
  });

  it('hint at the base URL when the API path is not found', async () => {
    const server = await stub();
    const base = server.url.replace(/\/v1$/, '');
    const episode = await match([llmPlayer('a', client(base)), randomPlayer()]);
    expect(episode.reason).toMatch(/\/chat\/completions was not found \(404: .*\); is the base URL right\? It usually ends in \/v1/);
  });

  it('with n > 1, play the first sample that names a legal action and record all of them', async () => {
    const server = await stub({ invalidFirst: 1 });
    const episode = await match([llmPlayer('a', client(server.url, { n: 3 })), randomPlayer()]);
    expect(episode.outcome).toBe('normal');
    const step = decisions(episode).find((s) => s.seat === 0)!;
    const meta = metaOf(step);
    expect(meta.samples).toHaveLength(3);
    expect(meta.samples.map((s: { valid: boolean }) => s.valid)).toEqual([false, true, true]);
    expect(meta.chosen).toBe(1);
    expect(meta.completion).toBe(meta.samples[1].completion);
    expect(meta.completionTokenIds).toEqual(meta.samples[1].completionTokenIds);
    expect(step.valid).toBe(true);
    expect(meta.samples[0].completion).toContain('\\boxed{no such move}');
  });

  it('with n > 1 and no valid sample, play the first and let the referee reject it', async () => {
    const server = await stub({ invalidFirst: 2 });
    const episode = await match([llmPlayer('a', client(server.url, { n: 2 })), randomPlayer()]);
    expect(episode).toMatchObject({ outcome: 'forfeit', offender: 0 });
    expect(metaOf(episode.steps.find((s) => s.seat === 0)!).chosen).toBe(0);
  });

  it('keep 256 requests in flight at once over 256 keep-alive sockets, reused from one round to the next', async () => {
    // Long enough that all 256 are sent before the first answer, even on a busy machine.
    const server = await stub({ latencyMs: 600 });
    const wide = client(server.url, { concurrency: 256 });
    const round = () => Promise.all(Array.from({ length: 256 }, () => wide.complete([{ role: 'user', content: 'Valid actions: [a], [b]' }])));
    await round();
    await round();
    expect(server.stats.maxActive).toBe(256);
    expect(server.stats.connections).toBe(256);
    expect(server.stats.requests).toBe(512);
  });

  it('keep requests to one endpoint within its concurrency', async () => {
    const server = await stub({ latencyMs: 30 });
    const bounded = client(server.url, { concurrency: 2 });
    const results = await Promise.all(Array.from({ length: 6 }, () => bounded.complete([{ role: 'user', content: 'Valid actions: [a], [b]' }])));
    expect(results.every((r) => /\\boxed\{[ab]\}/.test(r.samples[0].text))).toBe(true);
    expect(server.stats.maxActive).toBe(2);
  });
});

describe('the llm agent spec', () => {
  it('builds a player from llm:model=...,base=... that plays through the CLI registry', async () => {
    const server = await stub();
    const game = ticTacToe();
    const spec = `llm:model=stub,base=${server.url},temperature=0.5,max_tokens=64,retries=0`;
    const player = createPlayer(spec, game);
    expect(player.policy).toEqual({ id: server.url, version: 'stub' });
    const episode = await playMatch({ game, players: [player, createPlayer('random', game)], seed: 3, matchId: 'spec' });
    expect(episode.outcome).toBe('normal');
    expect(decisions(episode).filter((s) => s.seat === 0).every((s) => s.valid)).toBe(true);
  });
});
