import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { environmentPlayers } from '../../agents/environment.ts';
import { startLlmStub } from '../../agents/llm/stub/server.ts';
import { creator, roles } from '../../agents/roles/index.ts';
import {
  addToPool,
  createCreatorSolver,
  creatorSolverEntry,
  creatorSolverGame,
  FAMILIES,
  informativeness,
  preferencePair,
  proportionalIndex,
  readPreferencePairs,
  resolveProposal,
  scriptedCreator,
  scriptedSolver,
  selectParent,
  solveFromText,
  writePreferencePairs,
  type CreatorSolverEnvironment,
  type PoolEntry,
  type PreferencePair,
  type TaskFamily,
} from '../../environments/creator-solver/index.ts';
import { clampParams, MUTATIONS, readInteger, withinBounds } from '../../environments/creator-solver/family.ts';
import { readList } from '../../environments/creator-solver/families.ts';
import type { CreatorSolverAction } from '../../environments/creator-solver/game.ts';
import { ConfigError, IllegalActionError, isMalformed, ParseError, Rng } from '../../src/core/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { runEnvironment } from '../../src/runtime/environment.ts';

const runAll = (env: CreatorSolverEnvironment, matches: number, seed: number, specs: Record<string, string> = {}): Promise<Episode[]> =>
  lastValueFrom(runEnvironment({ environment: env, players: environmentPlayers(env, specs), matches, seed }).pipe(toArray()));

const entry = (family: string, params: Record<string, number>, informativeness: number, measurements = 1, updated = 0): PoolEntry => ({
  family,
  params,
  informativeness,
  measurements,
  updated,
});

/** An Rng whose every draw is `u` (to test selection exactly). */
const fixedRng = (u: number) => ({ next: () => u }) as unknown as Rng;

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('the creator role', () => {
  const parse = creator().parse;

  it('reads the last ```json block', () => {
    expect(parse('I will make it harder.\n```json\n{"params": {"terms": 5, "digits": 3}}\n```')).toEqual({ params: { terms: 5, digits: 3 } });
    expect(parse('First idea:\n```json\n{"params": {"terms": 2}}\n```\nBetter:\n```json\n{"params": {"terms": 7}}\n```')).toEqual({ params: { terms: 7 } });
    // an unlabelled fence counts too
    expect(parse('```\n{"params": {"length": 12}}\n```')).toEqual({ params: { length: 12 } });
  });

  it('falls back to the last {...} object in the text, nested or bare', () => {
    expect(parse('My proposal is {"params": {"digits": 4}} and that is final.')).toEqual({ params: { digits: 4 } });
    expect(parse('Maybe {"params": {"digits": 2}}, no: {"params": {"digits": 6}}')).toEqual({ params: { digits: 6 } });
    // the bare parameters object, without "params"
    expect(parse('{"length": 30, "digits": 1}')).toEqual({ params: { length: 30, digits: 1 } });
    // negative whole numbers are whole numbers (the environment clamps them)
    expect(parse('{"params": {"digits": -3}}')).toEqual({ params: { digits: -3 } });
  });

  it('rejects replies without whole-number parameters with ParseError', () => {
    const bad = [
      'I would make the task harder.',
      '```json\n{"params": {"terms": 5,}}\n```',
      '{"params": {"terms": 2.5}}',
      '{"params": {"terms": "5"}}',
      '{"params": {}}',
      '{"params": [1, 2]}',
      '```json\n[1, 2]\n```',
      '{"params": {"terms": null}}',
      '\\boxed{}',
    ];
    for (const text of bad) expect(() => parse(text), text).toThrow(ParseError);
  });

  it('round-trips any whole-number parameters (fast-check)', () => {
    const name = fc.stringMatching(/^[a-z][a-z-]{0,11}$/);
    fc.assert(
      fc.property(fc.dictionary(name, fc.integer({ min: -1e9, max: 1e9 }), { minKeys: 1, maxKeys: 5 }), fc.boolean(), (params, fenced) => {
        const json = JSON.stringify({ params });
        const text = fenced ? `Reasoning about {braces}.\n\`\`\`json\n${json}\n\`\`\`` : `So: ${json}`;
        expect(parse(text)).toEqual({ params });
      }),
    );
  });

  it('prompts with the family, the parent, the bounds and its informativeness', () => {
    const messages = roles.creator().prompt({
      family: 'sum',
      description: 'Add numbers.',
      params: { terms: 4, digits: 3 },
      bounds: { terms: [2, 10], digits: [1, 9] },
      informativeness: 0.4375,
    });
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    const user = messages[1].content;
    expect(user).toContain('Task family: sum\nAdd numbers.');
    expect(user).toContain('Current parameters: {"terms":4,"digits":3}');
    expect(user).toContain('Allowed values: terms from 2 to 10, digits from 1 to 9.');
    expect(user).toContain('Informativeness of the current task: 0.438');
    expect(user).toContain('```json block: {"params": {"name": integer, ...}}');
    expect(roles.creator().name).toBe('creator');
  });
});

