import { join } from 'node:path';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { PolicyHostClient } from '../../agents/hosted/index.ts';
import { createPlayer } from '../../agents/index.ts';
import { kuhnPoker, nim as nimGame } from '../../games/index.ts';
import { evaluatePolicy, loadPolicy } from '../../src/analysis/index.ts';
import { readModelMeta } from '../../src/episodes/index.ts';
import { playMatch } from '../../src/runtime/referee.ts';
import type { ChatMessage } from '../../agents/llm/chat.ts';
import { COMPACT_GAME_PROMPTS, GamePrompter } from '../../agents/llm/game-prompt.ts';
import type { ChoiceItem } from '../../agents/hosted/host-client.ts';
import { playHosted, trainHosted } from '../../src/trainer/hosted-loop.ts';
import { choiceItem, evaluateModel, informationStates, modelPolicy } from '../../src/trainer/model-policy.ts';
import { runCli } from '../cli/run-cli.ts';
import { testHost, tinkerBackend } from './host-fixture.ts';

const game = kuhnPoker();
const fixture = testHost('selfplay-model-policy-', ['--seed', '3', '--policy', 'tiny']);
const { dir } = fixture;
let client: PolicyHostClient;
beforeAll(() => {
  client = new PolicyHostClient(fixture.host.url);
});

