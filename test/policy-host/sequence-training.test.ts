import { describe, expect, it, onTestFinished } from 'vitest';
import { completionDatum, type TinkerModel } from '../../agents/hosted/index.ts';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { POLICY_HOST_DIR } from '../../agents/hosted/index.ts';
import { loadChatTokenizer } from '../../agents/llm/chat-tokenizer.ts';
import { createRestMcts } from '../../environments/rest-mcts/index.ts';
import { createSpin } from '../../environments/spin/index.ts';
import { createSppo } from '../../environments/sppo/index.ts';
import { trainEnvironment } from '../../src/trainer/env-loop.ts';
import { imitationUpdate } from '../../src/trainer/imitation.ts';
import { imitationObjective, spinObjective, sppoObjective } from '../../src/trainer/sequence-objectives.ts';
import { runCli } from '../cli/run-cli.ts';
import { testHost, tinkerBackend } from './host-fixture.ts';

const fixture = testHost('selfplay-sequence-training-', ['--seed', '3']);

// Byte-model sequences: <user> AB </turn> <assistant>, then the completion and </turn>.
const sequences = [
  { prompt: [257, 259, 65, 66, 256, 260], completion: [67, 68, 256] },
  { prompt: [257, 259, 69, 256, 260], completion: [70, 71, 72, 256] },
];

/** Each sequence's summed completion logprob under the model's training weights now. */
async function logprobs(model: TinkerModel): Promise<number[]> {
  const out = await model.forward(sequences.map((s) => completionDatum(s.prompt, s.completion)));
  return out.loss_fn_outputs.map((o, i) => o.logprobs.data.slice(-sequences[i].completion.length).reduce((a, b) => a + b, 0));
}

