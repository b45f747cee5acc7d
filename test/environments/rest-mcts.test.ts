import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { environmentPlayers } from '../../agents/environment.ts';
import { startLlmStub } from '../../agents/llm/stub/server.ts';
import { reasoner } from '../../agents/roles/index.ts';
import { createRestMcts, isFinalStep, restMctsEntry, restMctsGame, restMctsTargets, scriptedReasoner, StepSearch, traceIsCorrect, type SearchOptions } from '../../environments/rest-mcts/index.ts';
import { problemFromSteps } from '../../environments/self-play-critic/problems.ts';
import { ConfigError, IllegalActionError, ParseError, replay, Rng, type Environment } from '../../src/core/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { runEnvironment } from '../../src/runtime/environment.ts';
import { runCli } from '../cli/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'selfplay-rest-mcts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runAll = (environment: Environment, matches: number, seed: number, specs: Record<string, string> = {}): Promise<Episode[]> =>
  lastValueFrom(runEnvironment({ environment, players: environmentPlayers(environment, specs), matches, seed }).pipe(toArray()));

/** A search for the answer 10, fed `replies` in order; the partial solution each was asked for is kept. */
function feed(options: SearchOptions, replies: readonly string[]) {
  const search = new StepSearch(options, isFinalStep, traceIsCorrect(10));
  const asked: (readonly string[])[] = [];
  for (const reply of replies) {
    asked.push(search.query()!);
    search.receive({ text: reply });
  }
  return { search, asked };
}

