import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { CHOICE_SCORINGS, PolicyHostClient } from '../../agents/hosted/index.ts';
import { scriptedAgent } from '../../agents/environment.ts';
import { COMPACT_CRITIC_PROMPT, CRITIC_VERDICTS } from '../../agents/roles/critic.ts';
import { COMPACT_ROLE_PROMPTS } from '../../agents/roles/registry.ts';
import { loadChatTokenizer } from '../../agents/llm/chat-tokenizer.ts';
import { POLICY_HOST_DIR } from '../../agents/hosted/process.ts';
import { critic as criticRole } from '../../agents/roles/index.ts';
import { environments } from '../../environments/index.ts';
import { createSelfPlayCritic, heldOutCriticSteps } from '../../environments/self-play-critic/index.ts';
import { createSpin } from '../../environments/spin/index.ts';
import { readEpisodes } from '../../src/episodes/reader.ts';
import { criticAccuracy } from '../../src/trainer/critic-accuracy.ts';
import { trainEnvironment } from '../../src/trainer/env-loop.ts';
import { choiceTurns, DEFAULT_CHOICE_ENTROPY } from '../../src/trainer/all-choices.ts';
import { shuffledMinibatches } from '../../src/trainer/minibatches.ts';
import { Rng } from '../../src/core/index.ts';
import { choiceProbabilities, expectedChoiceReturn, scoreChoices } from '../../src/trainer/choice-expectation.ts';
import { learnerSamples } from '../../src/trainer/episode-trainer.ts';
import { RoleBaselines } from '../../src/trainer/advantages.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { runCli } from '../cli/run-cli.ts';
import { testHost, tinkerBackend } from './host-fixture.ts';

const fixture = testHost('selfplay-env-training-', ['--seed', '5']);
/** A model of its own on the test host, its session ended with the test. */
const backendFor = async () => {
  const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3, loss: 'ppo' });
  onTestFinished(close);
  return backend;
};

