import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { environmentPlayers } from '../../agents/environment.ts';
import { startLlmStub } from '../../agents/llm/stub/server.ts';
import {
  confrontationReturns,
  createSelfPlayCritic,
  createSpcGame,
  selfPlayCriticEntry,
  ERROR_TYPES,
  executeChain,
  judgeAttack,
  lastNumber,
  makeProblem,
  parseStepText,
  plantError,
  problemFromSteps,
  replay,
  scriptedCritic,
  scriptedSneaky,
  type SpcAction,
} from '../../environments/self-play-critic/index.ts';
import { applyOp } from '../../environments/self-play-critic/problems.ts';
import { ConfigError, IllegalActionError, ParseError, Rng, type Environment } from '../../src/core/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { runEnvironment } from '../../src/runtime/environment.ts';

// ((23 + 17) * 3) - 7: 23 + 17 = 40, 40 * 3 = 120, 120 - 7 = 113.
const shop = problemFromSteps([
  { op: '+', left: 23, right: 17 },
  { op: '*', left: { step: 0 }, right: 3 },
  { op: '-', left: { step: 1 }, right: 7 },
]);

// ((10 + 5) + 8) - (10 + 5): 15, 23, 8. A change to step 1 cancels out in step 3.
const cancelling = problemFromSteps([
  { op: '+', left: 10, right: 5 },
  { op: '+', left: { step: 0 }, right: 8 },
  { op: '-', left: { step: 1 }, right: { step: 0 } },
]);

const sneaky = (step: string, errorType = 'calculation slip'): SpcAction => ({ step, errorType });
const verdict = (v: 'correct' | 'incorrect'): SpcAction => ({ verdict: v });

function play(game: ReturnType<typeof createSpcGame>, actions: readonly SpcAction[]) {
  return actions.reduce((s, a) => game.apply(s, a), game.initial());
}

const runAll = (env: Environment, matches: number, seed: number, specs: Record<string, string> = {}): Promise<Episode[]> =>
  lastValueFrom(runEnvironment({ environment: env, players: environmentPlayers(env, specs), matches, seed }).pipe(toArray()));

describe('self-play-critic problems', () => {
  it('writes the chain as a problem and a step-by-step solution', () => {
    expect(shop.text).toBe('Compute ((23 + 17) * 3) - 7 step by step, one operation per step.');
    expect(shop.solution).toEqual(['23 + 17 = 40', '40 * 3 = 120', '120 - 7 = 113']);
    expect(shop.results).toEqual([40, 120, 113]);
    expect(shop.answer).toBe(113);
    expect(cancelling.text).toBe('Compute ((10 + 5) + 8) - (10 + 5) step by step, one operation per step.');
    expect(cancelling.solution).toEqual(['10 + 5 = 15', '15 + 8 = 23', '23 - 15 = 8']);
  });

  it('re-executes the chain from an overridden step', () => {
    expect(executeChain(shop.steps)).toEqual([40, 120, 113]);
    // step 2 claims 130: 130 - 7 = 123
    expect(executeChain(shop.steps, { step: 1, value: 130 })).toEqual([40, 130, 123]);
    // step 1 claims 41: 41 * 3 = 123, 123 - 7 = 116
    expect(executeChain(shop.steps, { step: 0, value: 41 })).toEqual([41, 123, 116]);
    // step 1 claims 16: 16 + 8 = 24, 24 - 16 = 8 (unchanged)
    expect(executeChain(cancelling.steps, { step: 0, value: 16 })).toEqual([16, 24, 8]);
  });

  it('rejects chains that refer forward or hold non-integers', () => {
    expect(() => problemFromSteps([])).toThrow(ConfigError);
    expect(() => problemFromSteps([{ op: '+', left: { step: 0 }, right: 1 }])).toThrow(ConfigError);
    expect(() => problemFromSteps([{ op: '+', left: 1.5, right: 1 }])).toThrow(ConfigError);
    expect(() => problemFromSteps([{ op: '/' as '+', left: 1, right: 1 }])).toThrow(ConfigError);
    expect(() => makeProblem(new Rng(0), { steps: 1, level: 2 })).toThrow(ConfigError);
    expect(() => makeProblem(new Rng(0), { steps: 4, level: 5 })).toThrow(ConfigError);
  });

  it('draws positive integer chains whose step texts are right (property)', () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 4 }), (seed, steps, level) => {
        const p = makeProblem(new Rng(seed), { steps, level });
        expect(p.steps).toHaveLength(steps);
        expect(p.results.every((r) => Number.isSafeInteger(r) && r > 0)).toBe(true);
        p.solution.forEach((text, i) => {
          const parsed = parseStepText(text);
          expect(parsed).not.toBeNull();
          expect(applyOp(parsed!.op, parsed!.left, parsed!.right)).toBe(parsed!.result);
          expect(parsed!.result).toBe(p.results[i]);
          expect(lastNumber(text)).toBe(p.results[i]);
          // Rewriting a step to its own text never counts.
          expect(judgeAttack(p, i, text).counts).toBe(false);
        });
      }),
      { numRuns: 150 },
    );
  });

  it('draws the same problem from the same seed', () => {
    expect(makeProblem(new Rng(7), { steps: 5, level: 3 })).toEqual(makeProblem(new Rng(7), { steps: 5, level: 3 }));
  });
});

