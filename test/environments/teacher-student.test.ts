import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { environmentPlayers } from '../../agents/environment.ts';
import { startLlmStub } from '../../agents/llm/stub/server.ts';
import { teacher } from '../../agents/roles/index.ts';
import {
  checkPair,
  createTeacherStudent,
  generateProblem,
  heldOutSet,
  PromotionTracker,
  readAnswer,
  readQuestion,
  SimulatedStudent,
  SKILLS,
  teacherStudentEntry,
  type TeacherAction,
  type TeacherState,
  type TeacherStudentOptions,
} from '../../environments/teacher-student/index.ts';
import { ConfigError, ParseError, Rng, type Game } from '../../src/core/index.ts';
import { episodeSchema } from '../../src/episodes/schema.ts';
import { runEnvironment } from '../../src/runtime/index.ts';

const close = (actual: number, expected: number) => expect(actual).toBeCloseTo(expected, 10);

describe('the simulated student', () => {
  // One skill, two levels: mastery [0.8, 0.2], learning rate 0.5, transfer 0.25, wrong penalty 0.5.
  const make = () => new SimulatedStudent({ mastery: { arithmetic: [0.8, 0.2] }, learningRate: 0.5, transfer: 0.25, wrongPenalty: 0.5 });
  const pair = (level: number, correct: boolean, skill: 'arithmetic' | 'linear' = 'arithmetic') => ({ question: 'q', answer: 'a', skill, level, correct });

  it('follows the update rule, worked out by hand', () => {
    const s = make();
    expect(s.levels).toBe(2);
    // Correct pair at level 2: ready = m1 = 0.8; gain = 0.5 * 0.8 * (1 - 0.2) = 0.32 -> m2 = 0.52;
    // level 1 gets 0.25 * 0.32 = 0.08 -> m1 = 0.88.
    s.step(pair(2, true));
    close(s.masteryAt('arithmetic', 1), 0.88);
    close(s.masteryAt('arithmetic', 2), 0.52);
    // Correct pair at level 1: ready = 1; gain = 0.5 * 1 * (1 - 0.88) = 0.06 -> m1 = 0.94; m2 += 0.015 -> 0.535.
    s.step(pair(1, true));
    close(s.masteryAt('arithmetic', 1), 0.94);
    close(s.masteryAt('arithmetic', 2), 0.535);
    // Wrong answer at level 2: m2 *= 1 - 0.5 * 0.5 -> 0.535 * 0.75 = 0.40125; level 1 untouched.
    s.step(pair(2, false));
    close(s.masteryAt('arithmetic', 1), 0.94);
    close(s.masteryAt('arithmetic', 2), 0.40125);
    // Unknown skill, or a level out of range: nothing changes.
    s.step(pair(1, true, 'linear'));
    s.step(pair(3, true));
    expect(Object.keys(s.describe())).toEqual(['arithmetic.1', 'arithmetic.2']);
    close(s.describe()['arithmetic.1'], 0.94);
    close(s.describe()['arithmetic.2'], 0.40125);
    // Expected accuracy: mean mastery over the set = (0.94 + 0.40125 + 0.40125) / 3 = 1.7425 / 3; unknown skill counts 0.
    close(s.accuracy([{ skill: 'arithmetic', level: 1 }, { skill: 'arithmetic', level: 2 }, { skill: 'arithmetic', level: 2 }] as never), 1.7425 / 3);
    close(s.accuracy([{ skill: 'arithmetic', level: 1 }, { skill: 'linear', level: 1 }] as never), 0.47);
    expect(s.accuracy([])).toBe(0);
  });

  it('cycles through the pairs for k steps, and a clone is independent', () => {
    const s = make();
    const c = s.clone();
    // Steps: L2, L1, L2. After two steps [0.94, 0.535] (as above); third step at level 2:
    // gain = 0.5 * 0.94 * (1 - 0.535) = 0.21855 -> m2 = 0.75355; m1 += 0.25 * 0.21855 = 0.0546375 -> 0.9946375.
    c.train([pair(2, true), pair(1, true)], 3, new Rng(0));
    close(c.masteryAt('arithmetic', 1), 0.9946375);
    close(c.masteryAt('arithmetic', 2), 0.75355);
    expect(s.describe()).toEqual({ 'arithmetic.1': 0.8, 'arithmetic.2': 0.2 });
    c.train([], 5, new Rng(0));
    close(c.masteryAt('arithmetic', 2), 0.75355);
  });

  it('caps mastery at 1 and gains most just above what it masters (zone of proximal development)', () => {
    const s = new SimulatedStudent({ mastery: { arithmetic: [0.99, 0.9] }, learningRate: 1, transfer: 1 });
    // gain = 1 * 0.99 * 0.1 = 0.099 -> m2 = 0.999; m1 = min(1, 0.99 + 0.099) = 1.
    s.step(pair(2, true));
    close(s.masteryAt('arithmetic', 2), 0.999);
    expect(s.masteryAt('arithmetic', 1)).toBe(1);
    // Three levels [0.9, 0.1, 0]: a level-2 pair gains 0.5*0.9*0.9 = 0.405, a level-3 pair only 0.5*0.1*1 = 0.05.
    const gainAt = (level: number) => {
      const t = new SimulatedStudent({ mastery: { linear: [0.9, 0.1, 0] }, learningRate: 0.5, transfer: 0 });
      const before = t.masteryAt('linear', level);
      t.step(pair(level, true, 'linear'));
      return t.masteryAt('linear', level) - before;
    };
    close(gainAt(2), 0.405);
    close(gainAt(3), 0.05);
    close(gainAt(1), 0.05);
  });

  it('keeps mastery in [0, 1]; correct pairs never lower it, wrong ones never raise it', () => {
    const pairs = fc.array(fc.record({ level: fc.integer({ min: 1, max: 3 }), correct: fc.boolean() }), { maxLength: 30 });
    fc.assert(
      fc.property(pairs, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 3, maxLength: 3 }), fc.double({ min: 0, max: 1, noNaN: true }), (steps, start, rate) => {
        const s = new SimulatedStudent({ mastery: { arithmetic: start }, learningRate: rate, transfer: 0.5, wrongPenalty: 1 });
        for (const step of steps) {
          const before = Object.values(s.describe());
          s.step(pair(step.level, step.correct));
          const after = Object.values(s.describe());
          after.forEach((m, i) => {
            expect(m).toBeGreaterThanOrEqual(0);
            expect(m).toBeLessThanOrEqual(1);
            if (step.correct) expect(m).toBeGreaterThanOrEqual(before[i]);
            else expect(m).toBeLessThanOrEqual(before[i]);
          });
        }
      }),
      { numRuns: 150 },
    );
  });

  it('rejects bad settings', () => {
    expect(() => new SimulatedStudent({ mastery: { arithmetic: [0.5, 1.5] } })).toThrow(RangeError);
    expect(() => new SimulatedStudent({ levels: 3, mastery: { arithmetic: [0.5, 0.5] } })).toThrow(RangeError);
    expect(() => new SimulatedStudent({ learningRate: 2 })).toThrow(RangeError);
    expect(new SimulatedStudent().describe()['linear.5']).toBeCloseTo(0.95 * 0.55 ** 4, 12);
  });
});

