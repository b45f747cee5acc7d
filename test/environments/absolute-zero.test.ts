import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { environmentPlayers } from '../../agents/environment.ts';
import { startLlmStub, type LlmStub } from '../../agents/llm/stub/server.ts';
import {
  absoluteZeroGame,
  CachedRunner,
  createAbsoluteZero,
  DEFAULT_REWARDS,
  Executor,
  proposerReward,
  seedTask,
  solverReward,
  type AbsoluteZeroState,
  type TaskType,
} from '../../environments/absolute-zero/index.ts';
import { TEMPLATES, drawParams } from '../../environments/absolute-zero/templates.ts';
import { ParseError, Rng, type Game } from '../../src/core/index.ts';
import { episodeSchema } from '../../src/episodes/schema.ts';
import { policyAgent, runEnvironment, type Player } from '../../src/runtime/index.ts';
import { EpisodeTrainer } from '../../src/trainer/episode-trainer.ts';

let executor: Executor;
beforeAll(async () => {
  executor = await Executor.create({ timeoutMs: 200 });
});
afterAll(() => executor.dispose());

const gameFor = (type: TaskType, solvers = 4): Game<AbsoluteZeroState> =>
  absoluteZeroGame({ type, references: [seedTask(type)], solvers, rewards: DEFAULT_REWARDS, runner: new CachedRunner(executor, { timeoutMs: 200 }) });

/** Plays the texts as the seats' replies, in order, and returns the final state. */
function play(game: Game<AbsoluteZeroState>, replies: readonly unknown[]): AbsoluteZeroState {
  let state = game.initial();
  for (const reply of replies) state = game.apply(state, game.parseAction(state, JSON.stringify(reply)));
  return state;
}

const propose = (program: string, input: string) => ({ program, input, language: 'javascript' });
const answer = (text: string) => ({ answer: text });
const malformed = { malformed: 'no \\boxed{} answer' };