describe('self-play-critic attack rule', () => {
  it('reads the last number of a step as the value it claims', () => {
    expect(lastNumber('40 * 3 = 130')).toBe(130);
    expect(lastNumber('120 - 7 = -5')).toBe(-5);
    expect(lastNumber('so the total is (-5).')).toBe(-5);
    expect(lastNumber('40-5')).toBe(5);
    expect(lastNumber('a - 3')).toBe(3);
    expect(lastNumber('-3')).toBe(-3);
    expect(lastNumber('x = \u22127')).toBe(-7);
    expect(lastNumber('the total is 1,200.')).toBe(1200);
    expect(lastNumber('half is 2.5')).toBe(2.5);
    expect(lastNumber('forty times three')).toBeNull();
  });

  it('counts an attack only when the final answer changes', () => {
    // step 2 claims 130: final 130 - 7 = 123 != 113
    expect(judgeAttack(shop, 1, '40 * 3 = 130')).toEqual({ claimed: 130, answer: 113, rewrittenAnswer: 123, counts: true });
    // a wrong operand but the same claimed value 120: the chain is unchanged
    expect(judgeAttack(shop, 1, '40 * 4 = 120')).toEqual({ claimed: 120, answer: 113, rewrittenAnswer: 113, counts: false });
    // step 1 claims 41: 41 * 3 - 7 = 116
    expect(judgeAttack(shop, 0, '23 + 17 = 41')).toMatchObject({ claimed: 41, rewrittenAnswer: 116, counts: true });
    // the last step itself: 112 != 113
    expect(judgeAttack(shop, 2, '120 - 7 = 112')).toMatchObject({ rewrittenAnswer: 112, counts: true });
    // a flipped sign that still claims 113 does not count
    expect(judgeAttack(shop, 2, '120 + 7 = 113').counts).toBe(false);
    // the LAST number is the claim, even when it is not the result: 2 - 7 = -5
    expect(judgeAttack(shop, 1, '40 * 3 = 120 (checked 2 times)')).toMatchObject({ claimed: 2, rewrittenAnswer: -5, counts: true });
    expect(judgeAttack(shop, 1, 'forty times three')).toEqual({ claimed: null, answer: 113, rewrittenAnswer: null, counts: false });
    // 16 + 8 = 24, 24 - 16 = 8: the change to step 1 cancels out
    expect(judgeAttack(cancelling, 0, '10 + 5 = 16')).toMatchObject({ rewrittenAnswer: 8, counts: false });
    // 15 + 8 = 24 then 24 - 15 = 9
    expect(judgeAttack(cancelling, 1, '15 + 8 = 24')).toMatchObject({ rewrittenAnswer: 9, counts: true });
    expect(() => judgeAttack(shop, 3, '1')).toThrow(RangeError);
  });

  it('scores a confrontation zero-sum, +1 to the winner', () => {
    expect(confrontationReturns('attack', 'incorrect')).toEqual([-1, 1]);
    expect(confrontationReturns('attack', 'correct')).toEqual([1, -1]);
    expect(confrontationReturns('attack', 'malformed')).toEqual([1, -1]);
    expect(confrontationReturns('clean', 'correct')).toEqual([-1, 1]);
    expect(confrontationReturns('clean', 'incorrect')).toEqual([1, -1]);
    expect(confrontationReturns('clean', 'malformed')).toEqual([1, -1]);
  });
});