describe('the checker', () => {
  const table: [string, string, string][] = [
    // question, teacher answer, expected verdict: status skill level expected-answer
    ['What is 37 + 48 * 2?', '133', 'correct arithmetic 2 133'],
    ['What is 37 + 48 * 2?', '170', 'wrong arithmetic 2 133'],
    ['what is (3 + 4) * 5', ' 35 ', 'correct arithmetic 2 35'],
    ['Compute 10 - 4 - 3.', '3', 'correct arithmetic 2 3'],
    ['What is 7 × 6?', '\\boxed{42}', 'correct arithmetic 1 42'],
    ['What is 2 - 9?', '-7', 'correct arithmetic 1 -7'],
    ['What is 1 + 1 + 1 + 1 + 1 + 1 + 1?', '7', 'correct arithmetic 5 7'], // 6 operators, capped at level 5
    ['Solve for x: 3x + 7 = 22', '5', 'correct linear 1 5'],
    ['Solve for x: 3x + 7 = 22', 'x = 5', 'correct linear 1 5'],
    ['solve for x: 2*x = 6.', '3.', 'correct linear 1 3'],
    ['Solve for x: 3x + 7 = x + 15', '4', 'correct linear 2 4'],
    ['Solve for x: -x + 4 = 2x - 5', '3', 'correct linear 2 3'],
    ['Solve for x: 3x - 19 + 3x = 2x + 13', '8', 'correct linear 3 8'],
    ['Solve for x: 3x + 7 = 22', 'five', 'wrong linear 1 5'],
    ['Solve for x: 3x + 7 = 22', '5.5', 'wrong linear 1 5'],
    ['Solve for x: x + 0 = 0', '0', 'correct linear 1 0'],
    ['Solve for x: 2x = 7', '3.5', 'unverifiable'], // not a whole number
    ['Solve for x: x + 1 = x + 2', '0', 'unverifiable'], // no solution
    ['Solve for x: 2x = 2x', '1', 'unverifiable'], // every x
    ['Solve for x: 3(x + 2) = 15', '3', 'unverifiable'],
    ['Solve for x: 3x + = 7', '2', 'unverifiable'],
    ['Solve for x: 3x + 7', '5', 'unverifiable'],
    ['What is 7?', '7', 'unverifiable'],
    ['What is 2 + ?', '2', 'unverifiable'],
    ['What is (2 + 3', '5', 'unverifiable'],
    ['What is 2 / 4?', '0', 'unverifiable'],
    ['What is 1234567 + 1?', '1234568', 'unverifiable'],
    ['What is the capital of France?', 'Paris', 'unverifiable'],
    ['Write a poem about spring', 'ok', 'unverifiable'],
    ['', '', 'unverifiable'],
  ];
  it.each(table)('%s -> %s', (question, answer, verdict) => {
    const check = checkPair({ question, answer }, 5);
    const text = check.status === 'unverifiable' ? check.status : `${check.status} ${check.skill} ${check.level} ${check.expected}`;
    expect(text).toBe(verdict);
    if (check.status === 'unverifiable') expect(check.reason.length).toBeGreaterThan(0);
  });

  it('reads answers', () => {
    expect([' 17 ', '+17', 'x=17', '\\boxed{ 17 }', '17.'].map(readAnswer)).toEqual([17, 17, 17, 17, 17]);
    expect(['-0', '0'].map(readAnswer)).toEqual([0, 0]);
    expect(['17/1', '1e3', '', 'seventeen', '1,000'].map(readAnswer)).toEqual([null, null, null, null, null]);
  });

  it('reads every generated question back at its skill and level, with its answer', () => {
    fc.assert(
      fc.property(fc.constantFrom(...SKILLS), fc.integer({ min: 1, max: 8 }), fc.integer(), (skill, level, seed) => {
        const problem = generateProblem(skill, level, new Rng(seed));
        expect(readQuestion(problem.question, 8)).toEqual({ readable: true, skill, level, answer: Number(problem.answer) });
        expect(checkPair(problem, 8).status).toBe('correct');
        expect(checkPair({ question: problem.question, answer: String(Number(problem.answer) + 1) }, 8).status).toBe('wrong');
      }),
      { numRuns: 300 },
    );
  });

  it('builds the held-out set round robin over both skills at the top levels', () => {
    const set = heldOutSet(8, 5, 2, 3);
    expect(set.map((p) => `${p.skill}${p.level}`)).toEqual(['arithmetic5', 'arithmetic4', 'linear5', 'linear4', 'arithmetic5', 'arithmetic4', 'linear5', 'linear4']);
    expect(heldOutSet(8, 5, 2, 3)).toEqual(set);
    expect(heldOutSet(8, 5, 2, 4)).not.toEqual(set);
  });
});

