import { describe, expect, it, onTestFinished } from 'vitest';
import { completionDatum, type TinkerModel } from '../../agents/hosted/index.ts';
import { createSppo } from '../../environments/sppo/index.ts';
import { trainEnvironment } from '../../src/trainer/env-loop.ts';
import { sppoObjective } from '../../src/trainer/sequence-objectives.ts';
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
});