describe('self-play-critic game', () => {
  const game = createSpcGame(shop, 1);

  it('starts at a real chance node, 1/2 attack and 1/2 clean', () => {
    const s = game.initial();
    expect(game.turn(s)).toBe('chance');
    expect(game.chanceOutcomes(s)).toEqual([
      { action: 'attack', probability: 0.5 },
      { action: 'clean', probability: 0.5 },
    ]);
    expect(game.legalActions(s)).toEqual(['attack', 'clean']);
    expect(game.openTurn!(s)).toBe(false);
    expect(game.params).toEqual({ steps: 3, step: 2 });
    expect(createSpcGame(shop, 0, { level: 3 }).params).toEqual({ steps: 3, level: 3, step: 1 });
    expect(game.utility).toBe('zero-sum');
    expect(game.returnRange).toEqual([-1, 1]);
    expect(game.perfectInformation).toBe(false);
    expect(() => createSpcGame(shop, 3)).toThrow(RangeError);
  });

  it('attack that counts: the critic judges the rewritten step', () => {
    const attacked = play(game, ['attack', sneaky('40 * 3 = 130')]);
    expect(game.turn(attacked)).toBe(1);
    expect(game.openTurn!(attacked)).toBe(true);
    expect(game.legalActions(attacked)).toEqual([]);
    // 130 - 7 = 123 != 113: it counts; an incorrect verdict catches it
    expect(game.returns(game.apply(attacked, verdict('incorrect')))).toEqual([-1, 1]);
    expect(game.returns(game.apply(attacked, verdict('correct')))).toEqual([1, -1]);
    expect(game.returns(game.apply(attacked, { malformed: 'no verdict' }))).toEqual([1, -1]);
    expect(game.turn(game.apply(attacked, verdict('correct')))).toBe('terminal');
  });

  it("attack that does not count: the generator loses and the critic does not play", () => {
    // 40 * 4 = 120 claims 120, the chain is unchanged
    const unchanged = play(game, ['attack', sneaky('40 * 4 = 120', 'wrong operand')]);
    expect(game.turn(unchanged)).toBe('terminal');
    expect(game.returns(unchanged)).toEqual([-1, 1]);
    const noNumber = play(game, ['attack', sneaky('forty times three')]);
    expect(game.returns(noNumber)).toEqual([-1, 1]);
    const malformed = play(game, ['attack', { malformed: 'no <Step>' }]);
    expect(game.turn(malformed)).toBe('terminal');
    expect(game.returns(malformed)).toEqual([-1, 1]);
    // cancelling chain: 10 + 5 = 16 leaves the final 8
    const cancelled = createSpcGame(cancelling, 0);
    expect(cancelled.returns(play(cancelled, ['attack', sneaky('10 + 5 = 16')]))).toEqual([-1, 1]);
  });

  it('clean branch: the generator has no turn; a paranoid critic pays', () => {
    const clean = play(game, ['clean']);
    expect(game.turn(clean)).toBe(1);
    expect(game.returns(game.apply(clean, verdict('correct')))).toEqual([-1, 1]);
    expect(game.returns(game.apply(clean, verdict('incorrect')))).toEqual([1, -1]);
    expect(game.returns(game.apply(clean, { malformed: 'rambling' }))).toEqual([1, -1]);
    expect(game.returns(clean)).toEqual([0, 0]);
  });

  it('shows each role exactly its role input, and the critic nothing secret', () => {
    expect(game.observe(game.initial(), 0)).toEqual({ problem: shop.text, steps: shop.solution, step: 2 });
    const attacked = play(game, ['attack', sneaky('40 * 3 = 130', 'calculation slip')]);
    const clean = play(game, ['clean']);
    expect(game.observe(attacked, 1)).toEqual({ problem: shop.text, steps: ['23 + 17 = 40', '40 * 3 = 130'], step: 2 });
    expect(game.observe(clean, 1)).toEqual({ problem: shop.text, steps: ['23 + 17 = 40', '40 * 3 = 120'], step: 2 });
    // Before its step is written the critic sees only the steps before it.
    expect(game.observe(play(game, ['attack']), 1)).toEqual({ problem: shop.text, steps: ['23 + 17 = 40'] });
    expect(game.observe(play(game, ['attack']), 1)).toEqual(game.observe(game.initial(), 1));
    for (const text of [JSON.stringify(game.observe(attacked, 1)), game.observationText(attacked, 1), game.infoKey(attacked, 1)]) {
      expect(text).not.toMatch(/slip|attack|clean|120\b/);
    }
    expect(game.observationText(attacked, 1)).toContain('Step 2: 40 * 3 = 130');
    expect(game.observationText(attacked, 0)).toContain('Step 3: 120 - 7 = 113');
    // the critic's information differs between the branches only through the step it sees
    expect(game.infoKey(attacked, 1)).not.toBe(game.infoKey(clean, 1));
    expect(game.infoKey(play(game, ['attack']), 1)).toBe(game.infoKey(game.initial(), 1));
  });

  it('reads replies: role JSON, malformed replies, and ParseError for wrong shapes', () => {
    const atSneaky = play(game, ['attack']);
    expect(game.parseAction(atSneaky, '{"step":"40 * 3 = 130","errorType":"slip"}')).toEqual({ step: '40 * 3 = 130', errorType: 'slip' });
    expect(game.parseAction(atSneaky, '{"malformed":"no <Step>"}')).toEqual({ malformed: 'no <Step>' });
    for (const bad of ['not json', '{"step": 3, "errorType": "x"}', '{"step": "", "errorType": "x"}', '{"step": "1"}', '{"step":"1","errorType":"x","extra":1}', '{"verdict":"correct"}']) {
      expect(() => game.parseAction(atSneaky, bad)).toThrow(ParseError);
    }
    const atCritic = play(game, ['clean']);
    expect(game.parseAction(atCritic, '{"verdict":"incorrect"}')).toEqual({ verdict: 'incorrect' });
    expect(game.parseAction(atCritic, '{"malformed":"no verdict"}')).toEqual({ malformed: 'no verdict' });
    for (const bad of ['{"verdict":"maybe"}', '{"verdict":"Correct"}', '[]', 'null', '"correct"']) {
      expect(() => game.parseAction(atCritic, bad)).toThrow(ParseError);
    }
    expect(() => game.parseAction(game.initial(), '"attack"')).toThrow(ParseError);
    expect(() => game.parseAction(game.apply(atCritic, verdict('correct')), '{"verdict":"correct"}')).toThrow(ParseError);
    expect(game.actionText(atCritic, verdict('correct'))).toBe('{"verdict":"correct"}');
    expect(game.actionText(game.initial(), 'attack')).toBe('attack');
  });

  it('rejects illegal actions in apply and never changes a state', () => {
    const s = game.initial();
    expect(() => game.apply(s, 'both' as SpcAction)).toThrow(IllegalActionError);
    expect(() => game.apply(play(game, ['attack']), { verdict: 'correct' })).toThrow(IllegalActionError);
    expect(() => game.apply(play(game, ['clean']), sneaky('1 + 1 = 3'))).toThrow(IllegalActionError);
    expect(() => game.apply(play(game, ['clean', verdict('correct')]), verdict('correct'))).toThrow(IllegalActionError);
    const before = JSON.stringify(s);
    game.apply(s, 'attack');
    expect(JSON.stringify(s)).toBe(before);
    expect(game.history(play(game, ['attack', sneaky('40 * 3 = 130'), verdict('correct')]))).toEqual(['attack', sneaky('40 * 3 = 130'), verdict('correct')]);
  });

  it('returns are zero-sum and in range on every play (property)', () => {
    const action = fc.oneof(
      fc.record({ step: fc.string({ minLength: 1 }), errorType: fc.constantFrom(...ERROR_TYPES) }),
      fc.integer({ min: -200, max: 400 }).map((n) => ({ step: `40 * 3 = ${n}`, errorType: 'calculation slip' })),
      fc.constant({ malformed: 'x' }),
    );
    fc.assert(
      fc.property(fc.constantFrom('attack' as const, 'clean' as const), action, fc.constantFrom<SpcAction>(verdict('correct'), verdict('incorrect'), { malformed: 'y' }), (branch, rewrite, v) => {
        let s = game.apply(game.initial(), branch);
        if (game.turn(s) === 0) s = game.apply(s, rewrite as SpcAction);
        if (game.turn(s) === 1) s = game.apply(s, v);
        expect(game.turn(s)).toBe('terminal');
        const r = game.returns(s);
        expect(r[0] + r[1]).toBe(0);
        expect(Math.abs(r[0])).toBe(1);
        expect(s.history.length).toBeLessThanOrEqual(game.maxLength);
        expect(replay(game, s.history)).toEqual(s);
      }),
      { numRuns: 200 },
    );
  });
});

