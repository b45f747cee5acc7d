import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createPlayer } from '../../agents/index.ts';
import { startPolicyHost, TinkerError, VllmAdapters } from '../../agents/hosted/index.ts';
import { LlmClient } from '../../agents/llm/llm-client.ts';
import { resolveLlmOptions } from '../../agents/llm/options.ts';
import { startLlmStub } from '../../agents/llm/stub/server.ts';
import { kuhnPoker } from '../../games/index.ts';
import { ConfigError } from '../../src/core/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { EpisodeTrainer } from '../../src/trainer/episode-trainer.ts';
import { playHosted, trainHosted } from '../../src/trainer/hosted-loop.ts';
import { runCli } from '../cli/run-cli.ts';
import { testHost, tinkerBackend } from './host-fixture.ts';

const game = kuhnPoker();
const random = () => createPlayer('random', game);

const fixture = testHost('selfplay-host-', ['--seed', '1']);
const checkpoints = fixture.dir;

const meanAndVariance = (episodes: readonly Episode[]) => {
  const returns = episodes.map((e) => e.returns[e.players.findIndex((p) => p.name === 'learner')]);
  const mean = returns.reduce((a, b) => a + b, 0) / returns.length;
  return { mean, variance: returns.reduce((a, r) => a + (r - mean) ** 2, 0) / (returns.length - 1), n: returns.length };
};