describe('Absolute Zero rewards (the reference code\'s rules)', () => {
  it('pays the proposer 1 - solve rate for learnable tasks and -0.5 for trivial or impossible ones', () => {
    expect(proposerReward(0.25)).toBe(0.75);
    expect(proposerReward(0.5)).toBe(0.5);
    expect(proposerReward(0)).toBe(-0.5);
    expect(proposerReward(1)).toBe(-0.5);
    expect([solverReward('correct'), solverReward('wrong'), solverReward('malformed')]).toEqual([1, -0.5, -1]);
  });

  it('deduction: f(4) = 4 * 3 + 1 = 13; two of four right gives [0.5, 1, -0.5, -1, 1]', () => {
    const game = gameFor('deduction');
    const state = play(game, [propose('function f(x) { return x * 3 + 1; }', '[4]'), answer('13'), answer('14'), malformed, answer(' 13 ')]);
    expect(game.turn(state)).toBe('terminal');
    expect(game.returns(state)).toEqual([0.5, 1, -0.5, -1, 1]);
  });

  it('deduction compares JSON values, not texts: key order and spacing do not matter', () => {
    const game = gameFor('deduction', 2);
    const state = play(game, [propose('function f(a) { return { b: a, a: [a, "x"] }; }', '[2]'), answer('{"a": [2, "x"], "b": 2}'), answer('{"a":[2,"x"],"b":3}')]);
    // rate 1/2: proposer 0.5; solvers 1 and -0.5
    expect(game.returns(state)).toEqual([0.5, 1, -0.5]);
  });

  it('abduction: any input that reproduces the output counts; 7 % 5 = 2, and 2 and 12 give 2 too', () => {
    const game = gameFor('abduction');
    const state = play(game, [propose('function f(x) { return x % 5; }', '[7]'), answer('[2]'), answer('[12]'), answer('[3]'), answer('7')]);
    // two correct of four: proposer 0.5; the bare 7 is not an argument list, so wrong
    expect(game.returns(state)).toEqual([0.5, 1, 1, -0.5, -0.5]);
  });

  it('induction: judged on the hidden half of the pairs only', () => {
    const game = gameFor('induction');
    const state = play(game, [
      propose('function f(x) { return 2 * x + 1; }', '[[1], [2], [3], [4]]'),
      answer('function f(x) { return x * 2 + 1; }'),
      answer('function f(x) { return x + 2 * (x - 1) + 0 * x + (x === 1 ? 0 : -x + 2); }'),
      answer('```javascript\nfunction f(x) {\n  return 1 + x + x;\n}\n```'),
      answer('function f(x) { while (true) {} }'),
    ]);
    // shown: f(1)=3, f(2)=5; hidden: f(3)=7, f(4)=9. Solver 2 gives f(3)=3+4-3+2=6: wrong. Solver 4 times out: wrong.
    expect(game.returns(state)).toEqual([0.5, 1, -0.5, 1, -0.5]);
    expect(game.observe(state, 1)).toMatchObject({ type: 'induction', pairs: [{ input: [1], output: 3 }, { input: [2], output: 5 }] });
    expect(JSON.stringify(game.observe(state, 1))).not.toContain('9');
  });

  it('a task every solver gets right, or none does, earns the proposer -0.5', () => {
    const all = play(gameFor('deduction', 2), [propose('function f() { return 1; }', '[]'), answer('1'), answer('1')]);
    expect(gameFor('deduction', 2).returns(all)).toEqual([-0.5, 1, 1]);
    const none = play(gameFor('deduction', 2), [propose('function f() { return 1; }', '[]'), answer('2'), malformed]);
    expect(gameFor('deduction', 2).returns(none)).toEqual([-0.5, -0.5, -1]);
  });

  it.each([
    ['a syntax error', propose('function f(x) { return (x; }', '[1]'), 'syntax'],
    ['Math.random (the sandbox has none)', propose('function f(x) { return Math.random() + x; }', '[1]'), 'runtime'],
    ['an endless loop', propose('function f(x) { for (;;) {} }', '[1]'), 'timeout'],
    ['an input that is not JSON', propose('function f(x) { return x; }', '[1,'), 'not JSON'],
    ['an input that is not an argument list', propose('function f(x) { return x; }', '5'), 'not a JSON array'],
    ['a Python program', { program: 'def f(x):\n  return x', input: '[1]', language: 'python' }, 'expected JavaScript'],
    ['an undefined result', propose('function f(x) {}', '[1]'), 'runtime'],
  ])('an invalid task (%s) costs the proposer -1 and ends the match before any solver plays', (_name, proposal, reason) => {
    const game = gameFor('deduction');
    const state = play(game, [proposal]);
    expect(game.turn(state)).toBe('terminal');
    expect(game.returns(state)).toEqual([-1, 0, 0, 0, 0]);
    expect(state.proposal).toMatchObject({ valid: false });
    expect((state.proposal as { reason: string }).reason).toContain(reason);
  });

  it.each([
    ['a program over 4 KiB', propose(`function f(x) { return x; }${' '.repeat(5000)}`, '[1]'), 'longer than 4096 characters'],
    ['a large input', propose('function f(x) { return 1; }', JSON.stringify(['x'.repeat(2000)])), 'an input is longer than 1024'],
    ['a large output', propose('function f(n) { return "x".repeat(n); }', '[5000]'), 'returns more than 1024'],
  ])('a task too large to show in prompts (%s) is invalid', (_name, proposal, reason) => {
    const game = gameFor('deduction');
    const state = play(game, [proposal]);
    expect(game.returns(state)).toEqual([-1, 0, 0, 0, 0]);
    expect((state.proposal as { reason: string }).reason).toContain(reason);
  });

  it('a deeply nested answer is wrong, not a crash', () => {
    const game = gameFor('deduction', 2);
    const deep = `${'['.repeat(8000)}${']'.repeat(8000)}`;
    const state = play(game, [propose('function f() { return [[1]]; }', '[]'), answer(deep), answer('[[1]]')]);
    expect(game.returns(state)).toEqual([0.5, -0.5, 1]);
    const abduction = gameFor('abduction', 1);
    expect(abduction.returns(play(abduction, [propose('function f(x) { return 1; }', '[0]'), answer(deep)]))).toEqual([-0.5, -0.5]);
  });

  it('a badly formatted proposal costs -1 too', () => {
    const game = gameFor('abduction');
    const state = play(game, [malformed]);
    expect(game.returns(state)).toEqual([-1, 0, 0, 0, 0]);
  });

  it('an induction task needs 4 to 10 distinct argument lists', () => {
    const game = gameFor('induction');
    expect((play(game, [propose('function f(x) { return x; }', '[[1], [2], [1], [3]]')]).proposal as { reason: string }).reason).toContain('must differ');
    expect((play(game, [propose('function f(x) { return x; }', '[[1], [2], [3]]')]).proposal as { reason: string }).reason).toContain('4 to 10');
  });

  it('rejects replies that are not the role output (a broken agent), but scores {"malformed"} as a format error', () => {
    const game = gameFor('deduction');
    const start = game.initial();
    expect(() => game.parseAction(start, 'def f(x): return x')).toThrow(ParseError);
    expect(() => game.parseAction(start, JSON.stringify({ program: 'function f(){}' }))).toThrow(/input/);
    expect(() => game.parseAction(start, JSON.stringify({ answer: '1' }))).toThrow(ParseError);
    expect(game.parseAction(start, JSON.stringify(malformed))).toEqual(malformed);
  });

  it('shows solvers nothing secret: the abduction input and the proposer references stay hidden', () => {
    const game = gameFor('abduction');
    const state = play(game, [propose('function f(x) { return x % 5; }', '[1234567]')]);
    const view = game.observe(state, 2);
    expect(view).toMatchObject({ type: 'abduction', output: 2 });
    expect(JSON.stringify(view)).not.toContain('1234567');
    expect(game.observe(game.initial(), 1)).toEqual({});
    expect(game.observe(state, 0)).toMatchObject({ language: 'javascript', examples: [{ program: seedTask('abduction').program, input: '["Hello World"]', output: '"Hello World"' }] });
  });
});