describe('self-play-critic scripted roles', () => {
  it('reads `a op b = r` from a step', () => {
    expect(parseStepText('40 * 3 = 120')).toEqual({ left: 40, op: '*', right: 3, result: 120 });
    expect(parseStepText('(-10) - 3 = -13')).toEqual({ left: -10, op: '-', right: 3, result: -13 });
    expect(parseStepText('Step 2: 40 \u00d7 3 = 120.')).toEqual({ left: 40, op: '*', right: 3, result: 120 });
    expect(parseStepText('forty times three')).toBeNull();
  });

  it('plants each error type', () => {
    const rng = new Rng(1);
    const times = { left: 40, op: '*' as const, right: 3, result: 120 };
    const plus = { left: 23, op: '+' as const, right: 17, result: 40 };
    for (let i = 0; i < 50; i++) {
      const slip = plantError(times, 'calculation slip', rng).result - 120;
      expect(Math.abs(slip)).toBeGreaterThanOrEqual(2);
      expect(Math.abs(slip)).toBeLessThanOrEqual(9);
      expect([119, 121]).toContain(plantError(times, 'off-by-one', rng).result);
      const operand = plantError(times, 'wrong operand', rng);
      expect(operand.right).not.toBe(3);
      expect(operand.right).toBeGreaterThanOrEqual(1);
      expect(operand.result).toBe(40 * operand.right);
    }
    // 23 + 17 = 40 flipped: 23 - 17 = 6
    expect(plantError(plus, 'sign flip', rng)).toEqual({ left: 23, op: '-', right: 17, result: 6 });
  });

  it('the scripted sneaky generator always writes a counting attack on a plain chain', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const k = 1 + (i % 3);
      const out = scriptedSneaky({ problem: shop.text, steps: shop.solution, step: k }, new Rng(i));
      seen.add(out.errorType);
      expect(ERROR_TYPES).toContain(out.errorType);
      if (k === 2) expect(out.errorType).not.toBe('sign flip'); // step 2 is a product
      expect(judgeAttack(shop, k - 1, out.step).counts).toBe(true);
    }
    expect(seen.size).toBe(4);
    // A step it cannot read: it nudges the last number.
    expect(scriptedSneaky({ problem: 'p', steps: ['the total is 12'], step: 1 }, new Rng(0))).toEqual({ step: 'the total is 12 (so 13)', errorType: 'off-by-one' });
  });

  it('the scripted critic checks arithmetic with probability skill, otherwise guesses', () => {
    const perfect = scriptedCritic(1);
    const input = (last: string) => ({ problem: shop.text, steps: ['23 + 17 = 40', last], step: 2 });
    for (let i = 0; i < 20; i++) {
      expect(perfect(input('40 * 3 = 130'), new Rng(i))).toEqual({ verdict: 'incorrect' });
      expect(perfect(input('40 * 3 = 120'), new Rng(i))).toEqual({ verdict: 'correct' });
      // a wrong operand with right arithmetic gets past an arithmetic check
      expect(perfect(input('40 * 4 = 160'), new Rng(i))).toEqual({ verdict: 'correct' });
    }
    const guesser = scriptedCritic(0);
    const verdicts = new Set(Array.from({ length: 40 }, (_, i) => guesser(input('40 * 3 = 120'), new Rng(i)).verdict));
    expect(verdicts).toEqual(new Set(['correct', 'incorrect']));
  });
});