describe('the ReST-MCTS* search', () => {
  // 2 + 3 = 5, 5 * 2 = 10: two wrong traces from two samples at the root, then UCT goes back to the first and finds the answer.
  const options = { iterations: 3, branch: 2, exploration: 1, maxDepth: 4 };
  const replies = ['2 + 3 = 5', '5 * 2 = 11', 'Answer: 11', '2 + 3 = 6', '6 * 2 = 12', 'Answer: 12', '5 * 2 = 10', 'Answer: 10'];

  it('expands by sampling, rolls out to an answer, and selects by UCT (first among equals)', () => {
    const { search, asked } = feed(options, replies);
    expect(asked).toEqual([[], ['2 + 3 = 5'], ['2 + 3 = 5', '5 * 2 = 11'], [], ['2 + 3 = 6'], ['2 + 3 = 6', '6 * 2 = 12'], ['2 + 3 = 5'], ['2 + 3 = 5', '5 * 2 = 10']]);
    expect(search.done).toBe(true);
    expect(search.query()).toBeNull();
    expect(() => search.receive({ text: 'more' })).toThrow(/the search is over/);
    expect(search.traces.map((t) => [t.steps.at(-1), t.correct, t.turns])).toEqual([
      ['Answer: 11', false, [0, 1, 2]],
      ['Answer: 12', false, [3, 4, 5]],
      ['Answer: 10', true, [0, 6, 7]],
    ]);
    // The tree holds the expansions only; rollouts leave no nodes.
    const [a, b] = search.root.children;
    expect([search.root.visits, search.root.total, a.text, a.visits, a.total, a.samples, b.text, b.visits, b.total]).toEqual([3, 1, '2 + 3 = 5', 2, 1, 1, '2 + 3 = 6', 1, 0]);
    expect(a.children.map((c) => c.text)).toEqual(['5 * 2 = 10']);
    expect(search.bestTrace()!.steps).toEqual(['2 + 3 = 5', '5 * 2 = 10', 'Answer: 10']);
  });

  it("infers each step's value as the paper does, by hand", () => {
    const values = Object.fromEntries(feed(options, replies).search.valueTargets().map((v) => [v.steps.join(' | '), [v.value, v.visits, v.meanReward, v.toCorrect]]));
    // The correct trace has K = 3 steps: v rises 1/3, 2/3, 1. A wrong step takes the nearest ancestor's distance:
    // under 2 + 3 = 5 (m = 3), 1/3 - (2/3)/3 = 1/9, then max(0, 1/9 - (8/9)/3) = 0; under the root (m = 4), max(0, 0 - 1/4) = 0.
    expect(values['2 + 3 = 5'][0]).toBeCloseTo(1 / 3, 12);
    expect(values['2 + 3 = 5'].slice(1)).toEqual([2, 0.5, 3]);
    expect(values['2 + 3 = 5 | 5 * 2 = 10'][0]).toBeCloseTo(2 / 3, 12);
    expect(values['2 + 3 = 5 | 5 * 2 = 10 | Answer: 10']).toEqual([1, 1, 1, 1]);
    expect(values['2 + 3 = 5 | 5 * 2 = 11'][0]).toBeCloseTo(1 / 9, 12);
    expect(values['2 + 3 = 5 | 5 * 2 = 11 | Answer: 11']).toEqual([0, 1, 0, null]);
    expect(values['2 + 3 = 6']).toEqual([0, 1, 0, null]);
    expect(values['2 + 3 = 6 | 6 * 2 = 12 | Answer: 12']).toEqual([0, 1, 0, null]);
    expect(Object.keys(values)).toHaveLength(8);
  });

  it('scores a finished trace selected again without asking the policy, and records it once', () => {
    const { search } = feed({ iterations: 3, branch: 1, exploration: 1, maxDepth: 4 }, ['Answer: 10']);
    expect(search.done).toBe(true);
    expect(search.turns).toBe(1);
    expect(search.traces).toHaveLength(1);
    expect([search.root.visits, search.root.total]).toEqual([3, 3]);
    expect(search.valueTargets()).toEqual([{ steps: ['Answer: 10'], value: 1, visits: 1, meanReward: 1, toCorrect: 1 }]);
  });

  it('ends a trace at the depth limit or a malformed step as wrong, and merges equal samples into one child', () => {
    const { search } = feed({ iterations: 2, branch: 2, exploration: 1, maxDepth: 2 }, ['2 + 3 = 5', '5 * 2 = 10', '2 + 3 = 5']);
    search.receive({ malformed: 'no step' });
    expect(search.done).toBe(true);
    expect(search.traces.map((t) => [t.steps, t.correct])).toEqual([
      [['2 + 3 = 5', '5 * 2 = 10'], false],
      [['2 + 3 = 5'], false],
    ]);
    expect(search.root.children).toHaveLength(1);
    expect(search.root.samples).toBe(2);
    expect(search.malformed).toBe(1);
    expect(search.valueTargets().every((v) => v.value === 0)).toBe(true);
  });

  it('keeps its invariants under any replies: bounded turns and depth, traces rebuilt from their turns, values in [0, 1] reaching 1 at a correct answer', () => {
    const step = fc.constantFrom('2 + 3 = 5', '2 + 3 = 6', '5 * 2 = 10', '5 * 2 = 11', 'Answer: 10', 'Answer: 11', '6 * 2 = 12');
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 6 }), fc.array(step, { minLength: 200, maxLength: 200 }), (iterations, branch, maxDepth, pool) => {
        const search = new StepSearch({ iterations, branch, exploration: 1.4, maxDepth }, isFinalStep, traceIsCorrect(10));
        const written: string[] = [];
        const asked: (readonly string[])[] = [];
        while (!search.done) {
          asked.push(search.query()!);
          written.push(pool[written.length]);
          search.receive({ text: pool[written.length - 1] });
        }
        expect(search.turns).toBeLessThanOrEqual(iterations * maxDepth);
        for (const trace of search.traces) {
          expect(trace.steps.length).toBeLessThanOrEqual(maxDepth);
          expect(trace.turns.map((t) => written[t])).toEqual(trace.steps);
          // Each step was written for the partial solution before it: what imitating the trace trains on.
          trace.turns.forEach((t, i) => expect(asked[t]).toEqual(trace.steps.slice(0, i)));
          expect(trace.correct).toBe(trace.steps.at(-1) === 'Answer: 10');
        }
        const values = search.valueTargets();
        for (const v of values) {
          expect(v.value).toBeGreaterThanOrEqual(0);
          expect(v.value).toBeLessThanOrEqual(1);
          if (v.toCorrect === 1) expect(v.value).toBe(1);
        }
        expect(search.bestTrace() === null).toBe(!search.traces.some((t) => t.correct));
      }),
      { numRuns: 300 },
    );
  });
});