describe('informativeness and rewards', () => {
  it('is the best score minus the mean, by hand', () => {
    // [1, 0, 0.5, 0.5]: mean 2/4 = 0.5, best 1 -> 0.5
    expect(informativeness([1, 0, 0.5, 0.5])).toBe(0.5);
    // [1, 0, 0, 0]: mean 0.25 -> 0.75 (the most with 4 samples: 1 - 1/4)
    expect(informativeness([1, 0, 0, 0])).toBe(0.75);
    // [1, 1, 0, 0]: mean 0.5 -> 0.5
    expect(informativeness([1, 1, 0, 0])).toBe(0.5);
    // all equal -> 0, also where the float mean of equal values rounds above them
    expect(informativeness([1, 1, 1, 1])).toBe(0);
    expect(informativeness([0, 0, 0, 0])).toBe(0);
    expect(informativeness([0.1, 0.1, 0.1])).toBe(0);
    expect(informativeness([])).toBe(0);
  });

  it('lies in [0, 1 - 1/n] (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 16 }), (scores) => {
        const v = informativeness(scores);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1 - 1 / scores.length + 1e-12);
      }),
    );
  });
});

describe('task families', () => {
  const score = (family: string, answer: string, truth: string) => FAMILIES[family].score(answer, truth);

  it('sum scores exact whole numbers, ignoring separators and a final period', () => {
    const table: [string, string, number][] = [
      ['1234', '1234', 1],
      ['1,234', '1234', 1],
      ['= 1 234.', '1234', 1],
      ['$1234$', '1234', 1],
      ['1235', '1234', 0],
      ['12.34', '1234', 0],
      ['one thousand', '1234', 0],
      ['', '1234', 0],
    ];
    for (const [answer, truth, expected] of table) expect(score('sum', answer, truth), answer).toBe(expected);
  });

  it('sort gives the share of positions right, out of the longer list', () => {
    const truth = '1, 3, 5, 9';
    const table: [string, number][] = [
      ['1, 3, 5, 9', 1],
      ['[1,3,5,9]', 1],
      ['1 3 5 9', 1],
      ['1, 5, 3, 9', 0.5], // positions 1 and 4 right: 2/4
      ['1, 3, 5', 0.75], // 3 right of max(3, 4) = 4
      ['1, 3, 5, 9, 9', 0.8], // 4 right of max(5, 4) = 5
      ['9, 5, 3, 1', 0],
      ['one, three', 0],
      ['1, 3, x, 9', 0], // unreadable
      ['', 0],
    ];
    for (const [answer, expected] of table) expect(score('sort', answer, truth), answer).toBe(expected);
  });

  it('count-letter and gcd score exact whole numbers', () => {
    expect(score('count-letter', '3', '3')).toBe(1);
    expect(score('count-letter', ' 3. ', '3')).toBe(1);
    expect(score('count-letter', '4', '3')).toBe(0);
    expect(score('count-letter', 'three', '3')).toBe(0);
    expect(score('gcd', '12', '12')).toBe(1);
    expect(score('gcd', '6', '12')).toBe(0);
    expect(score('gcd', 'gcd = 12', '12')).toBe(0);
  });

  it('reads whole numbers and lists', () => {
    expect(readInteger('-42')).toBe(-42);
    expect(readInteger('1_000_000')).toBe(1000000);
    expect(readInteger('1e3')).toBeNull();
    expect(readList('[3, 1; 2]')).toEqual([3, 1, 2]);
    expect(readList('3, 1.5')).toBeNull();
  });

  it('solves rendered questions from their text, by hand', () => {
    // 12 + 30 + 7 = 49; three terms, at most two digits
    expect(solveFromText('What is 12 + 30 + 7?')).toMatchObject({ answer: '49', params: { terms: 3, digits: 2 } });
    expect(solveFromText('Sort these numbers in ascending order: 5, 3, 9. Answer with the sorted numbers as a comma-separated list.')).toMatchObject({
      answer: '3, 5, 9',
      params: { length: 3, digits: 1 },
    });
    // s-t-r-a-w-b-e-r-r-y: r at 3, 8, 9
    expect(solveFromText('How many times does the letter "r" appear in "strawberry"?')).toMatchObject({ answer: '3', params: { length: 10 } });
    // 84 = 2^2 * 3 * 7, 36 = 2^2 * 3^2 -> 12
    expect(solveFromText('What is the greatest common divisor of 84 and 36?')).toMatchObject({ answer: '12', params: { digits: 2 } });
    expect(solveFromText('What is the capital of France?')).toBeNull();
  });

  const paramsOf = (family: TaskFamily) => fc.tuple(...family.params.map((s) => fc.integer({ min: s.min, max: s.max }))).map((values) => Object.fromEntries(family.params.map((s, i) => [s.name, values[i]])));

  it('renders tasks whose text gives back the truth and the parameters (fast-check)', () => {
    for (const family of Object.values(FAMILIES)) {
      fc.assert(
        fc.property(paramsOf(family), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (params, seed) => {
          const task = family.render(params, new Rng(seed));
          const solved = solveFromText(task.prompt);
          expect(solved?.family.name).toBe(family.name);
          expect(solved?.answer).toBe(task.truth);
          expect(solved?.params).toEqual(params);
          expect(family.score(task.truth, task.truth)).toBe(1);
          const d = family.difficulty(params);
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(1);
        }),
        { numRuns: 60 },
      );
    }
  });

  it('mutates within bounds, changing at most one parameter (fast-check)', () => {
    for (const family of Object.values(FAMILIES)) {
      fc.assert(
        fc.property(paramsOf(family), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (params, seed) => {
          const child = family.mutate(params, new Rng(seed));
          expect(withinBounds(family.params, child)).toBe(true);
          expect(family.params.filter((s) => child[s.name] !== params[s.name]).length).toBeLessThanOrEqual(1);
        }),
        { numRuns: 100 },
      );
      // even from out-of-bounds or missing parameters
      fc.assert(
        fc.property(fc.dictionary(fc.constantFrom(...family.params.map((s) => s.name)), fc.integer({ min: -1000, max: 1000 })), fc.integer({ min: 0, max: 1000 }), (params, seed) => {
          expect(withinBounds(family.params, family.mutate(params, new Rng(seed)))).toBe(true);
        }),
        { numRuns: 50 },
      );
    }
  });

  it('has step, jump and resample operators', () => {
    const spec = { name: 'x', min: 2, max: 10, meaning: '' };
    expect(MUTATIONS['step-up'](5, spec, new Rng(0))).toBe(6);
    expect(MUTATIONS['step-down'](5, spec, new Rng(0))).toBe(4);
    // a jump moves a quarter of the range (8 / 4 = 2) either way
    expect([3, 7]).toContain(MUTATIONS.jump(5, spec, new Rng(0)));
    const r = MUTATIONS.resample(5, spec, new Rng(3));
    expect(r >= 2 && r <= 10).toBe(true);
    // clamping: missing names from the fallback, out of range to the bounds
    expect(clampParams(FAMILIES.sum.params, { terms: 99 }, { terms: 4, digits: 3 })).toEqual({ terms: 10, digits: 3 });
  });

  it('corrupts answers into wrong ones (a wrong digit, a swapped pair, off by one)', () => {
    for (let seed = 0; seed < 30; seed++) {
      const rng = new Rng(seed);
      expect(FAMILIES.sum.score(FAMILIES.sum.corrupt('5079', rng), '5079')).toBe(0);
      expect(FAMILIES.gcd.score(FAMILIES.gcd.corrupt('12', rng), '12')).toBe(0);
      expect(FAMILIES['count-letter'].score(FAMILIES['count-letter'].corrupt('0', rng), '0')).toBe(0);
      // two neighbours swapped: 2 of 4 positions wrong
      expect(FAMILIES.sort.score(FAMILIES.sort.corrupt('1, 3, 5, 9', rng), '1, 3, 5, 9')).toBe(0.5);
    }
  });
});