describe('self-play-critic environment', () => {
  it('is in the registry', async () => {
    // imported here so that another environment's unfinished module fails only this test
    const { environments } = await import('../../environments/index.ts');
    expect(environments['self-play-critic']).toBe(selfPlayCriticEntry);
  });

  it('reads its string options', () => {
    const entry = selfPlayCriticEntry;
    expect(Object.keys(entry.options)).toEqual(['steps', 'level', 'critic_skill', 'prover_verifier', 'helpful_error_rate']);
    const env = entry.create({ steps: '3', level: '1', critic_skill: '1' }) as Environment;
    const game = env.nextGame(new Rng(5));
    expect(game.params).toMatchObject({ steps: 3, level: 1 });
    expect(env.roles).toEqual(['sneaky-generator', 'critic']);
    expect(() => entry.create({ colour: 'red' })).toThrow(ConfigError);
    expect(() => entry.create({ steps: '9' })).toThrow(ConfigError);
    expect(() => entry.create({ critic_skill: '1.5' })).toThrow(ConfigError);
    expect(() => createSelfPlayCritic({ level: 0 })).toThrow(ConfigError);
  });

  it('nextGame depends only on the rng', () => {
    const env = createSelfPlayCritic();
    const a = env.nextGame(new Rng(11));
    const b = env.nextGame(new Rng(11));
    expect(a.observe(a.initial(), 0)).toEqual(b.observe(b.initial(), 0));
    expect(a.params).toEqual(b.params);
  });

  it('runs end to end with scripted roles and records the confrontations', async () => {
    const env = createSelfPlayCritic({ steps: 4, level: 2 });
    const episodes = await runAll(env, 40, 3);
    expect(episodes).toHaveLength(40);
    let attacks = 0;
    let criticWins = 0;
    for (const e of episodes) {
      expect(e.outcome).toBe('normal');
      expect(e.returns[0] + e.returns[1]).toBe(0);
      expect(Math.abs(e.returns[0])).toBe(1);
      expect(e.steps[0].seat).toBe('chance');
      const branch = e.history[0];
      if (branch === 'attack') attacks++;
      if (e.returns[1] === 1) criticWins++;
      const decisions = e.steps.slice(1);
      expect(decisions.every((s) => s.valid)).toBe(true);
      expect(decisions.map((s) => s.role)).toEqual(branch === 'attack' ? decisions.map((s) => (s.seat === 0 ? 'sneaky-generator' : 'critic')) : ['critic']);
      if (branch === 'attack') expect(decisions[0].seat).toBe(0);
      for (const s of decisions.filter((d) => d.seat === 1)) expect(s.observation).not.toMatch(/errorType|slip|operand|sign flip|off-by-one/);
      expect(e.game.params).toMatchObject({ steps: 4, level: 2 });
    }
    const stats = env.stats();
    expect(stats.matches).toBe(40);
    expect(stats.attacks).toBe(attacks);
    expect(stats.cleanSteps).toBe(40 - attacks);
    expect(stats.criticWins).toBe(criticWins);
    expect(stats.sneakyWins).toBe(40 - criticWins);
    expect(stats.confrontations).toBe((stats.attacksCounted as number) + (stats.cleanSteps as number));
    expect(attacks).toBeGreaterThan(5);
    expect(attacks).toBeLessThan(35);
    // the scripted critic (skill 0.8) is right most of the time on clean steps, but not always
    expect(stats.criticAccuracyClean).toBeGreaterThan(0.6);
    // the same seed replays the run
    const again = await runAll(createSelfPlayCritic({ steps: 4, level: 2 }), 40, 3);
    expect(again.map((e) => e.returns)).toEqual(episodes.map((e) => e.returns));
  });

  it('ignores matches that were cut short', () => {
    const env = createSelfPlayCritic();
    const game = env.nextGame(new Rng(1));
    env.record({ game, history: ['attack'], returns: [0, 0], outcome: 'forfeit' });
    expect(env.stats()).toMatchObject({ matches: 0, criticAccuracyAttack: 'n/a', criticAccuracyClean: 'n/a' });
  });

  it('runs end to end with language-model roles against the stub', async () => {
    const stub = await startLlmStub({ seed: 4 });
    try {
      const env = createSelfPlayCritic({ steps: 3, level: 1 });
      const spec = `llm:model=stub,base=${stub.url},retries=0`;
      const episodes = await runAll(env, 12, 9, { 'sneaky-generator': spec, critic: spec });
      expect(stub.stats.requests).toBeGreaterThan(0);
      for (const e of episodes) {
        expect(e.outcome).toBe('normal');
        expect(e.returns[0] + e.returns[1]).toBe(0);
        for (const s of e.steps.slice(1)) {
          expect(s.valid).toBe(true);
          expect(s.role).toBe(s.seat === 0 ? 'sneaky-generator' : 'critic');
          // the stub answers both role prompts in the right format
          expect(JSON.parse(s.action)).not.toHaveProperty('malformed');
        }
      }
      const stats = env.stats();
      expect(stats.matches).toBe(12);
      expect(stats.criticMalformed).toBe(0);
      expect(stats.attacks).toBeGreaterThan(0);
    } finally {
      await stub.close();
    }
  });
});