describe('a hosted model trained in the roles of an environment', () => {
  it('trains one model as both the sneaky generator and the critic, each role with its own samples and returns', async () => {
    const backend = await backendFor();
    const environment = createSelfPlayCritic({ steps: 2, level: 1 });
    const seen: { roles: string[]; versions: unknown[] }[] = [];
    const done = await trainEnvironment({
      environment,
      backend,
      matchesPerIteration: 12,
      iterations: 2,
      onIteration: (_, episodes) => void seen.push({ roles: episodes.flatMap((e) => e.players.map((p) => p.role!)), versions: episodes.flatMap((e) => e.players.map((p) => p.policy?.version)) }),
    });
    expect(done.map((it) => [it.update, it.version])).toEqual([
      [1, 1],
      [2, 2],
    ]);
    for (const it of done) {
      expect(it.roles['sneaky-generator'].learns && it.roles.critic.learns).toBe(true);
      // Half the matches attack (the sneaky generator and the critic may both act), half are clean (the critic alone).
      expect(it.roles.critic.matches).toBeGreaterThan(0);
      expect(it.roles['sneaky-generator'].samples + it.roles.critic.samples).toBe(it.samples);
      expect(it.stats.matches).toBeGreaterThan(0);
    }
    // Every match of an update was played by the version before it.
    expect(new Set(seen[0].versions)).toEqual(new Set([0]));
    expect(new Set(seen[1].versions)).toEqual(new Set([1]));
  }, 120_000);

  it('gives a role held by a fixed agent no updates: only the learner\'s turns are trained on', async () => {
    const backend = await backendFor();
    const environment = createSelfPlayCritic({ steps: 2, level: 1 });
    const done = await trainEnvironment({
      environment,
      backend,
      fixed: { 'sneaky-generator': { name: 'scripted-sneaky', agent: scriptedAgent(environment.scripted['sneaky-generator']) } },
      matchesPerIteration: 16,
      iterations: 2,
    });
    for (const it of done) {
      expect(it.roles['sneaky-generator']).toMatchObject({ learns: false, samples: 0 });
      expect(it.roles.critic.samples).toBe(it.samples);
      expect(it.roles.critic.samples).toBe(16);
    }
    await expect(trainEnvironment({ environment, backend, fixed: { judge: { name: 'x', agent: scriptedAgent(() => ({})) } }, matchesPerIteration: 1, iterations: 1 })).rejects.toThrow(/self-play-critic has no role "judge"; its roles: sneaky-generator, critic/);
    const everyone = Object.fromEntries(['sneaky-generator', 'critic'].map((role) => [role, { name: role, agent: scriptedAgent(environment.scripted[role]) }]));
    await expect(trainEnvironment({ environment, backend, fixed: everyone, matchesPerIteration: 1, iterations: 1 })).rejects.toThrow(/every role of self-play-critic is held by a fixed agent/);
  }, 120_000);

  it('trains asynchronously with bounded staleness: actors run ahead, and no update trains on a match more than K updates old', async () => {
    const backend = await backendFor();
    const environment = createSelfPlayCritic({ steps: 2, level: 1 });
    const done = await trainEnvironment({ environment, backend, matchesPerIteration: 4, iterations: 5, concurrency: 4, maxStaleness: 2 });
    expect(done.map((it) => it.update)).toEqual([1, 2, 3, 4, 5]);
    expect(done.map((it) => it.version)).toEqual([1, 2, 3, 4, 5]);
    for (const it of done) {
      expect(it.errors).toBe(0);
      expect(it.matches).toBeGreaterThanOrEqual(4);
      expect(it.ageMax).toBeLessThanOrEqual(2);
      expect(it.ageMedian).toBeLessThanOrEqual(it.ageMax);
      expect(Object.values(it.roles).every((r) => r.samples > 0)).toBe(true);
    }
    // The first update's matches can only have been played by the starting weights.
    expect(done[0].ageMax).toBe(0);
    await expect(trainEnvironment({ environment: createSpin(), backend, matchesPerIteration: 1, iterations: 1, maxStaleness: 1, objective: 'spin' })).rejects.toThrow(/train it synchronously/);
  }, 180_000);

  it('trains in each of the other environments without error, self-play-critic as a prover-verifier game too', async () => {
    const backend = await backendFor();
    const runs: [string, Record<string, string>][] = [['absolute-zero', {}], ['creator-solver', {}], ['teacher-student', {}], ['stp', {}], ['self-play-critic', { prover_verifier: '1' }]];
    for (const [name, params] of runs) {
      const environment = await environments[name].create(params);
      const [it] = await trainEnvironment({ environment, backend, matchesPerIteration: 4, iterations: 1 });
      expect(it.errors).toBe(0);
      expect(Object.values(it.roles).some((r) => r.learns && r.samples > 0)).toBe(true);
    }
  }, 180_000);
});

/**
 * By hand, from a problem's expression ("((10 * 6) - 9) + (10 * 6)"): the
 * chain's steps, one per operation along its left spine, each operand a
 * number or a bracketed expression already computed ("10 * 6 = 60", "60 - 9
 * = 51", "51 + 60 = 111").
 */
function chainSteps(expression: string): { steps: string[]; value: number } {
  const tokens = expression.match(/\d+|[-+*()]/g)!;
  let at = 0;
  const term = (): { steps: string[]; value: number } => {
    if (tokens[at] === '(') {
      at++;
      const inner = chain();
      at++; // ')'
      return inner;
    }
    return { steps: [], value: Number(tokens[at++]) };
  };
  const chain = (): { steps: string[]; value: number } => {
    const { steps, value: first } = term();
    let value = first;
    while (at < tokens.length && tokens[at] !== ')') {
      const op = tokens[at++];
      const operand = term().value;
      const next = op === '+' ? value + operand : op === '-' ? value - operand : value * operand;
      steps.push(`${value} ${op} ${operand} = ${next}`);
      value = next;
    }
    return { steps, value };
  };
  return chain();
}

