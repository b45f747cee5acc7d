import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { environmentPlayers } from '../../agents/environment.ts';
import { completionDatum, POLICY_HOST_DIR, type TinkerModel } from '../../agents/hosted/index.ts';
import { loadChatTokenizer } from '../../agents/llm/chat-tokenizer.ts';
import { createTeacherStudent } from '../../environments/teacher-student/index.ts';
import { soarRescorer } from '../../src/cli/soar-student.ts';
import type { QuestionAnswer } from '../../src/core/index.ts';
import { runEnvironment } from '../../src/runtime/environment.ts';
import { HostStudent } from '../../src/trainer/host-student.ts';
import { runCli } from '../cli/run-cli.ts';
import { testHost, tinkerBackend } from './host-fixture.ts';

const fixture = testHost('selfplay-soar-student-', ['--seed', '7']);
const tokenizer = await loadChatTokenizer(join(POLICY_HOST_DIR, 'tokenizer'));
const heldOut: QuestionAnswer[] = [
  { question: 'What is 2 + 3?', answer: '5' },
  { question: 'What is 4 * 3?', answer: '12' },
];
// Byte-model sequences the weights are compared on.
const probes = [
  { prompt: [257, 259, 65, 66, 256, 260], completion: [67, 68, 256] },
  { prompt: [257, 259, 50, 43, 51, 256, 260], completion: [53, 256] },
];

const logprobs = async (model: TinkerModel) => (await model.forward(probes.map((p) => completionDatum(p.prompt, p.completion)))).loss_fn_outputs.map((o) => o.logprobs.data);
const backendFor = async () => {
  const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 1e-3 });
  onTestFinished(close);
  return backend;
};
/** One ordinary training step of the model on the probes (so that its optimizer has state to keep). */
const step = async (model: TinkerModel) => {
  await model.forwardBackward(probes.map((p) => completionDatum(p.prompt, p.completion, { weight: 0.2 })), 'cross_entropy');
  await model.optimStep({ learning_rate: 1e-3, beta1: 0.9, beta2: 0.95, eps: 1e-8, grad_clip_norm: 1 });
};

describe("SOAR's student on the host", () => {
  it('gains on a held-out question it was taught, then leaves the model bit for bit as it found it, optimizer state included', async () => {
    const taught = await backendFor();
    const untaught = await backendFor();
    await step(taught.model);
    await step(untaught.model);
    const weights = await logprobs(taught.model);
    const student = new HostStudent(taught, tokenizer, heldOut, { steps: 4, learningRate: 1e-2 });
    const before = await student.accuracy();
    const result = await student.gain([heldOut[0], heldOut[0]]);
    expect(result.before).toBe(before);
    expect(result.after).toBeGreaterThan(before);
    expect(result.gain).toBe(result.after - result.before);
    // The revert: the same weights, and the next step lands where it does on a model that never taught.
    expect(await logprobs(taught.model)).toEqual(weights);
    expect(await student.accuracy()).toBe(before);
    await step(taught.model);
    await step(untaught.model);
    expect(await logprobs(taught.model)).toEqual(await logprobs(untaught.model));
    // The same pairs from the same weights gain the same again; no pairs, no gain.
    expect(await student.gain([heldOut[0], heldOut[0]])).toEqual(await student.gain([heldOut[0], heldOut[0]]));
    expect(await student.gain([], 0.25)).toEqual({ before: 0.25, after: 0.25, gain: 0 });
  }, 120_000);

  it("makes each teacher match's return the student's gain on its readable pairs; an unreadable reply keeps the malformed reward", async () => {
    const backend = await backendFor();
    const environment = createTeacherStudent({ count: 2, k: 2, heldOut: 4 });
    const episodes = await lastValueFrom(runEnvironment({ environment, players: environmentPlayers(environment), matches: 3, seed: 2 }).pipe(toArray()));
    const malformed = { ...episodes[0], id: 'malformed', history: [{ malformed: 'no pairs' }], returns: [-1] };
    const student = new HostStudent(backend, tokenizer, environment.heldOut, { steps: environment.k });
    const rescorer = soarRescorer(student);
    const returns = await rescorer.rescore([...episodes, malformed]);
    expect(returns.at(-1)).toEqual([-1]);
    for (const [i, episode] of episodes.entries()) {
      const pairs = (episode.history[0] as { pairs: QuestionAnswer[] }).pairs.slice(0, 2);
      expect(returns[i]).toEqual([(await student.gain(pairs)).gain]);
    }
    expect(rescorer.stats()).toMatchObject({ 'hostStudent.matches': 3, 'hostStudent.accuracy': await student.accuracy() });
  }, 120_000);

  it('trains a teacher against it from the command line, and refuses it elsewhere', async () => {
    const out = join(fixture.dir, 'soar-cli');
    const cli = await runCli('train-llm', '--env', 'teacher-student', '--soar-student', 'host', '--param', 'k=1', '--param', 'held_out=4', '--param', 'count=2', '--tinker', fixture.host.url, '--games', '2', '--iterations', '1', '--out', out, '--json');
    expect(cli.code).toBe(0);
    const [row] = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(row['stat.hostStudent.accuracy']).toBeGreaterThan(0);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ soarStudent: 'host', studentLr: 1e-3 });
    const refused = await runCli('train-llm', '--env', 'stp', '--soar-student', 'host', '--tinker', fixture.host.url, '--iterations', '1', '--out', join(fixture.dir, 'soar-stp'));
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/--soar-student host: the student is teacher-student's; stp has none/);
  }, 120_000);
});