describe('self-play-critic as a prover-verifier game', () => {
  const game = createSpcGame(shop, 1, { proverVerifier: true });
  const helpful = (step: string): SpcAction => ({ step });

  it('has the helpful prover write the clean step, which the verifier judges', () => {
    expect(game.seats).toBe(3);
    expect(game.utility).toBe('general-sum');
    expect(game.params).toEqual({ steps: 3, step: 2, proverVerifier: true });
    const clean = play(game, ['clean']);
    expect(game.turn(clean)).toBe(2);
    expect(game.observe(clean, 2)).toEqual({ problem: shop.text, steps: shop.solution, step: 2 });
    const written = game.apply(clean, helpful('3 * 40 = 120'));
    expect(game.turn(written)).toBe(1);
    expect(game.observe(written, 1)).toEqual({ problem: shop.text, steps: ['23 + 17 = 40', '3 * 40 = 120'], step: 2 });
    expect(game.infoKey(written, 2)).toContain('3 * 40 = 120');
  });

  it('pays the helpful prover only for a right step the verifier accepts, and the verifier for the right verdict', () => {
    const right = play(game, ['clean', helpful('40 * 3 = 120')]);
    expect(game.returns(game.apply(right, verdict('correct')))).toEqual([0, 1, 1]);
    expect(game.returns(game.apply(right, verdict('incorrect')))).toEqual([0, -1, -1]);
    // 40 * 3 = 130 changes the final answer: a wrong step, whatever the verifier says.
    const wrong = play(game, ['clean', helpful('40 * 3 = 130')]);
    expect(game.returns(game.apply(wrong, verdict('incorrect')))).toEqual([0, 1, -1]);
    expect(game.returns(game.apply(wrong, verdict('correct')))).toEqual([0, -1, -1]);
    expect(game.returns(game.apply(wrong, { malformed: 'no verdict' }))).toEqual([0, -1, -1]);
    // A step with no value, or an unreadable reply, loses without the verifier being asked.
    for (const bad of [helpful('forty times three'), { malformed: 'no <Step>' }] as SpcAction[]) {
      const over = play(game, ['clean', bad]);
      expect(game.turn(over)).toBe('terminal');
      expect(game.returns(over)).toEqual([0, 0, -1]);
    }
    expect(() => game.apply(play(game, ['clean']), verdict('correct'))).toThrow(IllegalActionError);
  });

  it('keeps the sneaky branch as in SPC, the helpful prover out of it', () => {
    const attacked = play(game, ['attack', sneaky('40 * 3 = 130')]);
    expect(game.returns(game.apply(attacked, verdict('incorrect')))).toEqual([-1, 1, 0]);
    expect(game.returns(game.apply(attacked, verdict('correct')))).toEqual([1, -1, 0]);
    expect(game.returns(play(game, ['attack', sneaky('40 * 4 = 120')]))).toEqual([-1, 1, 0]);
  });

  it('runs 200 scripted matches, its statistics agreeing with the returns', async () => {
    const env = selfPlayCriticEntry.create({ prover_verifier: '1', helpful_error_rate: '0.2' }) as Environment;
    expect(env.roles).toEqual(['sneaky-generator', 'critic', 'helpful-prover']);
    const episodes = await runAll(env, 200, 5);
    const stats = env.stats() as Record<string, number>;
    const helpfulSeats = episodes.filter((e) => e.steps.some((s) => s.seat === 2));
    expect(stats.helpfulSteps).toBe(helpfulSeats.length);
    expect(stats.helpfulAccepted).toBe(helpfulSeats.filter((e) => e.returns[2] === 1).length);
    expect(stats.helpfulRight).toBeLessThan(stats.helpfulSteps);
    expect(stats.helpfulAccepted).toBeLessThanOrEqual(stats.helpfulRight);
    expect(stats.attacks + stats.helpfulSteps).toBe(200);
    expect(stats.criticWins).toBe(episodes.filter((e) => e.returns[1] > 0).length);
    expect(() => selfPlayCriticEntry.create({ prover_verifier: '2' })).toThrow(ConfigError);
  });

  it('runs with a model as the helpful prover against the stub', async () => {
    const stub = await startLlmStub({ seed: 3 });
    try {
      const env = createSelfPlayCritic({ steps: 3, level: 1, proverVerifier: true });
      const episodes = await runAll(env, 12, 4, { 'helpful-prover': `llm:model=stub,base=${stub.url},retries=0` });
      const written = episodes.flatMap((e) => e.steps.filter((s) => s.seat === 2));
      expect(written.length).toBeGreaterThan(0);
      for (const step of written) expect(JSON.parse(step.action)).not.toHaveProperty('malformed');
      // The stub copies the step from the solution: always right.
      expect(env.stats().helpfulRight).toBe(written.length);
    } finally {
      await stub.close();
    }
  });
});