describe('a language-model policy on the policy host', () => {
  it('plays legal moves through the llm agent, recording the exact version, token ids and logprobs', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url);
    onTestFinished(close);
    const published = { model: backend.policy(), version: backend.version };
    expect(published.model).toMatch(/^model_[0-9a-f]{8}@0$/);
    const { episodes, record } = await playHosted({ game, model: backend.model.id, apiBase: backend.samplingBase, policy: { id: backend.policyId, version: published.version }, opponent: random(), games: 8, seed: 1 });
    expect(record.matches).toBe(8);
    for (const episode of episodes) {
      expect(episode.outcome).toBe('normal');
      const seat = episode.players.findIndex((p) => p.name === 'learner');
      const mine = episode.steps.filter((s) => s.seat === seat);
      expect(mine.length).toBeGreaterThan(0);
      for (const step of mine) {
        expect(step.valid).toBe(true);
        const meta = step.meta as Record<string, any>;
        // The bare name resolves to the newest published version, and the episode records which.
        expect(meta.model).toBe(published.model);
        expect(meta.completionTokenIds.length).toBe(meta.logprobs.length);
        expect(meta.promptTokenIds.length).toBeGreaterThan(10);
        expect(meta.completion).toBe(step.action);
      }
    }
  });

  it('trains from the samples of its episodes, and publishing switches the bare name to the new version', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 1e-3 });
    onTestFinished(close);
    const before = backend.policy();
    const { episodes } = await playHosted({ game, model: before, apiBase: backend.samplingBase, policy: { id: backend.policyId, version: backend.version }, opponent: random(), games: 16, seed: 2 });
    const samples = new EpisodeTrainer(game, backend, { policyId: backend.policyId, algo: 'grpo' }).samples(episodes);
    expect(samples.length).toBeGreaterThan(16);
    expect(samples.every((s) => s.tokens && s.tokens.completion.length === s.tokens.logprobs.length)).toBe(true);
    const metrics = await backend.update(samples);
    expect(metrics.version).toBe(backend.version);
    expect(metrics.model).toBe(`${backend.model.id}@${metrics.version}`);
    expect(metrics.model).not.toBe(before);
    expect(metrics.samples).toBe(samples.length);
    expect(Number.isFinite(metrics.step.loss)).toBe(true);
    const llm = new LlmClient(resolveLlmOptions({ model: backend.model.id, baseURL: backend.samplingBase }, {}));
    try {
      const completion = await llm.complete([{ role: 'user', content: 'Your card: K\nValid actions: [check], [bet]' }], { guidedChoice: ['[check]', '[bet]'] });
      expect(completion.model).toBe(metrics.model);
      expect(['[check]', '[bet]']).toContain(completion.samples[0].text);
    } finally {
      llm.close();
    }
  });

  it('refuses samples without token data, and a bad item changes nothing on the host', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url);
    onTestFinished(close);
    const sample = { episodeId: 'e', policy: { id: backend.policyId, version: 0 }, seat: 0, role: 'seat 0', action: '[bet]', reward: 1, advantage: 1 };
    await expect(backend.update([sample])).rejects.toThrow(ConfigError);
    const version = backend.version;
    const bad = { ...sample, tokens: { prompt: [257, 104], completion: [99999], logprobs: [-1] } };
    const failure = await backend.update([bad]).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TinkerError);
    expect(failure).toMatchObject({ status: 400, category: 'user' });
    expect((failure as Error).message).toMatch(/forward_backward_input.data.0.loss_fn_inputs.target_tokens: token ids must be integers from 0 to 261/);
    expect((await backend.publish()).version).toBe(version);
    await expect(tinkerBackend(fixture.host.url, {}, { baseModel: 'nobody' })).rejects.toMatchObject({ status: 400, message: expect.stringContaining("base model 'nobody' is not served here") });
  });

  it('measurably improves its results against random at Kuhn poker (fixed seeds, 2,000 games before and after)', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3, loss: 'ppo' });
    onTestFinished(close);
    const evaluate = async () =>
      meanAndVariance((await playHosted({ game, model: backend.policy(), apiBase: backend.samplingBase, policy: { id: backend.policyId, version: backend.version }, opponent: random(), games: 2000, seed: 99 })).episodes);
    const before = await evaluate();
    const iterations = await trainHosted({ game, backend, opponents: 'random', maxStaleness: 0, iterations: 8, gamesPerIteration: 256, seed: 5 });
    expect(iterations.map((i) => i.model)).toEqual(iterations.map((_, k) => `${backend.model.id}@${Number(iterations[0].played.split('@')[1]) + k + 1}`));
    const after = await evaluate();
    // Welch's z for the difference of the mean returns: > 3 is far beyond chance.
    const z = (after.mean - before.mean) / Math.sqrt(before.variance / before.n + after.variance / after.n);
    expect(after.mean - before.mean).toBeGreaterThan(0.08);
    expect(z).toBeGreaterThan(3);
  }, 240_000);

  it('runs the same loop from the command line (selfplay train-llm --tinker)', async () => {
    const { code, out, err } = await runCli('train-llm', 'kuhn-poker', '--tinker', fixture.host.url, '--iterations', '2', '--games', '16', '--eval-games', '20', '--rate-games', '0', '--out', join(checkpoints, 'cli-self'), '--json');
    expect(err).not.toMatch(/Error/);
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result.iterations).toHaveLength(2);
    expect(result.before.matches).toBe(20);
    expect(result.model).toBe(result.iterations[1].model);
    // Self-play by default: both seats' turns are trained on, and each published version is evaluated exactly.
    for (const step of result.iterations) {
      // A Kuhn game has 2 or 3 turns, all of them the model's.
      expect(step.samples).toBeGreaterThanOrEqual(2 * 16);
      expect(step.samplesBySeat.every((n: number) => n > 0)).toBe(true);
      expect(step.exploitability).toBeGreaterThan(0);
    }
    const fixed = await runCli('train-llm', 'kuhn-poker', '--tinker', fixture.host.url, '--lora-rank', '4', '--opponents', 'random', '--iterations', '3', '--max-staleness', '1', '--games', '16', '--eval-games', '0', '--exact-every', '0', '--rate-games', '0', '--out', join(checkpoints, 'cli-random'), '--json');
    const steps = JSON.parse(fixed.out).iterations;
    for (const step of steps) {
      // Against a fixed opponent only the model's own turns train it (at most 2 of a game's), and nothing asked for an exact evaluation.
      expect(step.samples).toBeLessThanOrEqual(2 * 16);
      expect(step.exploitability).toBeUndefined();
      // Asynchronous: the games a step trains on were played by its version or the one before.
      expect(step.ageMax).toBeLessThanOrEqual(1);
    }
    const rows = readFileSync(join(checkpoints, 'cli-random', 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(rows.map((row) => [row.ageMedian <= row.ageMax, row.hostBusy > 0 && row.hostBusy <= 1])).toEqual(steps.map(() => [true, true]));
    expect(JSON.parse(readFileSync(join(checkpoints, 'cli-random', 'run.json'), 'utf8'))).toMatchObject({ maxStaleness: 1, ratioCap: 2 });
    // A run checkpointed by the host protocol before the Tinker API says so, before starting anything.
    const old = join(checkpoints, 'cli-random', 'checkpoints', 'state.json');
    writeFileSync(old, JSON.stringify({ ...JSON.parse(readFileSync(old, 'utf8')), weights: 'cli-random-1234abcd-b' }));
    const stale = await runCli('train-llm', '--resume', join(checkpoints, 'cli-random'), '--tinker', fixture.host.url);
    expect(stale.code).toBe(2);
    expect(stale.err).toMatch(/checkpointed before selfplay trained over the Tinker API \(its weights are "cli-random-1234abcd-b", not a tinker:\/\/ path\): start a new run/);
    const refused = await runCli('train-llm', 'kuhn-poker', '--tinker', fixture.host.url, '--max-staleness', '-1');
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/--max-staleness must be/);
  }, 60_000);

  it('plays in an arena from the command line: llm:model=tiny,guided_choice=true,prompt=compact', async () => {
    const spec = `llm:model=tiny,base=${fixture.host.url}/v1,guided_choice=true,prompt=compact`;
    const { code, out } = await runCli('play', 'kuhn-poker', '--agent', spec, '--agent', 'random', '--matches', '20', '--json');
    expect(code).toBe(0);
    const result = JSON.parse(out);
    expect(result.matches).toBe(20);
    expect(result.agents[0]).toMatchObject({ agent: spec, matches: 20, errors: 0 });
  }, 60_000);
});