describe('the scripted proposer\'s templates', () => {
  it('each template\'s source computes what its native twin does, in the sandbox', () => {
    const rng = new Rng(5);
    for (const template of TEMPLATES) {
      for (let i = 0; i < 5; i++) {
        const params = drawParams(template, rng);
        const args = template.input(rng);
        const result = executor.run(template.source(params), args);
        expect(result).toEqual({ ok: true, value: template.native(params)(...args) });
      }
    }
  });
});

describe('Absolute Zero end to end', () => {
  it('runs with scripted roles: role-tagged steps, rewards by the rules, buffers that grow with valid tasks, and a seed that replays', async () => {
    const run = async () => {
      const environment = await createAbsoluteZero({ solvers: 3, executor, limits: { timeoutMs: 200 } });
      const episodes = await lastValueFrom(runEnvironment({ environment, players: environmentPlayers(environment), matches: 30, seed: 7 }).pipe(toArray()));
      return { environment, episodes };
    };
    const { environment, episodes } = await run();
    expect(episodes).toHaveLength(30);
    let valid = 0;
    for (const episode of episodes) {
      episodeSchema.parse(episode);
      expect(episode.outcome).toBe('normal');
      expect(episode.players.map((p) => p.role)).toEqual(['proposer', 'solver', 'solver', 'solver']);
      expect(episode.steps[0]).toMatchObject({ seat: 0, role: 'proposer', valid: true });
      const [proposer, ...solvers] = episode.returns;
      if (episode.steps.length === 1) {
        expect(episode.returns).toEqual([-1, 0, 0, 0]);
        continue;
      }
      valid++;
      expect(episode.steps.slice(1).map((s) => s.role)).toEqual(['solver', 'solver', 'solver']);
      const rate = solvers.filter((r) => r === 1).length / 3;
      expect(proposer).toBe(rate > 0 && rate < 1 ? 1 - rate : -0.5);
    }
    expect(valid).toBeGreaterThan(15);
    expect(valid).toBeLessThan(30);
    const buffered = Object.values(environment.buffers).reduce((n, b) => n + b.length, 0);
    expect(buffered).toBe(3 + valid);
    expect(new Set(episodes.map((e) => e.game.params.taskType))).toEqual(new Set(['deduction', 'abduction', 'induction']));
    expect(environment.stats()).toMatchObject({ matches: 30, 'valid tasks': valid });
    const again = await run();
    expect(again.episodes).toEqual(episodes);
  });

  it('gives the trainer task-relative advantages: normalised per (task type, role)', async () => {
    const environment = await createAbsoluteZero({ solvers: 2, executor, types: ['deduction', 'abduction'] });
    const episodes = await lastValueFrom(runEnvironment({ environment, players: environmentPlayers(environment), matches: 20, seed: 3 }).pipe(toArray()));
    const learner = { version: 0, act: () => ({ action: '', probability: 1, version: 0 }), update: () => ({ version: 1, samples: 0 }), policy: () => null, snapshot: () => null, load: () => undefined };
    const trainer = new EpisodeTrainer(gameFor('deduction'), learner, { policyId: 'scripted-proposer', algo: 'trr++' });
    const played = episodes.map((e) => ({ ...e, players: e.players.map((p) => ({ ...p, policy: { id: 'scripted-proposer', version: 0 } })) }));
    const samples = trainer.samples(played);
    const groups = new Map<string, number[]>();
    for (const s of samples) {
      const episode = played.find((e) => e.id === s.episodeId)!;
      const key = `${episode.game.params.taskType}/${s.role}`;
      groups.set(key, [...(groups.get(key) ?? []), s.advantage]);
    }
    expect([...groups.keys()].sort()).toEqual(['abduction/proposer', 'abduction/solver', 'deduction/proposer', 'deduction/solver']);
    for (const advantages of groups.values()) {
      const mean = advantages.reduce((a, b) => a + b, 0) / advantages.length;
      expect(Math.abs(mean)).toBeLessThan(1e-9);
    }
  });
});