describe('the rest-mcts environment', () => {
  it('runs 200 scripted searches; the search solves more problems than its first trace does', async () => {
    const environment = createRestMcts();
    const episodes = await runAll(environment, 200, 1);
    expect(episodes.every((e) => e.outcome === 'normal' && e.players[0].role === 'reasoner')).toBe(true);
    const stats = environment.stats();
    expect(stats.matches).toBe(200);
    // The scripted reasoner gets each of 3 operations right with probability 0.8: a single trace is right about 0.8^3 = 51% of the time.
    expect(stats.firstTraceCorrectShare).toBeGreaterThan(0.4);
    expect(stats.firstTraceCorrectShare).toBeLessThan(0.65);
    expect(stats.solvedShare).toBeGreaterThan(0.9);
    expect(episodes.filter((e) => e.returns[0] === 1)).toHaveLength(stats.solved as number);
  });

  it("names the best trace's moves to imitate: each written for the partial solution before it", async () => {
    const environment = createRestMcts({ reasonerSkill: 0.6 });
    const episodes = await runAll(environment, 20, 2);
    let solved = 0;
    for (const episode of episodes) {
      const { imitate, record } = environment.trainingTargets!(episode.game, episode.history);
      const moves = episode.steps.filter((s) => s.valid);
      expect(record.solved).toBe(episode.returns[0] === 1);
      if (!record.solved) {
        expect(imitate).toEqual([]);
        continue;
      }
      solved++;
      const best = record.best as string[];
      expect(imitate.map((i) => JSON.parse(moves[i].action).step)).toEqual(best);
      imitate.forEach((i, k) => expect(moves[i].observation).toContain(k === 0 ? '(none yet)' : `Step ${k}: ${best[k - 1]}`));
      expect(best.at(-1)).toBe(`Answer: ${episode.game.params.answer}`);
    }
    expect(solved).toBeGreaterThan(5);
  });

  it('is exact with a perfect reasoner, and refuses episodes of other games', async () => {
    const environment = createRestMcts({ reasonerSkill: 1, problems: 8 });
    await runAll(environment, 10, 3);
    expect(environment.stats()).toMatchObject({ solvedShare: 1, firstTraceCorrectShare: 1, meanBestSteps: 4 });
    expect(() => environment.trainingTargets!({ id: 'stp', params: {} }, [])).toThrow(ConfigError);
    expect(() => restMctsTargets({ problem: 1 }, [])).toThrow(/no answer/);
  });

  it('plays the reasoner as a language model through its role', async () => {
    const stub = await startLlmStub({ seed: 1 });
    try {
      const episodes = await runAll(createRestMcts({ iterations: 2, branch: 1 }), 2, 1, { reasoner: `llm:model=stub,base=${stub.url},retries=0` });
      expect(episodes.every((e) => e.outcome === 'normal' && e.steps.length > 0)).toBe(true);
    } finally {
      await stub.close();
    }
  });

  it('refuses bad replies and moves with clear errors', () => {
    const problem = problemFromSteps([{ op: '+', left: 2, right: 3 }]);
    const game = restMctsGame(problem, 0, { iterations: 1, branch: 1, exploration: 1, maxDepth: 3 });
    const start = game.initial();
    expect(() => game.parseAction(start, 'not json')).toThrow(ParseError);
    expect(() => game.parseAction(start, '{"step": "a\\nb"}')).toThrow(/one line/);
    expect(() => game.parseAction(start, '{"step": "   "}')).toThrow(ParseError);
    expect(() => game.parseAction(start, `{"step": "${'9'.repeat(501)}"}`)).toThrow(ParseError);
    expect(game.parseAction(start, '{"malformed": "no step"}')).toEqual({ malformed: 'no step' });
    expect(() => game.apply(start, { step: 42 } as never)).toThrow(IllegalActionError);
    const done = replay(game, [{ step: 'Answer: 5' }]);
    expect(game.turn(done)).toBe('terminal');
    expect(game.returns(done)).toEqual([1]);
    expect(() => game.apply(done, { step: 'Answer: 5' })).toThrow(/the search is over/);
    expect(() => game.parseAction(done, '{"step": "x"}')).toThrow(/the search is over/);
  });

  it('checks its options', async () => {
    expect(() => restMctsEntry.create({ nope: '1' })).toThrow(/has no option "nope"/);
    expect(() => restMctsEntry.create({ iterations: '0' })).toThrow(/iterations must be a whole number from 1 to 256/);
    expect(() => restMctsEntry.create({ reasoner_skill: '2' })).toThrow(/reasoner_skill/);
    expect(() => createRestMcts({ branch: 0.5 })).toThrow(ConfigError);
    const environment = await restMctsEntry.create({ iterations: '4', max_depth: '6', problems: '3' });
    expect(environment.nextGame(new Rng(1)).params).toMatchObject({ iterations: 4, maxDepth: 6, branch: 3 });
  });

  it('the scripted reasoner carries a mistake through the rest of the chain', () => {
    const problem = problemFromSteps([{ op: '+', left: 2, right: 3 }, { op: '*', left: { step: 0 }, right: 2 }]);
    const script = scriptedReasoner(new Map([[problem.text, problem]]), 1);
    const rng = new Rng(0);
    expect(script({ problem: problem.text, steps: [] }, rng)).toEqual({ step: '2 + 3 = 5' });
    expect(script({ problem: problem.text, steps: ['2 + 3 = 6'] }, rng)).toEqual({ step: '6 * 2 = 12' });
    expect(script({ problem: problem.text, steps: ['2 + 3 = 6', '6 * 2 = 12'] }, rng)).toEqual({ step: 'Answer: 12' });
    expect(script({ problem: 'unknown', steps: [] }, rng)).toEqual({ step: 'Answer: 0' });
  });
});

