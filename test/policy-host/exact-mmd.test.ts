import { join } from 'node:path';
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { POLICY_HOST_DIR } from '../../agents/hosted/index.ts';
import { loadChatTokenizer, type ChatTokenizer } from '../../agents/llm/chat-tokenizer.ts';
import { COMPACT_GAME_PROMPTS } from '../../agents/llm/game-prompt.ts';
import { kuhnPoker, ticTacToe } from '../../games/index.ts';
import { compile, evaluatePolicy, type TabularPolicy } from '../../src/analysis/index.ts';
import { logSoftmax, scoreChoices } from '../../src/trainer/choice-expectation.ts';
import { exactStates, trainExactMmd } from '../../src/trainer/exact-mmd.ts';
import type { HostedIteration, HostedRunState } from '../../src/trainer/hosted-loop.ts';
import { MmdUpdate } from '../../src/trainer/mmd-update.ts';
import { modelPolicy } from '../../src/trainer/model-policy.ts';
import { walkedActionValues, walkedReach } from '../analysis/helpers.ts';
import { runCli } from '../cli/run-cli.ts';
import { python, testHost, tinkerBackend } from './host-fixture.ts';

const game = kuhnPoker();
// A context short enough that the longer Kuhn prompts are cut, as the host cuts them.
const CONTEXT = 96;
const fixture = testHost('selfplay-exact-mmd-', ['--seed', '4', '--context', String(CONTEXT)]);
let tokenizer: ChatTokenizer;
beforeAll(async () => {
  tokenizer = await loadChatTokenizer(join(POLICY_HOST_DIR, 'tokenizer'));
});

const scoredPolicy = async (backend: { host: Parameters<typeof modelPolicy>[1]['host'] }, model: string) => (await modelPolicy(game, { host: backend.host, model, prompts: COMPACT_GAME_PROMPTS })).policy;

/** The mean over states of the largest gap between a policy's move probabilities and the targets'. */
const distance = (policy: TabularPolicy, targets: TabularPolicy) =>
  Object.entries(targets).reduce((sum, [key, moves]) => sum + Math.max(...Object.entries(moves).map(([move, q]) => Math.abs(policy[key][move] - q))), 0) / Object.keys(targets).length;