describe('the critic trained on the exact expected return over both verdicts (all-choices)', () => {
  it("weighs each verdict as the host's guided pick does, under every scoring, and its step raises the batch's expected return", async () => {
    const backend = await backendFor();
    const tokenizer = await loadChatTokenizer(join(POLICY_HOST_DIR, 'tokenizer'));
    const client = new PolicyHostClient(fixture.host.url);
    const stop = tokenizer.stopTokenIds[0];
    // The probabilities computed here from the training forward's token logprobs are those the host samples from.
    const items = heldOutCriticSteps(6, 3, { steps: 2, level: 1 });
    const completions = CRITIC_VERDICTS.map((v) => [...tokenizer.encode(v), stop]);
    const logprobs = await backend.tokenLogprobs(items.flatMap((item) => completions.map((completion) => ({ prompt: tokenizer.encodeChat(criticRole(COMPACT_CRITIC_PROMPT).prompt(item.input)), completion }))));
    for (const scoring of CHOICE_SCORINGS) {
      const { probabilities } = await client.choiceProbabilities(backend.policy(), items.map((item) => ({ messages: criticRole(COMPACT_CRITIC_PROMPT).prompt(item.input), choices: CRITIC_VERDICTS })), { temperature: 1, scoring });
      items.forEach((_, i) => {
        const mine = choiceProbabilities(scoreChoices(completions, logprobs.slice(2 * i, 2 * i + 2), scoring).scores, 1);
        mine.forEach((p, c) => expect(p).toBeCloseTo(probabilities[i][c], 4));
      });
    }

    const environment = createSelfPlayCritic({ steps: 2, level: 1 });
    const fixed = { 'sneaky-generator': { name: 'scripted-sneaky', agent: scriptedAgent(environment.scripted['sneaky-generator']) } };
    const batches: Episode[][] = [];
    const done = await trainEnvironment({
      environment, backend, fixed, tokenizer, objective: 'all-choices', rolePrompts: COMPACT_ROLE_PROMPTS, matchesPerIteration: 16, iterations: 1,
      onIteration: (_, episodes) => void batches.push([...episodes]),
    });
    const critic = batches[0].filter((e) => e.steps.at(-1)?.seat === 1);
    expect(done[0].samples).toBe(critic.length);
    // The step reports the mean entropy of the two verdicts' distribution, at most ln 2.
    expect(done[0].entropy).toBeGreaterThan(0);
    expect(done[0].entropy).toBeLessThanOrEqual(Math.LN2 + 1e-12);
    // The same turns, scored before the step (the version that played) and after it.
    const samples = learnerSamples(batches[0], { policyId: backend.policyId, algo: 'trr++' }, new RoleBaselines());
    const { turns, sequences } = choiceTurns(samples, batches[0], environment, tokenizer);
    expect(turns.map((t) => t.returns.toSorted())).toEqual(critic.map(() => [-1, 1]));
    // The host scores as its /health says (this one sums); the run's loss is the objective before its step.
    const objective = expectedChoiceReturn(turns, (await client.health()).guided_choice_scoring!, 1, DEFAULT_CHOICE_ENTROPY);
    const after = objective(await backend.tokenLogprobs(sequences)).loss;
    expect(after).toBeLessThan(done[0].loss);
  }, 120_000);

  it("with the mirror step, fits every critic turn toward mirror descent's target on both verdicts' returns", async () => {
    const tokenizer = await loadChatTokenizer(join(POLICY_HOST_DIR, 'tokenizer'));
    const environment = createSelfPlayCritic({ steps: 2, level: 1 });
    const fixed = { 'sneaky-generator': { name: 'scripted-sneaky', agent: scriptedAgent(environment.scripted['sneaky-generator']) } };
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3, epochs: 30 });
    onTestFinished(close);
    const batches: Episode[][] = [];
    const [done] = await trainEnvironment({
      environment, backend, fixed, tokenizer, objective: 'all-choices', choiceStep: { kind: 'mirror', stepSize: 1, magnetStrength: 0.5 }, rolePrompts: COMPACT_ROLE_PROMPTS, matchesPerIteration: 8, iterations: 1,
      onIteration: (_, episodes) => void batches.push([...episodes]),
    });
    const { turns, sequences } = choiceTurns(learnerSamples(batches[0], { policyId: backend.policyId, algo: 'trr++' }, new RoleBaselines()), batches[0], environment, tokenizer);
    const scoring = (await new PolicyHostClient(fixture.host.url).health()).guided_choice_scoring!;
    const distributions = (logprobs: number[][]) => turns.map((turn, t) => choiceProbabilities(scoreChoices(turn.completions, logprobs.slice(2 * t, 2 * t + 2), scoring).scores, 1));
    // Before: the same turns scored by a fresh model with the same initial weights.
    const before = distributions(await (await backendFor()).tokenLogprobs(sequences));
    const after = distributions(await backend.tokenLogprobs(sequences));
    // By hand: q proportional to (p exp(R))^(1 / 1.5), the magnet uniform.
    const targets = before.map((p, t) => {
      const w = p.map((pc, c) => (pc * Math.exp(turns[t].returns[c])) ** (1 / 1.5));
      return w.map((x) => x / (w[0] + w[1]));
    });
    const distance = (ps: number[][]) => ps.reduce((sum, p, t) => sum + Math.abs(p[0] - targets[t][0]), 0) / ps.length;
    expect(distance(before)).toBeGreaterThan(0.1);
    expect(distance(after)).toBeLessThan(distance(before) / 3);
    expect(done.loss).toBeGreaterThan(0);
  }, 120_000);

  it('takes one optimizer step per minibatch of the shuffled turns, each scored by the weights that step starts from', async () => {
    const tokenizer = await loadChatTokenizer(join(POLICY_HOST_DIR, 'tokenizer'));
    const environment = createSelfPlayCritic({ steps: 2, level: 1 });
    const fixed = { 'sneaky-generator': { name: 'scripted-sneaky', agent: scriptedAgent(environment.scripted['sneaky-generator']) } };
    const minibatched = await backendFor();
    const batches: Episode[][] = [];
    const [done] = await trainEnvironment({
      environment, backend: minibatched, fixed, tokenizer, objective: 'all-choices', rolePrompts: COMPACT_ROLE_PROMPTS, matchesPerIteration: 16, iterations: 1, seed: 3, choiceTurnsPerStep: 5,
      onIteration: (_, episodes) => void batches.push([...episodes]),
    });
    const samples = learnerSamples(batches[0], { policyId: minibatched.policyId, algo: 'trr++' }, new RoleBaselines());
    const { turns, sequences } = choiceTurns(samples, batches[0], environment, tokenizer);
    expect(turns.length).toBeGreaterThan(10);
    expect(done.version).toBe(Math.ceil(turns.length / 5));
    // By hand, on a second model with the same initial weights: the turns in the order the run's seed shuffles them,
    // five at a time, each five a step of its own (trainTokens scores them afresh).
    const byHand = await backendFor();
    const scoring = (await new PolicyHostClient(fixture.host.url).health()).guided_choice_scoring!;
    for (const chunk of shuffledMinibatches(turns.length, 5, new Rng('all-choices/3').split(0))) {
      await byHand.trainTokens(chunk.flatMap((t) => sequences.slice(2 * t, 2 * t + 2)), expectedChoiceReturn(chunk.map((t) => turns[t]), scoring, 1, DEFAULT_CHOICE_ENTROPY));
    }
    expect(byHand.version).toBe(done.version);
    const [trained, expected, start] = await Promise.all([minibatched.tokenLogprobs(sequences), byHand.tokenLogprobs(sequences), (await backendFor()).tokenLogprobs(sequences)]);
    trained.forEach((lps, i) => lps.forEach((lp, k) => expect(lp).toBeCloseTo(expected[i][k], 5)));
    expect(trained.flat().some((lp, i) => Math.abs(lp - start.flat()[i]) > 1e-3)).toBe(true);
  }, 120_000);
});