/** Two skills, two levels: arithmetic [0.8, 0.2], linear [0.5, 0.1]; learning rate 0.5, transfer 0.25, wrong penalty 0.5. */
const handStudent = () => new SimulatedStudent({ mastery: { arithmetic: [0.8, 0.2], linear: [0.5, 0.1] }, learningRate: 0.5, transfer: 0.25, wrongPenalty: 0.5 });
/** The held-out set is 4 questions at level 2 (2 arithmetic, 2 linear): accuracy = (m_arith2 + m_lin2) / 2; here 0.15. */
const handEnv = (extra: TeacherStudentOptions = {}) => createTeacherStudent({ levels: 2, heldOut: 4, hardLevels: 1, k: 2, student: handStudent(), ...extra });

const GOOD = { pairs: [{ question: 'What is 12 + 30 - 2?', answer: '40' }, { question: 'Solve for x: 2x + 1 = 7', answer: '3' }, { question: 'Write a poem', answer: 'roses' }] };
const WRONG = { pairs: [{ question: 'What is 12 + 30 - 2?', answer: '41' }] };

function play(game: Game<TeacherState, TeacherAction>, text: string): { state: TeacherState; action: TeacherAction } {
  const action = game.parseAction(game.initial(), text);
  return { state: game.apply(game.initial(), action), action };
}

