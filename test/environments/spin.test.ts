import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { environmentPlayers } from '../../agents/environment.ts';
import { startLlmStub } from '../../agents/llm/stub/server.ts';
import { answerer } from '../../agents/roles/index.ts';
import { builtinSpinData, createSpin, readSpinData, spinEntry, spinGame, type SpinAction, type SpinState } from '../../environments/spin/index.ts';
import { ConfigError, IllegalActionError, ParseError, type Environment, type Game } from '../../src/core/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { runEnvironment } from '../../src/runtime/environment.ts';

const dir = mkdtempSync(join(tmpdir(), 'selfplay-spin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runAll = (environment: Environment, matches: number, seed: number, specs: Record<string, string> = {}): Promise<Episode[]> =>
  lastValueFrom(runEnvironment({ environment, players: environmentPlayers(environment, specs), matches, seed }).pipe(toArray()));

describe('the spin data set', () => {
  it('reads JSONL lines of {prompt, reference}, skipping blank lines', () => {
    const file = join(dir, 'ok.jsonl');
    writeFileSync(file, '{"prompt": "2 + 2?", "reference": "4"}\n\n{"prompt": "Capital of France?", "reference": "Paris"}\n');
    expect(readSpinData(file)).toEqual([
      { prompt: '2 + 2?', reference: '4' },
      { prompt: 'Capital of France?', reference: 'Paris' },
    ]);
  });

  it('names the line and what is wrong with it, and refuses an empty or missing file', () => {
    const bad = (name: string, text: string) => {
      const file = join(dir, name);
      writeFileSync(file, text);
      return () => readSpinData(file);
    };
    expect(bad('json.jsonl', '{"prompt": "a", "reference": "b"}\nnot json\n')).toThrow(/line 2 is not JSON/);
    expect(bad('field.jsonl', '{"prompt": "a"}\n')).toThrow(/line 1: reference: /);
    expect(bad('extra.jsonl', '{"prompt": "a", "reference": "b", "x": 1}\n')).toThrow(/line 1: /);
    expect(bad('empty.jsonl', '\n\n')).toThrow(/holds no examples/);
    expect(() => readSpinData(join(dir, 'missing.jsonl'))).toThrow(ConfigError);
    expect(() => spinEntry.create({ data: join(dir, 'missing.jsonl') })).toThrow(/cannot read the data set/);
  });

  it('has a built-in set of sum and gcd questions with worked answers', () => {
    const data = builtinSpinData(10, 3);
    expect(data).toHaveLength(10);
    expect(data).toEqual(builtinSpinData(10, 3));
    for (const item of data) expect(item.reference).toMatch(/^The answer is \\boxed\{\d+\}\.$/);
  });
});

describe('the spin game and environment', () => {
  it('pays the opponent 1 for the reference answer exactly', () => {
    const game = spinGame({ prompt: 'Capital of France?', reference: 'Paris' }, 0) as Game<SpinState, SpinAction>;
    expect(game.params).toEqual({ item: 0, reference: 'Paris' });
    expect(game.returns(game.apply(game.initial(), { answer: ' Paris ' }))).toEqual([1]);
    expect(game.returns(game.apply(game.initial(), { answer: 'Lyon' }))).toEqual([0]);
    expect(game.returns(game.apply(game.initial(), { malformed: 'empty' }))).toEqual([0]);
    expect(() => game.apply(game.apply(game.initial(), { answer: 'x' }), { answer: 'y' })).toThrow(IllegalActionError);
    expect(game.observationText!(game.initial(), 0)).toBe('Capital of France?');
  });

  it('runs 200 matches with the scripted answerer', async () => {
    const env = createSpin({ answererSkill: 0.7 });
    const episodes = await runAll(env, 200, 1);
    const stats = env.stats() as Record<string, number>;
    expect(stats.matches).toBe(200);
    expect(stats.exactAnswers).toBe(episodes.filter((e) => e.returns[0] === 1).length);
    expect(stats.exactShare).toBeGreaterThan(0.55);
    expect(stats.exactShare).toBeLessThan(0.85);
  });

  it("its role takes the whole reply as the answer, and a model plays it against the stub", async () => {
    expect(answerer().parse('  The answer is 4.\n')).toEqual({ answer: 'The answer is 4.' });
    expect(() => answerer().parse('  ')).toThrow(ParseError);
    expect(answerer().prompt({ prompt: 'Hello?' })).toEqual([{ role: 'user', content: 'Hello?' }]);
    const stub = await startLlmStub({ seed: 1 });
    try {
      const episodes = await runAll(createSpin(), 3, 1, { answerer: `llm:model=stub,base=${stub.url},retries=0` });
      expect(episodes.every((e) => e.outcome === 'normal')).toBe(true);
    } finally {
      await stub.close();
    }
  });
});