describe('starting the reference host', () => {
  it('says what is wrong when the Python has no PyTorch or does not exist', async () => {
    const fake = join(checkpoints, 'python-without-torch.sh');
    writeFileSync(fake, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n");
    chmodSync(fake, 0o755);
    await expect(startPolicyHost({ python: fake })).rejects.toThrow(/exited \(status 1\) before listening\n.*has no PyTorch/);
    await expect(startPolicyHost({ python: join(checkpoints, 'no-such-python') })).rejects.toThrow(/ENOENT.*is Python with PyTorch installed/);
  });
});

describe('publishing to vLLM (against the stub server)', () => {
  it('loads each version as a LoRA adapter by name, unloads the old ones, and agents play the named version', async () => {
    const stub = await startLlmStub({ seed: 1 });
    try {
      const adapters = new VllmAdapters(stub.url, 2);
      await expect(tinkerBackend(fixture.host.url, { vllm: adapters })).rejects.toThrow(/vLLM serves LoRA adapters: train a LoRA model \(--lora-rank above 0\)/);
      const { backend, close } = await tinkerBackend(fixture.host.url, { vllm: adapters, learningRate: 1e-4 }, { loraRank: 2 });
      onTestFinished(close);
      const first = backend.policy();
      expect(backend.samplingBase).toBe(stub.url);
      const names = async () => ((await (await fetch(`${stub.url}/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id);
      expect(await names()).toEqual(['stub', first]);
      const { episodes } = await playHosted({ game, model: first, apiBase: stub.url, policy: { id: backend.policyId, version: backend.version }, opponent: random(), games: 4, seed: 3 });
      expect(episodes.every((e) => e.outcome === 'normal')).toBe(true);
      const meta = episodes[0].steps.find((s) => s.meta)!.meta as { model: string };
      expect(meta.model).toBe(first);
      // Two more versions: the first is unloaded, the newest two stay.
      const token = { prompt: [257, 104, 256], completion: [91, 256], logprobs: [-5, -5] };
      const sample = { episodeId: 'e', policy: { id: backend.policyId, version: 0 }, seat: 0, role: 'r', action: '[', reward: 1, advantage: 1, tokens: token };
      const second = (await backend.update([sample])).model;
      const third = (await backend.update([sample])).model;
      expect(await names()).toEqual(['stub', second, third]);
      // What vLLM no longer serves is deleted on the host: its sampler weights, and the adapter folder vLLM read.
      expect(readdirSync(join(fixture.dir, 'host', 'sampler', backend.model.id)).sort()).toEqual(['vllm-1', 'vllm-2']);
      const refused = await fetch(`${stub.url}/unload_lora_adapter`, { method: 'POST', body: JSON.stringify({ lora_name: first }) });
      expect(refused.status).toBe(404);
      const again = await fetch(`${stub.url}/load_lora_adapter`, { method: 'POST', body: JSON.stringify({ lora_name: third, lora_path: '/x' }) });
      expect(again.status).toBe(400);
    } finally {
      await stub.close();
    }
  });
});