describe('Absolute Zero when a seat fails to answer', () => {
  it('scores a timeout, a crash and an unreadable reply as badly formatted answers, by the environment\'s rules', async () => {
    const environment = await createAbsoluteZero({ solvers: 3, executor, types: ['deduction'] });
    const proposer: Player = { name: 'fixed', agent: policyAgent(() => JSON.stringify(propose('function f(x) { return x * 3 + 1; }', '[4]'))) };
    // Seat 1 never answers, seat 2 throws, seat 3 answers 13 (right) the first time and nonsense after.
    const solver: Player = {
      name: 'flaky',
      agent: policyAgent((turn) => {
        if (turn.seat === 1) return new Promise<string>(() => undefined);
        if (turn.seat === 2) throw new Error('model server down');
        return turn.step === 0 ? JSON.stringify(answer('13')) : 'not json';
      }),
    };
    const episodes = await lastValueFrom(runEnvironment({ environment, players: { proposer, solver }, matches: 1, turnTimeoutMs: 200 }).pipe(toArray()));
    const [episode] = episodes;
    expect(episode.outcome).toBe('normal');
    // rate 1/3: proposer 1 - 1/3; the two failed seats -1 (badly formatted), the right one 1
    expect(episode.returns[0]).toBeCloseTo(2 / 3, 12);
    expect(episode.returns.slice(1)).toEqual([-1, -1, 1]);
    const substituted = episode.steps.filter((s) => s.error !== undefined && s.valid);
    expect(substituted.map((s) => [s.seat, s.parsed])).toEqual([
      [1, { malformed: 'no reply within 200 ms' }],
      [2, { malformed: expect.stringContaining('model server down') }],
    ]);
    expect(environment.buffers.deduction).toHaveLength(2);
  });

  it('turns a reply too long for the environment into a badly formatted answer, not a forfeit', async () => {
    const environment = await createAbsoluteZero({ solvers: 1, executor, types: ['deduction'] });
    const proposer: Player = { name: 'fixed', agent: policyAgent(() => JSON.stringify(propose('function f(x) { return x; }', '[4]'))) };
    const solver: Player = { name: 'verbose', agent: policyAgent(() => JSON.stringify(answer('4'.repeat(20_000)))) };
    const [episode] = await lastValueFrom(runEnvironment({ environment, players: { proposer, solver }, matches: 1 }).pipe(toArray()));
    expect(episode.outcome).toBe('normal');
    expect(episode.returns).toEqual([-0.5, -1]);
    expect(episode.steps.map((s) => s.valid)).toEqual([true, false, true]);
  });
});

describe('Absolute Zero with language-model roles (stub server)', () => {
  let stub: LlmStub;
  beforeAll(async () => {
    stub = await startLlmStub({ seed: 4 });
  });
  afterAll(async () => {
    await stub.close();
  });

  it('plays proposer and solvers through the role prompts, recording the model data', async () => {
    const environment = await createAbsoluteZero({ solvers: 2, executor });
    const spec = `llm:model=stub,base=${stub.url},token_ids=true`;
    const players = environmentPlayers(environment, { proposer: spec, solver: spec });
    const episodes = await lastValueFrom(runEnvironment({ environment, players, matches: 6, seed: 1 }).pipe(toArray()));
    for (const episode of episodes) {
      expect(episode.outcome).toBe('normal');
      expect(episode.steps.length).toBe(3);
      const proposal = episode.steps[0];
      expect(proposal.meta).toMatchObject({ model: 'stub' });
      expect((proposal.meta as { completionTokenIds: number[] }).completionTokenIds.length).toBeGreaterThan(0);
      expect(proposal.parsed).toMatchObject({ language: 'javascript' });
      expect(episode.returns[0]).not.toBe(-1);
    }
    expect(Object.values(environment.buffers).reduce((n, b) => n + b.length, 0)).toBe(3 + 6);
  });
});