describe("a language model's exact policy", () => {
  it('gives, at each information state, the distribution the llm agent samples from there', async () => {
    const exact = await modelPolicy(game, { host: client, model: 'tiny', prompts: COMPACT_GAME_PROMPTS });
    expect(exact.informationStates).toBe(12);
    expect(exact.model).toBe('tiny@0');
    // The agent as it plays: the messages it really sent, scored on their own, give the same distribution.
    const agent = createPlayer(`llm:model=tiny,base=${client.apiBase},guided_choice=true,prompt=compact`, game);
    const checked = new Set<string>();
    for (let seed = 1; checked.size < 8 && seed < 40; seed++) {
      const episode = await playMatch({ game, players: [agent, { ...agent, name: 'other' }], seed, matchId: `m${seed}` });
      for (const step of episode.steps) {
        const key = step.infoKey;
        if (key === undefined || checked.has(key)) continue;
        const meta = readModelMeta(step.meta);
        const legal = Object.keys(exact.policy[key]);
        const alone = await client.choiceProbabilities('tiny', [{ messages: meta.messages as ChatMessage[], choices: legal }]);
        legal.forEach((text, k) => expect(alone.probabilities[0][k]).toBeCloseTo(exact.policy[key][text], 6));
        checked.add(key);
      }
    }
    expect(checked.size).toBeGreaterThanOrEqual(8);
  }, 120_000);

  it('is evaluated by src/analysis, and written as a policy file that evaluates the same', async () => {
    const evaluation = await evaluateModel(game, { host: client, model: 'tiny', prompts: COMPACT_GAME_PROMPTS });
    expect(evaluation).toMatchObject(evaluatePolicy(game, evaluation.policy));
    expect(evaluation.against.map((a) => a.opponent)).toEqual(['uniform', 'cfr+']);
    // A zero-sum game: against a near-equilibrium the model cannot expect to win.
    expect(evaluation.against[1].mean).toBeLessThanOrEqual(1e-3);
    const out = join(dir, 'tiny.json');
    const cli = await runCli('exploitability', 'kuhn-poker', '--model', 'tiny', '--host', fixture.host.url, '--out', out, '--json');
    expect(cli.code, cli.err).toBe(0);
    const printed = JSON.parse(cli.out);
    expect(printed).toMatchObject({ model: 'tiny@0', informationStates: 12 });
    expect(printed.exploitability).toBeCloseTo(evaluation.exploitability, 9);
    expect(evaluatePolicy(game, (await loadPolicy(out, game)).policy).exploitability).toBeCloseTo(evaluation.exploitability, 9);
    // Scored as constrained decoding samples the moves: another policy, the same on both sides.
    const constrained = await evaluateModel(game, { host: client, model: 'tiny', prompts: COMPACT_GAME_PROMPTS, scoring: 'constrained' });
    expect(constrained.exploitability).not.toBeCloseTo(evaluation.exploitability, 3);
    const scored = await runCli('exploitability', 'kuhn-poker', '--model', 'tiny', '--host', fixture.host.url, '--scoring', 'constrained', '--json');
    expect(scored.code, scored.err).toBe(0);
    expect(JSON.parse(scored.out).exploitability).toBeCloseTo(constrained.exploitability, 9);
  }, 120_000);

  it('asks once for states that read the same (transpositions), and gives each state its own prompt\'s distribution', async () => {
    const nim = nimGame({ heaps: '1,2,3' });
    const asked: ChoiceItem[] = [];
    const spy = Object.create(client) as PolicyHostClient;
    spy.choiceProbabilities = (model, items, options) => (asked.push(...items), client.choiceProbabilities(model, items, options));
    const exact = await modelPolicy(nim, { host: spy, model: 'tiny', prompts: COMPACT_GAME_PROMPTS, batch: 7 });
    const prompter = new GamePrompter(COMPACT_GAME_PROMPTS);
    const states = [...informationStates(nim)];
    const distinct = new Set(states.map(([, { state, seat }]) => JSON.stringify(choiceItem(nim, prompter, state, seat))));
    expect(exact.informationStates).toBe(states.length);
    expect(exact.prompts).toBe(distinct.size);
    expect(asked).toHaveLength(distinct.size);
    expect(distinct.size).toBeLessThan(states.length);
    for (const [key, { state, seat }] of states.filter((_, i) => i % 5 === 0)) {
      const item = choiceItem(nim, prompter, state, seat);
      const alone = await client.choiceProbabilities('tiny', [item]);
      item.choices.forEach((text, k) => expect(exact.policy[key][text]).toBeCloseTo(alone.probabilities[0][k], 6));
    }
  }, 120_000);

  it('is refused clearly without its host, or with a policy besides', async () => {
    expect(await runCli('exploitability', 'kuhn-poker', '--model', 'tiny')).toMatchObject({ code: 2, err: 'error: --model needs --host, the policy host that serves it' });
    expect(await runCli('exploitability', 'kuhn-poker', '--model', 'tiny', '--host', fixture.host.url, '--policy', 'x.json')).toMatchObject({ code: 2, err: 'error: give --policy or --model, not both' });
    expect((await runCli('exploitability', 'kuhn-poker', '--model', 'nobody', '--host', fixture.host.url)).err).toMatch(/404/);
    expect(await runCli('exploitability', 'kuhn-poker', '--model', 'tiny', '--host', fixture.host.url, '--scoring', 'median')).toMatchObject({ code: 2, err: 'error: --scoring must be one of sum, mean, constrained, got median' });
  });

  it('follows self-play training: every seat of the current version learns, and each published version is evaluated exactly', async () => {
    const { episodes } = await playHosted({ game, model: 'tiny', apiBase: client.apiBase, policy: { id: 'tiny', version: 0 }, games: 4, seed: 5 });
    for (const episode of episodes) expect(episode.players.map((p) => p.policy)).toEqual([{ id: 'tiny', version: 0 }, { id: 'tiny', version: 0 }]);
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3, loss: 'ppo' });
    onTestFinished(close);
    const [step] = await trainHosted({ game, backend, iterations: 1, gamesPerIteration: 16, seed: 2, exactEvery: 1 });
    expect(step.played).toBe(`${backend.policyId}@0`);
    expect(step.model).toBe(`${backend.model.id}@1`);
    expect(step.samplesBySeat).toHaveLength(2);
    for (const n of step.samplesBySeat) expect(n).toBeGreaterThan(0);
    expect(step.samplesBySeat[0] + step.samplesBySeat[1]).toBe(step.samples);
    const published = await modelPolicy(game, { host: client, model: `${backend.model.id}@1`, prompts: COMPACT_GAME_PROMPTS });
    expect(step.exploitability).toBeCloseTo(evaluatePolicy(game, published.policy).exploitability, 9);
  }, 120_000);
});