describe('exact-mmd: magnetic mirror descent on exact action values, on the reference host', () => {
  it('renders every information state as the host scores it, prompts cut to the context as the host cuts them', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url);
    onTestFinished(close);
    const mmd = new MmdUpdate(game, { scoring: 'mean' });
    const states = await exactStates(compile(game), backend, tokenizer, COMPACT_GAME_PROMPTS, mmd);
    expect(states.map((s) => s.key).sort()).toEqual(Object.keys(await scoredPolicy(backend, backend.policy())).sort());
    // The states facing a bet have the longest prompts (95 tokens), cut to leave their moves' 7 room.
    const room = (moves: readonly string[]) => CONTEXT - Math.max(...moves.map((move) => Buffer.byteLength(move) + 1));
    expect(states.filter((s) => s.prompt.length === room(s.moves)).length).toBe(3);
    // The training forward's move distribution at each state (mean scoring, T = 1) is the one the host samples from.
    const logprobs = await backend.tokenLogprobs(mmd.sequences(states));
    const policy = await scoredPolicy(backend, backend.policy());
    let at = 0;
    for (const state of states) {
      const scores = state.moves.map((_, k) => logprobs[at + k].reduce((a, b) => a + b, 0) / logprobs[at + k].length);
      at += state.moves.length;
      logSoftmax(scores).forEach((lp, k) => expect(Math.exp(lp)).toBeCloseTo(policy[state.key][state.moves[k]], 6));
    }
    // Scored as constrained decoding picks, the objective's scores from the same forward give the host's distribution too.
    const constrained = (await modelPolicy(game, { host: backend.host, model: backend.policy(), prompts: COMPACT_GAME_PROMPTS, scoring: 'constrained' })).policy;
    at = 0;
    for (const state of states) {
      const completions = mmd.sequences([state]).map((s) => s.completion);
      const { scores } = scoreChoices(completions, logprobs.slice(at, at + state.moves.length), 'constrained');
      at += state.moves.length;
      logSoftmax(scores).forEach((lp, k) => expect(Math.exp(lp)).toBeCloseTo(constrained[state.key][state.moves[k]], 6));
      expect(constrained[state.key]).not.toEqual(policy[state.key]);
    }
  }, 60_000);

  it("fits every information state toward the closed-form MMD target on its exact action values against itself", async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3, epochs: 40 });
    onTestFinished(close);
    const start = backend.policy();
    const before = await scoredPolicy(backend, start);
    // The targets, independently: each state's action values by walking the game with the model's policy in both
    // seats, and q proportional to exp((log pi + eta Q + alpha eta log uniform) / (1 + alpha eta)).
    const stepSize = 4;
    const eta = stepSize / 2;
    const alpha = 0.5;
    const values = walkedActionValues(game, before);
    const targets: TabularPolicy = Object.fromEntries(
      Object.entries(before).map(([key, moves]) => {
        const names = Object.keys(moves);
        const q = logSoftmax(names.map((m, k) => (Math.log(moves[m]) + eta * values.get(key)![k] + alpha * eta * Math.log(1 / names.length)) / (1 + alpha * eta))).map(Math.exp);
        return [key, Object.fromEntries(names.map((m, k) => [m, q[k]]))];
      }),
    );
    const seen: { it: HostedIteration; state: HostedRunState }[] = [];
    await trainExactMmd({ game, backend, tokenizer, iterations: 1, statesPerBatch: 5, mmd: { stepSize }, onIteration: (it, state) => void seen.push({ it, state }) });
    const [{ it, state }] = seen;
    // One optimizer step per minibatch (5, 5 and 2 states) in each of the 40 epochs.
    expect(it).toMatchObject({ update: 1, games: 0, states: 12, samples: 24, samplesBySeat: [6, 6], version: 120 });
    expect(it.played).toBe((await modelPolicy(game, { host: backend.host, model: start, prompts: COMPACT_GAME_PROMPTS })).model);
    const after = await scoredPolicy(backend, it.model);
    expect(distance(before, targets)).toBeGreaterThan(0.05);
    expect(distance(after, targets)).toBeLessThan(distance(before, targets) / 3);
    // The row measures the version it published, and the policy it stepped from.
    expect(it.exploitability).toBeCloseTo(evaluatePolicy(game, after).exploitability, 9);
    expect(it.exploitabilityBefore).toBeCloseTo(evaluatePolicy(game, before).exploitability, 9);
    const entropy = (p: TabularPolicy) => Object.values(p).reduce((h, moves) => h - Object.values(moves).reduce((s, x) => s + x * Math.log(x), 0), 0) / Object.keys(p).length;
    expect(it.moveEntropy).toBeCloseTo(entropy(before), 9);
    expect(it.policyEntropy).toBeCloseTo(entropy(after), 6);
    // Each state's magnet moved 2% of the way from uniform toward its target.
    for (const [key, moves] of Object.entries(targets)) {
      for (const [move, q] of Object.entries(moves)) expect(state.magnet![key][move]).toBeCloseTo(0.98 * Math.log(0.5) + 0.02 * Math.log(q), 9);
    }
  }, 120_000);

  it("asks each prompt once: tic-tac-toe's 294,778 move histories read its 4,520 boards with a move to make", async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url);
    onTestFinished(close);
    const tree = compile(ticTacToe());
    const states = await exactStates(tree, backend, tokenizer, COMPACT_GAME_PROMPTS, new MmdUpdate(tree.game, { scoring: 'constrained' }));
    // 5,478 legal boards, 958 of them final (won or full).
    expect(states.length).toBe(4_520);
    const infosets = states.flatMap((s) => s.infosets);
    expect(infosets.length).toBe(tree.infosetCount);
    expect(new Set(infosets).size).toBe(tree.infosetCount);
    for (const state of states) {
      expect(state.key).toBe(tree.infoKeys[state.infosets[0]]);
      for (const i of state.infosets) expect(tree.actionTexts[i]).toEqual(state.moves);
    }
  }, 120_000);

  it('pools the values of information states that read the same prompt, weighted by how often play reaches each', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3, epochs: 1 });
    onTestFinished(close);
    // Without the observation, Kuhn's twelve information states read two prompts: check or bet, and fold or call.
    const prompts = { default: { user: '{valid_actions}' } };
    const before = (await modelPolicy(game, { host: backend.host, model: backend.policy(), prompts })).policy;
    const values = walkedActionValues(game, before);
    const reach = walkedReach(game, before);
    const stepSize = 4;
    const eta = stepSize / 2;
    const alpha = 0.5;
    const target = (keys: string[], weight: (key: string) => number) => {
      const moves = Object.keys(before[keys[0]]);
      const total = keys.reduce((sum, key) => sum + weight(key), 0);
      const pooled = moves.map((_, k) => keys.reduce((sum, key) => sum + (weight(key) / total) * values.get(key)![k], 0));
      return logSoftmax(moves.map((m, k) => (Math.log(before[keys[0]][m]) + eta * pooled[k] + alpha * eta * Math.log(0.5)) / (1 + alpha * eta))).map(Math.exp);
    };
    const seen: { it: HostedIteration; state: HostedRunState }[] = [];
    await trainExactMmd({ game, backend, tokenizer, prompts, iterations: 1, mmd: { stepSize }, onIteration: (it, state) => void seen.push({ it, state }) });
    const [{ it, state }] = seen;
    expect(it).toMatchObject({ states: 2, samples: 4, samplesBySeat: [2, 2] });
    const magnets = Object.entries(state.magnet!);
    expect(magnets.length).toBe(2);
    let gap = 0;
    for (const [key, magnet] of magnets) {
      const group = Object.keys(before).filter((k) => Object.keys(before[k]).join() === Object.keys(magnet).join());
      expect(group.length).toBe(6);
      const q = target(group, (k) => reach.get(k)!);
      Object.keys(magnet).forEach((move, k) => expect(magnet[move]).toBeCloseTo(0.98 * Math.log(0.5) + 0.02 * Math.log(q[k]), 9));
      expect(key).toBe(compile(game).infoKeys.find((k) => group.includes(k)));
      const equal = target(group, () => 1);
      gap = Math.max(gap, ...q.map((x, k) => Math.abs(x - equal[k])));
    }
    // Weighing the states equally would have asked for another step (checking is worth less to the first seat).
    expect(gap).toBeGreaterThan(1e-3);
  }, 120_000);

  it('resumes where it stopped: its step count, clock and magnets', async () => {
    const { backend, close } = await tinkerBackend(fixture.host.url, { learningRate: 3e-3, epochs: 1 });
    onTestFinished(close);
    const seen: { it: HostedIteration; state: HostedRunState }[] = [];
    const options = { game, backend, tokenizer, mmd: { stepSize: 4 }, onIteration: (it: HostedIteration, state: HostedRunState) => void seen.push({ it, state }) };
    await trainExactMmd({ ...options, iterations: 2 });
    const resumed = new MmdUpdate(game, {}, seen[1].state.magnet);
    await trainExactMmd({ ...options, iterations: 3, resume: seen[1].state });
    expect(seen.map(({ it }) => it.update)).toEqual([1, 2, 3]);
    expect(seen[2].it.played).toBe(seen[1].it.model);
    expect(seen[2].it.seconds).toBeGreaterThan(seen[1].it.seconds);
    expect(resumed.magnetState()).toEqual(seen[1].state.magnet);
    // The third step moved the magnets on from where the second left them, not from uniform.
    const key = Object.keys(seen[1].state.magnet!)[0];
    expect(seen[2].state.magnet![key]).not.toEqual(seen[1].state.magnet![key]);
  }, 120_000);

  it('trains from train-llm, every step measured exactly, and resumes a run folder', async () => {
    const dir = join(fixture.dir, 'cli-run');
    const first = await runCli('train-llm', 'kuhn-poker', '--objective', 'exact-mmd', '--python', python, '--host-arg=--seed=4', '--iterations', '1', '--eval-games', '0', '--rate-games', '0', '--minibatch', '4', '--out', dir);
    expect(first.code, first.err).toBe(0);
    const resumed = await runCli('train-llm', '--resume', dir, '--python', python, '--iterations', '2', '--json');
    expect(resumed.code, resumed.err).toBe(0);
    const rows = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(rows.map((r) => r.update)).toEqual([1, 2]);
    for (const row of rows) {
      expect(row).toMatchObject({ games: 0, states: 12, samples: 24 });
      expect(row.exploitability).toBeGreaterThan(0);
    }
    // Each step starts from the version the last one published.
    expect(rows[1].exploitabilityBefore).toBe(rows[0].exploitability);
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8'))).toMatchObject({ objective: 'exact-mmd', minibatch: 4 });
    expect(existsSync(join(dir, 'report.html'))).toBe(true);
  }, 180_000);
});