/** Plays one match with a fixed reply and records it. */
function match(env: ReturnType<typeof createTeacherStudent>, reply: unknown, seed = 0) {
  const game = env.nextGame(new Rng(seed)) as Game<TeacherState, TeacherAction>;
  const { state, action } = play(game, JSON.stringify(reply));
  const returns = game.returns(state);
  env.record({ game, history: [action], returns, outcome: 'normal' });
  return { game, state, reward: returns[0] };
}

describe('teacher reward', () => {
  it('is the accuracy gain of a clone trained k steps, worked out by hand', () => {
    const env = handEnv();
    close(env.stats().studentAccuracy as number, 0.15);
    const game = env.nextGame(new Rng(1)) as Game<TeacherState, TeacherAction>;
    expect(game.params).toEqual({ levels: 2, count: 4, k: 2, studentAccuracy: 0.15, generation: 0 });
    const { state } = play(game, JSON.stringify(GOOD));
    // The poem is unverifiable and teaches nothing; k = 2 steps cycle the two readable pairs:
    // arithmetic level 2 (2 operators): gain 0.5 * 0.8 * 0.8 = 0.32 -> m_arith2 = 0.52;
    // linear level 1 (3 terms -> level 1): gain 0.5 * 1 * 0.5 = 0.25 -> m_lin1 = 0.75, m_lin2 = 0.1 + 0.0625 = 0.1625.
    // After: (0.52 + 0.1625) / 2 = 0.34125; reward = 0.34125 - 0.15 = 0.19125.
    close(game.returns(state)[0], 0.19125);
    expect(state.result?.checks.map((c) => c.status)).toEqual(['correct', 'correct', 'unverifiable']);
    close(state.result!.evaluation!.before, 0.15);
    close(state.result!.evaluation!.after, 0.34125);
    expect(game.turn(state)).toBe('terminal');
  });

  it('is negative for wrong answers', () => {
    // A wrong level-2 arithmetic pair, twice: m_arith2 = 0.2 * 0.75 * 0.75 = 0.1125; after = (0.1125 + 0.1) / 2 = 0.10625;
    // reward = 0.10625 - 0.15 = -0.04375.
    close(match(handEnv(), WRONG).reward, -0.04375);
  });

  it('is zero when nothing is readable, and the malformed reward for a malformed reply or no pairs', () => {
    expect(match(handEnv(), { pairs: [{ question: 'Why?', answer: 'because' }] }).reward).toBe(0);
    expect(match(handEnv(), { malformed: 'no <question> tags' }).reward).toBe(-1);
    expect(match(handEnv(), { pairs: [] }).reward).toBe(-1);
    expect(match(handEnv({ malformedReward: -0.5 }), { pairs: [] }).reward).toBe(-0.5);
  });

  it('uses only the first `count` pairs', () => {
    // count 1: only the wrong pair counts, as in the wrong-answer case.
    const { reward, state } = match(handEnv({ count: 1 }), { pairs: [...WRONG.pairs, ...GOOD.pairs] });
    close(reward, -0.04375);
    expect(state.result?.pairs).toHaveLength(1);
  });

  it('reads replies: JSON pairs or {"malformed"}; other shapes are ParseErrors', () => {
    const game = handEnv().nextGame(new Rng(0));
    const s = game.initial();
    expect(game.parseAction(s, '{"malformed": "why"}')).toEqual({ malformed: 'why' });
    expect(game.parseAction(s, JSON.stringify(GOOD))).toEqual(GOOD);
    for (const bad of ['not json', '{"pairs": "x"}', '{"pairs": [{"question": 1, "answer": "2"}]}', '{"pairs": [{"question": "q"}]}', '[]', '{}', 'null']) {
      expect(() => game.parseAction(s, bad), bad).toThrow(ParseError);
    }
    expect(game.openTurn?.(s)).toBe(true);
    expect(game.legalActions(s)).toEqual([]);
    const done = game.apply(s, { malformed: 'x' });
    expect(() => game.apply(done, { malformed: 'x' })).toThrow(/already/);
    expect(game.history(done)).toEqual([{ malformed: 'x' }]);
  });

  it('shows the teacher exactly its role input', () => {
    const env = handEnv();
    const game = env.nextGame(new Rng(0));
    const input = game.observe(game.initial(), 0);
    expect(Object.keys(input as object).sort()).toEqual(['count', 'topic']);
    expect(input).toMatchObject({ count: 4 });
    const prompt = teacher().prompt(input as never)[1].content;
    expect(prompt).toContain('Solve for x: 3x + 7 = x + 15');
    expect(game.observationText(game.initial(), 0)).toMatch(/^Topic: .*\nWrite 4 question\/answer pairs\.$/s);
  });
});