describe('the critic measured on held-out steps', () => {
  it("holds out a balanced set, each step labelled correct exactly when it is the chain's own step", () => {
    const items = heldOutCriticSteps(60, 4, { steps: 3, level: 2 });
    expect(items.filter((i) => i.verdict === 'correct')).toHaveLength(30);
    expect(heldOutCriticSteps(60, 4, { steps: 3, level: 2 })).toEqual(items);
    for (const { input, verdict } of items) {
      const steps = chainSteps(/^Compute (.*) step by step/.exec(input.problem)![1]).steps;
      expect(input.steps.at(-1) === steps[input.step! - 1], `${input.steps.at(-1)} vs ${steps[input.step! - 1]}`).toBe(verdict === 'correct');
      expect(input.steps.slice(0, -1)).toEqual(steps.slice(0, input.step! - 1));
    }
  });

  it.each([
    ['its own prompt', undefined],
    ['the compact prompt', COMPACT_CRITIC_PROMPT],
  ])('is the mean probability of the right verdict under guided choice, with the interval of that mean (%s)', async (_, prompt) => {
    const client = new PolicyHostClient(fixture.host.url);
    const items = heldOutCriticSteps(6, 9, { steps: 2, level: 1 });
    const measured = await criticAccuracy(client, 'tiny', items, { temperature: 1, batch: 4, prompt });
    // By hand: one item at a time, the probability of the right one of the two verdicts.
    const right: number[] = [];
    for (const item of items) {
      const { probabilities } = await client.choiceProbabilities('tiny', [{ messages: criticRole(prompt).prompt(item.input), choices: CRITIC_VERDICTS }], { temperature: 1 });
      right.push(probabilities[0][item.verdict === 'correct' ? 0 : 1]);
    }
    const mean = right.reduce((a, b) => a + b, 0) / right.length;
    const sd = Math.sqrt(right.reduce((s, p) => s + (p - mean) ** 2, 0) / (right.length - 1));
    expect(measured.accuracy).toBeCloseTo(mean, 6);
    expect(measured.interval[1] - measured.interval[0]).toBeCloseTo((2 * 1.959964 * sd) / Math.sqrt(6), 6);
    expect(measured.onCorrect).toBeCloseTo((right[0] + right[2] + right[4]) / 3, 6);
    expect(measured.onIncorrect).toBeCloseTo((right[1] + right[3] + right[5]) / 3, 6);
    expect(measured.model).toMatch(/^tiny@\d+$/);
  }, 60_000);
});