describe('the reasoner role', () => {
  it('reads the first line of a reply as the step, and refuses an empty or overlong one', () => {
    const role = reasoner();
    expect(role.parse('  Step 3: `40 * 3 = 120`\nmore text')).toEqual({ step: '40 * 3 = 120' });
    expect(role.parse('\n\nAnswer: 7')).toEqual({ step: 'Answer: 7' });
    expect(() => role.parse(' \n ')).toThrow(ParseError);
    expect(() => role.parse('1'.repeat(501))).toThrow(/at most 500/);
  });
});

describe('selfplay env rest-mcts', () => {
  it('writes each search\'s traces and value targets with --targets, and refuses --targets elsewhere', async () => {
    const file = join(dir, 'targets.jsonl');
    const cli = await runCli('env', 'rest-mcts', '--steps', '5', '--targets', file, '--json');
    expect(cli.code).toBe(0);
    expect(JSON.parse(cli.out)).toMatchObject({ environment: 'rest-mcts', steps: 5, targets: file });
    const rows = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    expect(rows).toHaveLength(5);
    for (const row of rows) {
      expect(row).toEqual(expect.objectContaining({ episode: expect.any(String), problem: expect.stringMatching(/^Compute /), answer: expect.any(Number), solved: expect.any(Boolean) }));
      expect(row.values.length).toBeGreaterThan(0);
      expect(row.traces.length).toBeGreaterThan(0);
    }
    const refused = await runCli('env', 'stp', '--steps', '1', '--targets', file);
    expect(refused.code).not.toBe(0);
    expect(refused.err).toMatch(/--targets: stp has no training targets/);
  });
});