describe('a loss of whole sequences trained over the Tinker API', () => {
  it("moves each sequence's logprob towards its SPPO target: up for a winner, down for a loser", async () => {
    // Adam's first step moves every weight by about the learning rate, whatever the gradient's size: a small one, so as not to overshoot.
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 1e-4 });
    onTestFinished(close);
    const before = await logprobs(backend.model);
    // The sampler's logprobs are the weights' own; targets eta * (win rate - 1/2) of +1 and -1.
    const objective = sppoObjective(before, [1, -1]);
    const result = await backend.trainSequences(sequences, objective);
    expect(result.step.loss).toBeCloseTo(1, 6);
    expect(result.version).toBe(1);
    const after = await logprobs(backend.model);
    expect(after[0]).toBeGreaterThan(before[0]);
    expect(after[1]).toBeLessThan(before[1]);
    expect(objective(after).loss).toBeLessThan(1);
  }, 60_000);

  it('takes no step where the loss is flat', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url);
    onTestFinished(close);
    const before = await logprobs(backend.model);
    const result = await backend.trainSequences(sequences, sppoObjective(before, [0, 0]));
    expect(result.step.loss).toBeCloseTo(0, 9);
    expect(result.version).toBe(0);
    expect(await logprobs(backend.model)).toEqual(before);
  }, 60_000);

  it('trains a model in the sppo environment with SPPO\'s loss, and from the command line', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3 });
    onTestFinished(close);
    const done = await trainEnvironment({ environment: createSppo({ samples: 4 }), backend, matchesPerIteration: 4, iterations: 2, objective: 'sppo', sppoEta: 2 });
    expect(done.map((it) => it.version)).toEqual([1, 2]);
    expect(done.every((it) => it.errors === 0 && it.samples === 16)).toBe(true);
    const cli = await runCli('train-llm', '--env', 'sppo', '--tinker', fixture.host.url, '--games', '4', '--iterations', '1', '--out', `${fixture.dir}/sppo-cli`, '--json');
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.out)).toMatchObject({ environment: 'sppo', updates: 1 });
  }, 120_000);

  it("raises the data set's answer over the model's own with SPIN's loss, relative to the iterate that answered", async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 1e-4 });
    onTestFinished(close);
    // Sequence 0 stands for the data set's answer, sequence 1 for the model's own, to the same kind of prompt.
    const reference = await backend.sequenceLogprobs(sequences);
    const objective = spinObjective(reference, 0.5);
    expect(objective(reference).loss).toBeCloseTo(Math.log(2), 12);
    await backend.trainSequences(sequences, objective);
    const after = await backend.sequenceLogprobs(sequences);
    expect(after[0] - reference[0]).toBeGreaterThan(after[1] - reference[1]);
    expect(objective(after).loss).toBeLessThan(Math.log(2));
  }, 60_000);

  it('trains a model in the spin environment with SPIN\'s loss, and from the command line', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3 });
    onTestFinished(close);
    const tokenizer = await loadChatTokenizer(join(POLICY_HOST_DIR, 'tokenizer'));
    const done = await trainEnvironment({ environment: createSpin(), backend, matchesPerIteration: 4, iterations: 2, objective: 'spin', tokenizer });
    expect(done.map((it) => it.version)).toEqual([1, 2]);
    expect(done.every((it) => it.errors === 0 && it.samples === 8)).toBe(true);
    await expect(trainEnvironment({ environment: createSpin(), backend, matchesPerIteration: 2, iterations: 1, objective: 'spin' })).rejects.toThrow(/SPIN needs the model's tokenizer/);
    await expect(trainEnvironment({ environment: createSppo(), backend, matchesPerIteration: 2, iterations: 1, objective: 'spin', tokenizer })).rejects.toThrow(/has no reference answer/);
    const cli = await runCli('train-llm', '--env', 'spin', '--tinker', fixture.host.url, '--games', '4', '--iterations', '1', '--out', `${fixture.dir}/spin-cli`, '--json');
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.out)).toMatchObject({ environment: 'spin', updates: 1 });
  }, 120_000);

  it('raises the logprob of the moves it imitates, with the mean cross-entropy per token as its loss', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 1e-3 });
    onTestFinished(close);
    const before = await logprobs(backend.model);
    const result = await imitationUpdate(backend, sequences.map((s) => ({ episodeId: 'e', ...s })));
    expect(result.step.loss).toBeCloseTo(imitationObjective([3, 4])(before).loss, 4);
    expect([result.version, result.samples]).toEqual([1, 2]);
    const after = await logprobs(backend.model);
    expect(after[0]).toBeGreaterThan(before[0]);
    expect(after[1]).toBeGreaterThan(before[1]);
    // Nothing to imitate: no step, the version stays.
    const idle = await imitationUpdate(backend, []);
    expect([idle.version, idle.samples, idle.model]).toEqual([1, 0, backend.policy()]);
  }, 60_000);

  it('trains a model in the rest-mcts environment by imitation, and from the command line', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3 });
    onTestFinished(close);
    const environment = createRestMcts({ steps: 2, iterations: 2, branch: 1 });
    const [it] = await trainEnvironment({ environment, backend, matchesPerIteration: 2, iterations: 1, objective: 'imitation' });
    expect(it.errors).toBe(0);
    expect(it.roles.reasoner.matches).toBe(2);
    // A step only where some search found a correct trace (an untrained byte model rarely does).
    expect(it.version).toBe(it.samples > 0 ? 1 : 0);
    await expect(trainEnvironment({ environment: createSpin(), backend, matchesPerIteration: 1, iterations: 1, objective: 'imitation' })).rejects.toThrow(/spin names no moves to imitate/);
    const out = `${fixture.dir}/rest-mcts-cli`;
    const cli = await runCli('train-llm', '--env', 'rest-mcts', '--param', 'steps=2', '--param', 'iterations=2', '--param', 'branch=1', '--tinker', fixture.host.url, '--games', '2', '--iterations', '1', '--out', out, '--json');
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.out)).toMatchObject({ environment: 'rest-mcts', updates: 1 });
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ objective: 'imitation' });
  }, 120_000);
});