describe('promotion and reverting', () => {
  it('keeps the student unchanged after a match (the trained clone is discarded)', () => {
    const env = handEnv({ threshold: 1 });
    const before = env.student.describe();
    const { state } = match(env, GOOD);
    expect(env.student.describe()).toEqual(before);
    expect(state.result!.evaluation!.trained.describe()).not.toEqual(before);
    close(env.stats().studentAccuracy as number, 0.15);
  });

  it('promotes the best clone once the moving average passes the threshold, and not before', () => {
    const env = handEnv({ emaRate: 0.5, threshold: 0.1 });
    // Wrong (-0.04375): average = 0.5 * -0.04375 = -0.021875.
    match(env, WRONG);
    close(env.stats().movingAverage as number, -0.021875);
    // Good (0.19125): average = -0.021875 + 0.5 * (0.19125 + 0.021875) = 0.0846875 <= 0.1: no promotion.
    match(env, GOOD);
    close(env.stats().movingAverage as number, 0.0846875);
    expect(env.stats().promotions).toBe(0);
    close(env.stats().studentAccuracy as number, 0.15);
    // The next teacher sees the best match's correct pairs as examples (not the unverifiable one).
    const next = env.nextGame(new Rng(5));
    expect(next.observe(next.initial(), 0)).toMatchObject({ examples: GOOD.pairs.slice(0, 2) });
    // Good again: average = 0.0846875 + 0.5 * (0.19125 - 0.0846875) = 0.13796875 > 0.1: promoted, average back to 0.
    match(env, GOOD);
    expect(env.stats().promotions).toBe(1);
    expect(env.stats().movingAverage).toBe(0);
    // The promoted student is the trained clone: (0.52 + 0.1625) / 2 = 0.34125.
    close(env.stats().studentAccuracy as number, 0.34125);
    expect(env.stats()['student.linear.1']).toBeCloseTo(0.75, 10);
    const params = env.nextGame(new Rng(0)).params;
    expect(params.generation).toBe(1);
    expect(params.studentAccuracy).toBeCloseTo(0.34125, 3);
  });

  it('does not count a match drawn before the last promotion', () => {
    const env = handEnv({ emaRate: 1, threshold: 0.1 });
    const stale = env.nextGame(new Rng(9)) as Game<TeacherState, TeacherAction>;
    match(env, GOOD); // average 0.19125 > 0.1: promoted at once
    expect(env.stats().promotions).toBe(1);
    const { state, action } = play(stale, JSON.stringify(GOOD));
    env.record({ game: stale, history: [action], returns: stale.returns(state), outcome: 'normal' });
    expect(env.stats()).toMatchObject({ promotions: 1, movingAverage: 0, staleMatches: 1, matches: 2 });
    // An unfinished match is not recorded at all.
    env.record({ game: stale, history: [], returns: [0], outcome: 'timeout' });
    expect(env.stats().matches).toBe(2);
  });

  it('tracks the moving average with PromotionTracker', () => {
    const t = new PromotionTracker<string>(0.2, 0.02);
    // 0.05 -> 0.01; 0.05 -> 0.01 + 0.2 * 0.04 = 0.018; 0.04 -> 0.018 + 0.2 * 0.022 = 0.0224 > 0.02:
    // promote the best since the last promotion (a: b only tied it).
    expect(t.add(0.05, 'a')).toBeUndefined();
    expect(t.add(0.05, 'b')).toBeUndefined();
    close(t.average, 0.018);
    expect(t.leader).toEqual({ reward: 0.05, candidate: 'a' });
    expect(t.add(0.04, 'c')).toBe('a');
    expect(t.average).toBe(0);
    expect(t.leader).toBeUndefined();
  });
});