describe('the pool', () => {
  it('draws in proportion to the weights, exactly', () => {
    // cumulative 0.125, 0.625, 0.875, 1
    const w = [0.125, 0.5, 0.25, 0.125];
    expect([0, 0.1, 0.125, 0.6, 0.625, 0.7, 0.875, 0.999].map((u) => proportionalIndex(w, u))).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    // weight 0 is never drawn; all 0 is uniform
    expect(proportionalIndex([0, 1], 0)).toBe(1);
    expect([0, 0.3, 0.6, 0.9].map((u) => proportionalIndex([0, 0, 0], u))).toEqual([0, 0, 1, 2]);
    expect(() => proportionalIndex([], 0.5)).toThrow(RangeError);
  });

  it('selects a parent with probability informativeness + epsilon', () => {
    // weights 0 + 0.05, 0.5 + 0.05, 0.2 + 0.05: total 0.85; cumulative 0.05, 0.6, 0.85
    const pool = [entry('sum', { terms: 4, digits: 3 }, 0), entry('gcd', { digits: 3 }, 0.5), entry('sort', { length: 8, digits: 2 }, 0.2)];
    // u = 0.05 -> target 0.0425 < 0.05: the unmeasured first entry
    expect(selectParent(pool, 0.05, fixedRng(0.05)).family).toBe('sum');
    // u = 0.06 -> 0.051: the second
    expect(selectParent(pool, 0.05, fixedRng(0.06)).family).toBe('gcd');
    // u = 0.71 -> 0.6035: the third
    expect(selectParent(pool, 0.05, fixedRng(0.71)).family).toBe('sort');
    // and in frequency, over many draws of a real generator
    const rng = new Rng(11);
    const counts = [0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[['sum', 'gcd', 'sort'].indexOf(selectParent(pool, 0.05, rng).family)]++;
    expect(counts[0] / 20_000).toBeCloseTo(0.05 / 0.85, 1);
    expect(counts[1] / 20_000).toBeCloseTo(0.55 / 0.85, 1);
    expect(counts[2] / 20_000).toBeCloseTo(0.25 / 0.85, 1);
  });

  it('keeps a running mean for a prompt measured again', () => {
    const pool = [entry('gcd', { digits: 3 }, 0, 0, -1), entry('sum', { terms: 4, digits: 3 }, 0.5, 1, 1)];
    // an unmeasured entry takes its first measurement
    const a = addToPool(pool, { family: 'gcd', params: { digits: 3 }, informativeness: 0.4 }, 4, 2);
    expect(a[0]).toEqual(entry('gcd', { digits: 3 }, 0.4, 1, 2));
    // (0.5 + 0.25) / 2 = 0.375; key order does not matter
    const b = addToPool(a, { family: 'sum', params: { digits: 3, terms: 4 }, informativeness: 0.25 }, 4, 3);
    expect(b[1]).toEqual(entry('sum', { terms: 4, digits: 3 }, 0.375, 2, 3));
    expect(b).toHaveLength(2);
  });

  it('evicts the least informative entry, the least recently measured among equals', () => {
    const pool = [entry('sum', { terms: 2, digits: 1 }, 0, 0, -1), entry('gcd', { digits: 5 }, 0.6, 1, 1), entry('sort', { length: 9, digits: 2 }, 0, 1, 2)];
    // over capacity 3: the two at 0 tie, the initial one (updated -1) goes
    const a = addToPool(pool, { family: 'gcd', params: { digits: 6 }, informativeness: 0.3 }, 3, 3);
    expect(a.map((e) => `${e.family}:${e.informativeness}`)).toEqual(['gcd:0.6', 'sort:0', 'gcd:0.3']);
    // a child less informative than all is evicted itself
    const b = addToPool([entry('gcd', { digits: 5 }, 0.6), entry('gcd', { digits: 6 }, 0.3)], { family: 'sum', params: { terms: 3, digits: 2 }, informativeness: 0.1 }, 2, 4);
    expect(b.map((e) => e.params)).toEqual([{ digits: 5 }, { digits: 6 }]);
    // capacity 1 keeps the best
    expect(addToPool(b, { family: 'sum', params: { terms: 3, digits: 2 }, informativeness: 0.7 }, 1, 5).map((e) => e.informativeness)).toEqual([0.7]);
  });
});

describe('a creator-solver match', () => {
  const sortParent = entry('sort', { length: 2, digits: 1 }, 0.25);
  const game = creatorSolverGame({ family: FAMILIES.sort, parent: sortParent, samples: 4, seed: 7 });
  const play = (actions: readonly CreatorSolverAction[]) => actions.reduce((s, a) => game.apply(s, a), game.initial());

  it('seats the creator then the solvers, and shows each only its role input', () => {
    const s0 = game.initial();
    expect(game.seats).toBe(5);
    expect(game.turn(s0)).toBe(0);
    expect(game.openTurn?.(s0)).toBe(true);
    expect(game.legalActions(s0)).toEqual([]);
    expect(game.observe(s0, 0)).toEqual({
      family: 'sort',
      description: FAMILIES.sort.description,
      params: { length: 2, digits: 1 },
      bounds: { length: [2, 30], digits: [1, 3] },
      informativeness: 0.25,
    });
    expect(game.observe(s0, 2)).toEqual({ question: '' });
    const s1 = game.apply(s0, { params: { length: 4 } });
    expect(game.turn(s1)).toBe(1);
    const question = (game.observe(s1, 3) as { question: string }).question;
    expect(question).toMatch(/^Sort these numbers in ascending order: \d, \d, \d, \d\. /);
    expect(Object.keys(game.observe(s1, 3) as object)).toEqual(['question']);
    expect(game.infoKey(s1, 1)).not.toBe(game.infoKey(s1, 0));
    expect(game.params).toMatchObject({ family: 'sort', parent: 'length=2,digits=1', parentInformativeness: 0.25, samples: 4 });
  });

  it('pays each solver its score and the creator best minus mean, by hand', () => {
    const s1 = game.apply(game.initial(), { params: { length: 4 } });
    expect(s1.child).toMatchObject({ params: { length: 4, digits: 1 }, valid: true, clamped: false });
    const truth = readList(s1.child!.truth)!;
    const firstTwo = `${truth[0]}, ${truth[1]}`;
    // scores: right 1, malformed 0, two of four positions 2/4 = 0.5, again 0.5
    // creator: best 1 - mean (1 + 0 + 0.5 + 0.5) / 4 = 0.5
    const end = play([{ params: { length: 4 } }, { answer: truth.join(', ') }, { malformed: 'no \\boxed{}' }, { answer: firstTwo }, { answer: firstTwo }]);
    expect(game.turn(end)).toBe('terminal');
    expect(game.returns(end)).toEqual([0.5, 1, 0, 0.5, 0.5]);
    expect(game.history(end)).toHaveLength(5);
    expect(() => game.apply(end, { answer: '1' })).toThrow(IllegalActionError);
    // everyone right: informativeness 0
    const all = play([{ params: { length: 4 } }, ...Array.from({ length: 4 }, () => ({ answer: truth.join(', ') }))]);
    expect(game.returns(all)).toEqual([0, 1, 1, 1, 1]);
  });

  it('clamps out-of-bounds proposals and keeps missing parameters from the parent', () => {
    expect(resolveProposal(FAMILIES.sum, { terms: 4, digits: 3 }, { params: { terms: 99 } })).toEqual({ params: { terms: 10, digits: 3 }, valid: true, clamped: true });
    expect(resolveProposal(FAMILIES.sum, { terms: 4, digits: 3 }, { params: { digits: 0, terms: 5 } })).toEqual({ params: { terms: 5, digits: 1 }, valid: true, clamped: true });
    expect(resolveProposal(FAMILIES.sum, { terms: 4, digits: 3 }, { params: { digits: 5 } })).toEqual({ params: { terms: 4, digits: 5 }, valid: true, clamped: false });
  });

  it('plays the parent and pays the creator 0 for a malformed or unknown-parameter proposal', () => {
    const unknown = resolveProposal(FAMILIES.sum, { terms: 4, digits: 3 }, { params: { terms: 5, size: 3 } });
    expect(unknown).toMatchObject({ params: { terms: 4, digits: 3 }, valid: false });
    expect(unknown.reason).toMatch(/no parameter size/);
    for (const proposal of [{ malformed: 'no json' }, { params: { width: 3 } }]) {
      const s1 = game.apply(game.initial(), proposal);
      expect(s1.child).toMatchObject({ params: { length: 2, digits: 1 }, valid: false });
      const truth = s1.child!.truth;
      // solvers [1, 0, 0, 0] would make 0.75, but the proposal was not used
      const end = [{ answer: truth }, { answer: 'x' }, { answer: 'x' }, { answer: 'x' }].reduce((s, a) => game.apply(s, a), s1);
      expect(game.returns(end)).toEqual([0, 1, 0, 0, 0]);
    }
  });

  it('reads replies as JSON, malformed as data, wrong shapes as ParseError', () => {
    const s0 = game.initial();
    expect(game.parseAction(s0, '{"params":{"length":5}}')).toEqual({ params: { length: 5 } });
    expect(game.parseAction(s0, '{"malformed":"no json block"}')).toEqual({ malformed: 'no json block' });
    expect(() => game.parseAction(s0, 'length 5')).toThrow(ParseError);
    expect(() => game.parseAction(s0, '{"params":{"length":5.5}}')).toThrow(ParseError);
    expect(() => game.parseAction(s0, '{"params":{"length":5},"why":"x"}')).toThrow(ParseError);
    expect(() => game.parseAction(s0, '{"answer":"5"}')).toThrow(ParseError);
    const s1 = game.apply(s0, { params: { length: 5 } });
    expect(game.parseAction(s1, '{"answer":"1, 2"}')).toEqual({ answer: '1, 2' });
    expect(() => game.parseAction(s1, '{"answer":5}')).toThrow(ParseError);
    expect(() => game.parseAction(s1, '{"params":{"length":5}}')).toThrow(ParseError);
    expect(game.actionText(s1, { answer: '1, 2' })).toBe('{"answer":"1, 2"}');
    expect(() => game.apply(s0, { answer: '5' } as CreatorSolverAction)).toThrow(IllegalActionError);
  });
});

describe('the scripted agents', () => {
  it('the creator applies one mutation within bounds', () => {
    for (let seed = 0; seed < 20; seed++) {
      const out = scriptedCreator({ family: 'sum', description: '', params: { terms: 4, digits: 3 }, informativeness: 0 }, new Rng(seed));
      expect(withinBounds(FAMILIES.sum.params, out.params)).toBe(true);
    }
  });

  it('the solver is always right at difficulty 0, always wrong at 1, and sometimes right between', () => {
    const rng = new Rng(5);
    // terms 2, digits 1: difficulty 0
    const easy = Array.from({ length: 50 }, () => scriptedSolver({ question: 'What is 3 + 4?' }, rng).answer);
    expect(new Set(easy)).toEqual(new Set(['7']));
    // terms 10, digits 9: difficulty 1
    const hardQuestion = FAMILIES.sum.render({ terms: 10, digits: 9 }, new Rng(1));
    const hard = Array.from({ length: 50 }, () => FAMILIES.sum.score(scriptedSolver({ question: hardQuestion.prompt }, rng).answer, hardQuestion.truth));
    expect(mean(hard)).toBe(0);
    // gcd digits 5: difficulty 0.5
    const mid = FAMILIES.gcd.render({ digits: 5 }, new Rng(2));
    const right = mean(Array.from({ length: 400 }, () => FAMILIES.gcd.score(scriptedSolver({ question: mid.prompt }, rng).answer, mid.truth)));
    expect(right).toBeGreaterThan(0.4);
    expect(right).toBeLessThan(0.6);
    expect(scriptedSolver({ question: 'Why?' }, rng).answer).toBe('I do not know');
  });
});

describe('recording matches', () => {
  it('adds the child to the pool and exports the best and worst readable responses', () => {
    const env = createCreatorSolver({ families: ['sort'] });
    const game = env.nextGame(new Rng(3));
    expect(env.pool()).toEqual([entry('sort', { length: 8, digits: 2 }, 0, 0, -1)]);
    const s1 = game.apply(game.initial(), { params: { length: 4, digits: 1 } });
    const question = (game.observe(s1, 1) as { question: string }).question;
    const truth = solveFromText(question)!.answer;
    const list = readList(truth)!;
    const half = `${list[0]}, ${list[1]}`;
    const history = [{ params: { length: 4, digits: 1 } }, { answer: half }, { malformed: 'no box' }, { answer: truth }, { answer: half }];
    const end = history.reduce((s, a) => game.apply(s, a), game.initial());
    // [0.5, 0, 1, 0.5]: mean 0.5, creator 1 - 0.5 = 0.5
    expect(game.returns(end)).toEqual([0.5, 0.5, 0, 1, 0.5]);
    env.record({ game, history, returns: game.returns(end), outcome: 'normal' });
    expect(env.pool()).toEqual([entry('sort', { length: 8, digits: 2 }, 0, 0, -1), entry('sort', { length: 4, digits: 1 }, 0.5, 1, 1)]);
    // the malformed reply (score 0) has no text: the worst readable one is half right
    expect(env.preferencePairs()).toEqual([{ prompt: question, chosen: truth, rejected: half, chosenReward: 1, rejectedReward: 0.5, family: 'sort' }]);
    expect(env.stats()).toMatchObject({ matches: 1, pool: 2, meanInformativeness: 0.25, maxInformativeness: 0.5, best: 'sort:digits=1,length=4', pairs: 1, invalidProposals: 0 });
    // a forfeited match changes nothing
    env.record({ game, history: history.slice(0, 2), returns: [0, 0, 0, 0, 0], outcome: 'forfeit' });
    expect(env.stats()).toMatchObject({ matches: 1, pairs: 1 });
  });

  it('counts an unusable proposal without adding it, and makes no pair when all score the same', () => {
    const env = createCreatorSolver({ families: ['gcd'], samples: 2 });
    const game = env.nextGame(new Rng(0));
    const history = [{ malformed: 'no json' }, { answer: '1' }, { answer: '1' }];
    const end = history.reduce((s, a) => game.apply(s, a), game.initial());
    env.record({ game, history, returns: game.returns(end), outcome: 'normal' });
    expect(env.pool()).toHaveLength(1);
    expect(env.stats()).toMatchObject({ matches: 1, invalidProposals: 1, pairs: 0 });
  });

  it('makes pairs only from two readable responses that differ in reward', () => {
    expect(preferencePair('q', 'sum', [{ text: '1', reward: 1 }, { text: null, reward: 0 }])).toBeNull();
    expect(preferencePair('q', 'sum', [{ text: '1', reward: 0.5 }, { text: '2', reward: 0.5 }])).toBeNull();
    expect(preferencePair('q', 'sum', [{ text: 'a', reward: 0.2 }, { text: 'b', reward: 1 }, { text: 'c', reward: 0 }, { text: 'd', reward: 1 }])).toEqual({
      prompt: 'q',
      chosen: 'b',
      rejected: 'c',
      chosenReward: 1,
      rejectedReward: 0,
      family: 'sum',
    });
  });

  it('writes pairs as JSONL with prompt, chosen and rejected, and reads them back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'creator-solver-'));
    try {
      const file = join(dir, 'pairs.jsonl');
      const pairs: PreferencePair[] = [
        { prompt: 'What is 2 + 2?', chosen: '4', rejected: '5', chosenReward: 1, rejectedReward: 0, family: 'sum' },
        { prompt: 'Sort these numbers in ascending order: 3, 1.\n"quoted"', chosen: '1, 3', rejected: '3, 1', chosenReward: 1, rejectedReward: 0, family: 'sort' },
      ];
      writePreferencePairs(file, pairs);
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(Object.keys(JSON.parse(lines[0]))).toEqual(['prompt', 'chosen', 'rejected', 'chosenReward', 'rejectedReward', 'family']);
      expect(readPreferencePairs(file)).toEqual(pairs);
      writePreferencePairs(file, []);
      expect(readFileSync(file, 'utf8')).toBe('');
      expect(readPreferencePairs(file)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the registry entry', () => {
  it('is registered and reads its options', async () => {
    // imported here, so that the other environments' modules load only for this test
    const { environments } = await import('../../environments/index.ts');
    expect(environments['creator-solver']).toBe(creatorSolverEntry);
    const env = await creatorSolverEntry.create({ samples: '3', pool_size: '5', epsilon: '0.1', families: 'sum, gcd' });
    expect(env.roles).toEqual(['creator', 'solver', 'solver', 'solver']);
    expect(env.stats()).toMatchObject({ pool: 2 });
    expect((await creatorSolverEntry.create({})).roles).toHaveLength(5);
    expect(() => creatorSolverEntry.create({ samples: '1' })).toThrow(ConfigError);
    expect(() => creatorSolverEntry.create({ pool: '3' })).toThrow(ConfigError);
    expect(() => creatorSolverEntry.create({ families: 'sum,nope' })).toThrow(ConfigError);
    expect(() => createCreatorSolver({ epsilon: 0 })).toThrow(ConfigError);
    expect(() => createCreatorSolver({ families: [] })).toThrow(ConfigError);
  });
});

describe('end to end', () => {
  it('runs scripted matches and drifts the pool to informative tasks', async () => {
    // the scripted solver is right with probability 1 - d, so a task of difficulty d is
    // worth about 1 - d^4 - (1 - d) with 4 samples: 0.25 at the start (d about 0.25), most near d = 0.63
    const expected = (env: CreatorSolverEnvironment) => mean(env.pool().map((e) => { const d = FAMILIES[e.family].difficulty(e.params); return 1 - d ** 4 - (1 - d); }));
    const env = createCreatorSolver();
    const start = expected(env);
    expect(env.stats().meanInformativeness).toBe(0);
    const episodes = await runAll(env, 200, 0);
    expect(episodes).toHaveLength(200);
    for (const episode of episodes) {
      expect(episode.outcome).toBe('normal');
      expect(episode.steps.map((s) => s.role)).toEqual(['creator', 'solver', 'solver', 'solver', 'solver']);
      for (const r of episode.returns) expect(r >= 0 && r <= 1).toBe(true);
      expect(episode.returns[0]).toBeCloseTo(informativeness(episode.returns.slice(1)), 12);
    }
    const stats = env.stats();
    expect(stats.matches).toBe(200);
    expect(stats.pool).toBe(32);
    expect(stats.pairs).toBe(env.preferencePairs().length);
    expect(stats.pairs).toBeGreaterThan(50);
    for (const pair of env.preferencePairs()) expect(pair.chosenReward).toBeGreaterThan(pair.rejectedReward);
    // the pool keeps the informative prompts: above its start (0) and above the average child
    expect(stats.meanInformativeness as number).toBeGreaterThan(mean(episodes.map((e) => e.returns[0])));
    // and has drifted to intermediate difficulty, well beyond where uniform selection without eviction gets
    const control = createCreatorSolver({ epsilon: 10, poolSize: 100_000 });
    await runAll(control, 200, 0);
    expect(expected(env)).toBeGreaterThan(start + 0.1);
    expect(expected(env)).toBeGreaterThan(expected(control) + 0.05);
  });

  it('replays a seed exactly', async () => {
    const a = await runAll(createCreatorSolver(), 10, 42);
    const b = await runAll(createCreatorSolver(), 10, 42);
    expect(a.map((e) => e.history)).toEqual(b.map((e) => e.history));
  });

  it('runs with language-model roles against the stub', async () => {
    const stub = await startLlmStub({ seed: 4 });
    try {
      const spec = `llm:model=stub,base=${stub.url},retries=0`;
      // a model solver with the scripted creator
      const env = createCreatorSolver({ samples: 3 });
      const episodes = await runAll(env, 4, 1, { solver: spec });
      for (const episode of episodes) {
        expect(episode.outcome).toBe('normal');
        expect(episode.steps.map((s) => s.role)).toEqual(['creator', 'solver', 'solver', 'solver']);
        for (const step of episode.steps.slice(1)) {
          const output = JSON.parse(step.action);
          expect(isMalformed(output) || typeof output.answer === 'string').toBe(true);
        }
        for (const r of episode.returns) expect(r >= 0 && r <= 1).toBe(true);
      }
      expect(env.stats().matches).toBe(4);
      // both roles from the model: a creator reply the role cannot read is malformed and earns 0
      const both = createCreatorSolver({ samples: 2 });
      const episodes2 = await runAll(both, 2, 2, { creator: spec, solver: spec });
      for (const episode of episodes2) {
        expect(episode.outcome).toBe('normal');
        const proposal = JSON.parse(episode.steps[0].action);
        expect(isMalformed(proposal) || typeof proposal.params === 'object').toBe(true);
        if (isMalformed(proposal)) expect(episode.returns[0]).toBe(0);
      }
      expect(both.stats().matches).toBe(2);
      expect(stub.stats.requests).toBe(4 * 3 + 2 * 3);
    } finally {
      await stub.close();
    }
  });
});