describe('selfplay train-llm --env', () => {
  it('trains from the command line with a fixed role, reports per role and the held-out accuracy, and resumes', async () => {
    const out = join(fixture.dir, 'cli-env');
    const args = ['--tinker', fixture.host.url, '--games', '8', '--eval-items', '10', '--keep-episodes', '2', '--out', out, '--json'];
    const first = await runCli('train-llm', '--env', 'self-play-critic', '--param', 'steps=2', '--param', 'level=1', '--role', 'sneaky-generator=scripted', '--iterations', '2', ...args);
    expect(first.err).not.toMatch(/Error/);
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.out);
    expect(summary).toMatchObject({ environment: 'self-play-critic', updates: 2, roles: { 'sneaky-generator': { learns: false }, critic: { learns: true } } });
    expect(summary.criticAccuracyBefore.items).toBe(10);
    expect(summary.criticAccuracyAfter.model).toBe(summary.model);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(rows.map((r) => r.update)).toEqual([1, 2]);
    expect(rows[0]).toMatchObject({ 'samples.sneaky-generator': 0, 'samples.critic': 8 });
    expect(rows[0]['return.critic']).toBeGreaterThanOrEqual(rows[0]['returnLow.critic']);
    expect(typeof rows[1].criticAccuracy).toBe('number');
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    const config = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'));
    expect(config).toMatchObject({ game: 'env:self-play-critic', param: ['steps=2', 'level=1'], role: ['sneaky-generator=scripted'], algo: 'trr++', rolePrompts: 'compact' });
    // The host is the test's (--tinker), which scores guided choices as it was started to.
    expect(config).not.toHaveProperty('choiceScoring');
    // The critic was asked with the compact prompt: the problem, the steps and which step, in one user message.
    const critics = [];
    for await (const episode of readEpisodes(join(out, 'episodes.msgpack'))) critics.push(...episode.steps.filter((s) => s.role === 'critic'));
    expect(critics.length).toBeGreaterThan(0);
    for (const step of critics) {
      const messages = step.meta!.messages as { role: string; content: string }[];
      expect(messages).toHaveLength(1);
      expect(messages[0].content).toMatch(/^Compute .* step by step, one operation per step\.\nStep 1: [^\n]+\n(Step 2: [^\n]+\n)?Step [12]\?$/);
    }
    const resumed = await runCli('train-llm', '--resume', out, '--tinker', fixture.host.url, '--iterations', '3', '--json');
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.out).updates).toBe(3);
  }, 180_000);

  it('chooses task categories by SEC, logs its bandit per update, and resumes it from the checkpoint', async () => {
    const out = join(fixture.dir, 'cli-sec');
    const args = ['--tinker', fixture.host.url, '--games', '6', '--keep-episodes', '0', '--out', out, '--json', '--param', 'solvers=2'];
    const first = await runCli('train-llm', '--env', 'absolute-zero', '--curriculum', 'sec', '--sec-temperature', '0.5', '--role', 'proposer=scripted', '--iterations', '2', ...args);
    expect(first.err).not.toMatch(/Error/);
    expect(first.code).toBe(0);
    const summary = JSON.parse(first.out);
    const arms = summary.curriculum as Record<string, { value: number; probability: number; chosen: number }>;
    expect(Object.keys(arms).sort()).toEqual(['abduction', 'deduction', 'induction']);
    expect(Object.values(arms).reduce((n, arm) => n + arm.chosen, 0)).toBe(12);
    expect(Object.values(arms).reduce((p, arm) => p + arm.probability, 0)).toBeCloseTo(1, 12);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(rows[1]['sec.matches.abduction'] + rows[1]['sec.matches.deduction'] + rows[1]['sec.matches.induction']).toBe(12);
    const saved = JSON.parse(readFileSync(join(out, 'checkpoints', 'state.json'), 'utf8')).state.curriculum;
    expect(saved.chosen).toEqual(Object.fromEntries(Object.entries(arms).map(([c, arm]) => [c, arm.chosen])));
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ curriculum: 'sec', secTemperature: 0.5, secAlpha: 0.5 });
    const resumed = await runCli('train-llm', '--resume', out, '--tinker', fixture.host.url, '--iterations', '3', '--json');
    expect(resumed.code).toBe(0);
    const after = JSON.parse(resumed.out).curriculum as typeof arms;
    expect(Object.values(after).reduce((n, arm) => n + arm.chosen, 0)).toBe(18);
    // The environment's own state (its task buffers and counts) is in the checkpoint and comes back on --resume.
    expect(JSON.parse(readFileSync(join(out, 'checkpoints', 'state.json'), 'utf8')).state.environment.counts.matches).toBe(18);
    expect(JSON.parse(resumed.out).stats.matches).toBe(18);
    const refused = await runCli('train-llm', '--env', 'self-play-critic', '--curriculum', 'sec', '--out', join(fixture.dir, 'spc-sec'), '--tinker', fixture.host.url);
    expect(refused.err).toMatch(/--curriculum sec: self-play-critic has no task categories to choose among/);
    const flat = await runCli('train-llm', '--env', 'spin', '--spin-beta', '0', '--out', join(fixture.dir, 'spin-beta'), '--tinker', fixture.host.url);
    expect(flat.err).toMatch(/--spin-beta must be above 0, not 0/);
  }, 180_000);

  it('trains the critic on all choices from the command line, one optimizer step per --minibatch turns, and keeps the setting on --resume', async () => {
    const out = join(fixture.dir, 'all-choices-cli');
    const args = ['--tinker', fixture.host.url, '--out', out, '--json'];
    const cli = await runCli('train-llm', '--env', 'self-play-critic', '--role', 'sneaky-generator=scripted', '--objective', 'all-choices', '--minibatch', '3', '--games', '8', '--iterations', '1', '--eval-items', '0', ...args);
    expect(cli.code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ objective: 'all-choices', minibatch: 3 });
    const resumed = await runCli('train-llm', '--resume', out, '--iterations', '2', ...args.slice(0, 2), '--json');
    expect(resumed.code).toBe(0);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    // Each update's version moved one optimizer step per three critic turns (its samples).
    expect(rows.map((row) => row.version)).toEqual([Math.ceil(rows[0].samples / 3), Math.ceil(rows[0].samples / 3) + Math.ceil(rows[1].samples / 3)]);
  }, 120_000);

  it('trains asynchronously from the command line with --max-staleness, logging the age of each step\'s matches', async () => {
    const out = join(fixture.dir, 'async-cli');
    const cli = await runCli('train-llm', '--env', 'self-play-critic', '--max-staleness', '1', '--games', '4', '--iterations', '3', '--eval-items', '0', '--tinker', fixture.host.url, '--out', out, '--json');
    expect(cli.code).toBe(0);
    const rows = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(rows).toHaveLength(3);
    expect(rows.every((row) => row.ageMax <= 1 && row.ageMedian <= row.ageMax)).toBe(true);
    expect(JSON.parse(readFileSync(join(out, 'run.json'), 'utf8'))).toMatchObject({ maxStaleness: 1 });
    // A resumed run goes on asynchronously from its checkpoint, its settings kept.
    const resumed = await runCli('train-llm', '--resume', out, '--tinker', fixture.host.url, '--iterations', '5', '--json');
    expect(resumed.code).toBe(0);
    const all = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(all.map((row) => row.update)).toEqual([1, 2, 3, 4, 5]);
    expect(all.every((row) => row.ageMax <= 1 && row.errors === 0)).toBe(true);
    const sync = join(fixture.dir, 'sync-cli');
    expect((await runCli('train-llm', '--env', 'spin', '--games', '2', '--iterations', '1', '--tinker', fixture.host.url, '--out', sync, '--json')).code).toBe(0);
    expect(JSON.parse(readFileSync(join(sync, 'run.json'), 'utf8'))).toMatchObject({ maxStaleness: 0 });
  }, 120_000);

  it('says clearly what does not go together', async () => {
    const host = ['--tinker', fixture.host.url];
    expect((await runCli('train-llm', '--env', 'nope', ...host)).err).toMatch(/unknown environment "nope"; environments: absolute-zero/);
    expect((await runCli('train-llm', 'kuhn-poker', '--env', 'self-play-critic', ...host)).err).toMatch(/name a game or --env self-play-critic, not both/);
    expect((await runCli('train-llm', '--env', 'self-play-critic', '--opponents', 'random', ...host)).err).toMatch(/--opponents apply to game runs, not to --env runs/);
    expect((await runCli('train-llm', 'kuhn-poker', '--role', 'critic=scripted', ...host)).err).toMatch(/--role apply to --env runs only/);
    expect((await runCli('train-llm', 'kuhn-poker', '--curriculum', 'sec', ...host)).err).toMatch(/--curriculum apply to --env runs only/);
    expect((await runCli('train-llm', '--env', 'self-play-critic', '--role', 'critic', '--out', join(fixture.dir, 'bad-role'), ...host)).err).toMatch(/--role takes role=spec/);
    expect(existsSync(join(fixture.dir, 'bad-role'))).toBe(false);
    expect((await runCli('train-llm', '--env', 'self-play-critic', '--role', 'judge=scripted', '--out', join(fixture.dir, 'judge'), ...host)).err).toMatch(/self-play-critic has no role "judge"/);
    expect((await runCli('train-llm', '--env', 'self-play-critic', '--role-prompts', 'short', ...host)).err).toMatch(/--role-prompts must be one of compact, full/);
    expect((await runCli('train-llm', 'tic-tac-toe', '--role-prompts', 'full', ...host)).err).toMatch(/--role-prompts apply to --env runs only/);
    expect((await runCli('train-llm', '--env', 'self-play-critic', '--choice-scoring', 'mean', ...host)).err).toMatch(/--choice-scoring sets how the host started here scores guided choices; the host at --tinker scores them as its own --guided-choice-scoring says/);
    expect((await runCli('train-llm', '--env', 'self-play-critic', '--objective', 'all-choices', '--out', join(fixture.dir, 'open-roles'), ...host)).err).toMatch(/--objective all-choices trains roles whose answer is one of a few \(critic\); hold sneaky-generator with fixed agents \(--role sneaky-generator=\.\.\.\)/);
    expect((await runCli('train-llm', '--env', 'self-play-critic', '--objective', 'all-choices', '--role', 'sneaky-generator=scripted', '--no-guided-choice', '--out', join(fixture.dir, 'free-verdicts'), ...host)).err).toMatch(/--objective all-choices trains answers picked among their choices \(guided choice\), and this run samples them freely/);
    expect((await runCli('train-llm', '--env', 'self-play-critic', '--choice-entropy', '0.2', ...host)).err).toMatch(/--choice-entropy applies to --objective all-choices, and this run trains with policy-gradient/);
    expect((await runCli('train-llm', '--env', 'self-play-critic', '--choice-entropy', '0.2', '--minibatch', '32', ...host)).err).toMatch(/--choice-entropy, --minibatch apply to --objective all-choices, and this run trains with policy-gradient/);
    expect((await runCli('train-llm', '--env', 'self-play-critic', '--choice-step', 'mirror', '--magnet-strength', '1', ...host)).err).toMatch(/--choice-step, --magnet-strength apply to --objective all-choices, and this run trains with policy-gradient/);
    const allChoices = ['train-llm', '--env', 'self-play-critic', '--role', 'sneaky-generator=scripted', '--objective', 'all-choices'];
    expect((await runCli(...allChoices, '--step-size', '2', ...host)).err).toMatch(/--step-size applies to --choice-step mirror, and this run steps by gradient/);
    expect((await runCli(...allChoices, '--choice-step', 'mirror', '--choice-entropy', '0.1', ...host)).err).toMatch(/--choice-entropy applies to --choice-step gradient, and this run steps by mirror/);
    expect((await runCli(...allChoices, '--choice-step', 'newton', ...host)).err).toMatch(/--choice-step must be one of gradient, mirror/);
    expect((await runCli(...allChoices, '--choice-step', 'mirror', '--step-size', '0', '--out', join(fixture.dir, 'no-step'), ...host)).err).toMatch(/the mirror step size must be above 0, not 0/);
    expect(existsSync(join(fixture.dir, 'no-step'))).toBe(false);
    expect((await runCli('train-llm', 'kuhn-poker', '--no-guided-choice', ...host)).err).toMatch(/--no-guided-choice apply to --env runs only/);
    expect((await runCli('train-llm', 'kuhn-poker', '--objective', 'all-choices', ...host)).err).toMatch(/--objective all-choices trains in environments \(--env\); a game trains with mmd, exact-mmd, policy-gradient/);
    // Refused before any host is started.
    expect((await runCli('train-llm', 'kuhn-poker', '--choice-scoring', 'max', '--python', '/nonexistent/python')).err).toMatch(/--choice-scoring must be one of sum, mean, constrained/);
  }, 60_000);
});