describe('options', () => {
  it('reads string options through the registry and rejects bad ones', async () => {
    const entry = teacherStudentEntry;
    const env = await entry.create({ levels: '3', count: '2', k: '4', learning_rate: '0.2' });
    expect(env.nextGame(new Rng(0)).params).toMatchObject({ levels: 3, count: 2, k: 4 });
    expect(() => entry.create({ bogus: '1' })).toThrow(ConfigError);
    expect(() => entry.create({ levels: '0' })).toThrow(ConfigError);
    expect(() => entry.create({ threshold: 'x' })).toThrow(ConfigError);
    expect(() => createTeacherStudent({ k: 0 })).toThrow(ConfigError);
    expect(() => createTeacherStudent({ emaRate: 0 })).toThrow(ConfigError);
  });
});

describe('end to end', () => {
  it('runs with the scripted teacher: positive reward on average, promotions, a better student', async () => {
    const environment = createTeacherStudent();
    const start = environment.stats().studentAccuracy as number;
    const episodes = await lastValueFrom(runEnvironment({ environment, players: environmentPlayers(environment), matches: 30, seed: 2 }).pipe(toArray()));
    expect(episodes).toHaveLength(30);
    for (const episode of episodes) {
      expect(episodeSchema.safeParse(episode).success).toBe(true);
      expect(episode.outcome).toBe('normal');
      expect(episode.steps).toHaveLength(1);
      expect(episode.steps[0]).toMatchObject({ seat: 0, role: 'teacher', valid: true });
      expect(episode.returns[0]).toBeGreaterThanOrEqual(-1);
      expect(episode.returns[0]).toBeLessThanOrEqual(1);
    }
    const rewards = episodes.map((e) => e.returns[0]);
    expect(rewards.some((r) => r < 0)).toBe(true);
    expect(rewards.reduce((a, b) => a + b, 0) / rewards.length).toBeGreaterThan(0);
    const stats = environment.stats();
    expect(stats.matches).toBe(30);
    expect(stats.promotions).toBeGreaterThan(0);
    expect(stats.studentAccuracy).toBeGreaterThan(start);
    expect(stats.verifiedShare).toBeGreaterThan(0.8);
    expect(stats.verifiedShare).toBeLessThan(1);
    // Each match is drawn from the student of its time: generations climb one promotion at a time.
    const generations = episodes.map((e) => e.game.params.generation as number);
    expect(generations[0]).toBe(0);
    generations.slice(1).forEach((g, i) => expect(g - generations[i]).toBeGreaterThanOrEqual(0));
    expect((stats.promotions as number) - generations.at(-1)!).toBeLessThanOrEqual(1);
    expect(new Set(generations).size).toBeGreaterThanOrEqual(stats.promotions as number);
    // The seed replays the run.
    const again = createTeacherStudent();
    const replayed = await lastValueFrom(runEnvironment({ environment: again, players: environmentPlayers(again), matches: 30, seed: 2 }).pipe(toArray()));
    expect(replayed.map((e) => e.returns[0])).toEqual(rewards);
  });

  it('runs with a language-model teacher against the stub', async () => {
    const stub = await startLlmStub({ seed: 3 });
    try {
      // The stub writes "What is a + b?" pairs (level 1), a fifth of them off by one; with 2 levels the hard set covers level 1 too.
      const environment = createTeacherStudent({ levels: 2 });
      const players = environmentPlayers(environment, { teacher: `llm:model=stub,base=${stub.url}` });
      const episodes = await lastValueFrom(runEnvironment({ environment, players, matches: 4, seed: 1 }).pipe(toArray()));
      expect(episodes).toHaveLength(4);
      for (const episode of episodes) {
        expect(episode.outcome).toBe('normal');
        expect(episode.steps[0]).toMatchObject({ role: 'teacher', valid: true });
        expect(JSON.parse(episode.steps[0].action).pairs).toHaveLength(4);
        expect(episode.returns[0]).not.toBe(-1);
      }
      const stats = environment.stats();
      expect(stats.malformedReplies).toBe(0);
      expect(stats.unverifiableShare).toBe(0);
      expect(stats.verifiedShare).toBeGreaterThan(0.5);
      expect(stub.stats.requests).toBe(4);
    } finally {
      await stub.close();
    }
  });
});