describe("self-play-critic's returns for the critic's other verdict", () => {
  const verdicts = [verdict('correct'), verdict('incorrect')];
  const step = fc.oneof(
    fc.integer({ min: -50, max: 400 }).map((n) => `40 * 3 = ${n}`),
    fc.constantFrom('40 * 3 = 120', 'no number here'),
  );

  it('are those of playing the match again with each verdict, in both modes, and unknown where the critic did not end it', () => {
    const env = createSelfPlayCritic();
    fc.assert(
      fc.property(fc.boolean(), fc.constantFrom('attack' as const, 'clean' as const), step, fc.constantFrom(...verdicts, { malformed: 'y' } as SpcAction), (pvg, branch, written, given) => {
        const game = createSpcGame(shop, 1, { proverVerifier: pvg });
        let s = game.apply(game.initial(), branch);
        if (game.turn(s) === 0) s = game.apply(s, sneaky(written));
        if (game.turn(s) === 2) s = game.apply(s, { step: written });
        const before = s;
        if (game.turn(s) === 1) s = game.apply(s, given);
        const alternatives = env.alternativeReturns!(game, s.history, game.returns(s), 1, verdicts);
        if (game.turn(before) !== 1 || !('verdict' in (given as object))) {
          expect(alternatives).toBeUndefined();
          return;
        }
        expect(alternatives).toEqual(verdicts.map((v) => game.returns(game.apply(before, v))[1]));
        expect(env.alternativeReturns!(game, s.history, game.returns(s), 0, verdicts)).toBeUndefined();
        expect(env.alternativeReturns!(game, s.history, game.returns(s), 1, [{ step: 'x' }])).toBeUndefined();
      }),
      { numRuns: 300 },
    );
    expect(() => env.alternativeReturns!({ id: 'tic-tac-toe', params: {} }, [], [0, 0], 1, verdicts)).toThrow(/not one of its matches/);
  });
});
