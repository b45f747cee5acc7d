import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { environmentPlayers } from '../../agents/environment.ts';
import { startLlmStub } from '../../agents/llm/stub/server.ts';
import { conjecturer, prover } from '../../agents/roles/index.ts';
import {
  axiomScheme,
  checkProof,
  conjecturerReward,
  createStp,
  Formulas,
  isValidSequent,
  parseFormula,
  parseSequent,
  scriptedConjecturer,
  searchProof,
  SEED_THEOREMS,
  showSequent,
  statementOf,
  stpEntry,
  stpGame,
  type StpAction,
  type StpEnvironment,
  type StpState,
} from '../../environments/stp/index.ts';
import { ConfigError, IllegalActionError, ParseError, Rng, type Game } from '../../src/core/index.ts';
import type { Episode } from '../../src/episodes/episode.ts';
import { runEnvironment } from '../../src/runtime/environment.ts';

/** A random formula over p, q, r of at most `depth` levels, built in `t`. */
const formula = (depth: number): fc.Arbitrary<(t: Formulas) => number> =>
  depth === 0
    ? fc.constantFrom('p', 'q', 'r').map((name) => (t: Formulas) => t.variable(name))
    : fc.oneof(
        formula(0),
        formula(depth - 1).map((a) => (t: Formulas) => t.not(a(t))),
        fc.tuple(formula(depth - 1), formula(depth - 1)).map(([a, b]) => (t: Formulas) => t.imp(a(t), b(t))),
      );

/** Hilbert's classic five-step proof of p -> p. */
const IDENTITY = ['1. p -> ((p -> p) -> p) [A1]', '2. (p -> ((p -> p) -> p)) -> ((p -> (p -> p)) -> (p -> p)) [A2]', '3. (p -> (p -> p)) -> (p -> p) [MP 1, 2]', '4. p -> (p -> p) [A1]', '5. p -> p [MP 4, 3]'].join('\n');

const SYLLOGISM = ['1. q -> r [premise]', '2. (q -> r) -> (p -> (q -> r)) [A1]', '3. p -> (q -> r) [MP 1, 2]', '4. (p -> (q -> r)) -> ((p -> q) -> (p -> r)) [A2]', '5. (p -> q) -> (p -> r) [MP 3, 4]', '6. p -> q [premise]', '7. p -> r [MP 6, 5]'].join('\n');

const reasonOf = (goal: string, proof: string, limits = {}) => {
  const result = checkProof(goal, proof, limits);
  return result.ok ? 'ok' : result.reason;
};

describe('stp formulas', () => {
  it('read back what they print, with implication right-associative and looser than negation', () => {
    fc.assert(
      fc.property(formula(5), (make) => {
        const t = new Formulas();
        const f = make(t);
        expect(parseFormula(t, t.show(f))).toBe(f);
      }),
      { numRuns: 300 },
    );
    const t = new Formulas();
    const [p, q, r] = ['p', 'q', 'r'].map((n) => t.variable(n));
    expect(parseFormula(t, '~p -> q')).toBe(t.imp(t.not(p), q));
    expect(parseFormula(t, 'p -> q -> r')).toBe(t.imp(p, t.imp(q, r)));
    expect(parseFormula(t, '(p -> q) -> r')).toBe(t.imp(t.imp(p, q), r));
    expect(parseFormula(t, '¬(p → q)')).toBe(t.not(t.imp(p, q)));
    expect(parseFormula(t, '!!p')).toBe(t.not(t.not(p)));
  });

  it('refuse bad syntax saying where', () => {
    const t = new Formulas();
    for (const [text, why] of [
      ['', 'the formula is empty'],
      ['p ->', 'the formula ends too early'],
      ['(p -> q', 'a "(" is never closed'],
      ['p -> q)', 'a ")" closes nothing at character 7'],
      ['P -> q', 'expected a variable, "~" or "(" but found "P" at character 1'],
      ['p q', 'expected "->" or ")" but found "q" at character 3'],
      ['p & q', 'expected "->" or ")" but found "&"'],
    ]) {
      expect(() => parseFormula(t, text), text).toThrow(why);
    }
    expect(() => parseFormula(new Formulas({ maxDepth: 10 }), `${'~'.repeat(11)}p`)).toThrow('the formula nests deeper than 10');
  });

  it('are valid sequents exactly when no row of the truth table makes the premises true and the conclusion false', () => {
    const t = new Formulas();
    const valid = (s: string) => isValidSequent(t, parseSequent(t, s));
    for (const seed of SEED_THEOREMS) expect(valid(seed), seed).toBe(true);
    expect(valid('p -> q |- q -> p')).toBe(false);
    expect(valid('|- p')).toBe(false);
    expect(valid('p, ~p |- q')).toBe(true);
    expect(showSequent(t, parseSequent(t, 'p->q ,  q->r ⊢ p->r'))).toBe('p -> q, q -> r |- p -> r');
    expect(showSequent(t, parseSequent(t, 'p -> p'))).toBe('|- p -> p');
    expect(showSequent(t, parseSequent(t, 'q, p, q |- p'))).toBe('p, q |- p');
    for (const seed of SEED_THEOREMS) expect(showSequent(t, parseSequent(t, seed))).toBe(seed);
  });

  it('are axiom instances of the right scheme', () => {
    fc.assert(
      fc.property(formula(2), formula(2), formula(2), (a, b, c) => {
        const t = new Formulas();
        const [x, y, z] = [a(t), b(t), c(t)];
        expect(axiomScheme(t, t.imp(x, t.imp(y, x)))).toBe(1);
        expect(axiomScheme(t, t.imp(t.imp(x, t.imp(y, z)), t.imp(t.imp(x, y), t.imp(x, z))))).toBe(2);
        const a3 = t.imp(t.imp(t.not(x), t.not(y)), t.imp(y, x));
        // An A3 instance can also be an A1 instance when ~x -> ~y happens to be y -> x; it is then reported as A1.
        expect([1, 3]).toContain(axiomScheme(t, a3));
        expect(axiomScheme(t, x)).toBe(t.isImp(x) ? axiomScheme(t, x) : 0);
      }),
      { numRuns: 200 },
    );
    const t = new Formulas();
    expect(axiomScheme(t, parseFormula(t, 'p -> (q -> q)'))).toBe(0);
    expect(axiomScheme(t, parseFormula(t, '(p -> (q -> r)) -> ((p -> q) -> (q -> r))'))).toBe(0);
    expect(axiomScheme(t, parseFormula(t, '(~p -> ~q) -> (p -> q)'))).toBe(0);
  });
});

describe('the stp proof checker', () => {
  it('accepts hand-written proofs and tolerates prose around them', () => {
    expect(checkProof('|- p -> p', IDENTITY)).toEqual({ ok: true, steps: 5 });
    expect(checkProof('p -> q, q -> r |- p -> r', SYLLOGISM)).toEqual({ ok: true, steps: 7 });
    expect(checkProof('p, p -> q |- q', 'Here is my proof.\n\n1. p [premise]\n2. p -> q [hyp]\n3. q [mp 2 1]\nDone.')).toEqual({ ok: true, steps: 3 });
  });

  it('refuses each kind of wrong step, naming the step and why', () => {
    const goal = 'p, p -> q |- q';
    expect(reasonOf(goal, '1. p [premise]\n2. q [MP 1, 2]')).toBe('step 2 (line 2): MP cites step 2, which does not come before step 2');
    expect(reasonOf(goal, '1. q [MP 2, 3]\n2. p [premise]\n3. p -> q [premise]')).toBe('step 1 (line 1): MP cites step 2, which does not come before step 1');
    expect(reasonOf(goal, '1. p [premise]\n2. p -> q [premise]\n3. q [MP 1, 1]')).toMatch(/^step 3 \(line 3\): MP 1, 1 does not give q/);
    expect(reasonOf(goal, '1. q [premise]')).toBe('step 1 (line 1): q is not one of the premises');
    expect(reasonOf(goal, '1. p -> (q -> q) [A1]')).toBe('step 1 (line 1): p -> q -> q is not an instance of axiom A1');
    expect(reasonOf(goal, '1. p -> (q -> p) [A2]')).toBe('step 1 (line 1): p -> q -> p is not an instance of axiom A2 (it is one of A1)');
    expect(reasonOf(goal, '1. p [premise]\n3. p [premise]')).toBe('step 2 (line 2) is numbered 3; steps are numbered 1, 2, 3, ... in order');
    expect(reasonOf(goal, '1. p [premise]\n2. p -> q [premise]')).toBe('the last step is p -> q, not the conclusion q of p, p -> q |- q');
    expect(reasonOf(goal, '1. p [axiom]')).toBe('step 1 (line 1): unknown rule "axiom"; the rules are A1, A2, A3, premise and MP i, j');
    expect(reasonOf(goal, '1. p [MP 1]')).toBe('step 1 (line 1): "MP 1" must cite two step numbers, as in [MP 1, 2]');
    expect(reasonOf(goal, '1. p premise')).toBe('step 1 (line 1): expected the rule in brackets at the end, e.g. [A1], [premise] or [MP 1, 2]');
    expect(reasonOf(goal, '1. p [premise] and more')).toBe('step 1 (line 1): text after the rule\'s closing "]"');
    expect(reasonOf(goal, '1. p -> [premise]')).toBe('step 1 (line 1): the formula ends too early at character 5 of "p ->"');
    expect(reasonOf(goal, 'no steps at all')).toBe('no steps: expected lines like "1. p -> (q -> p) [A1]"');
    expect(reasonOf('p |- (q', '1. p [premise]')).toMatch(/^the statement cannot be read: a "\(" is never closed/);
  });

  it('only accepts proofs of valid sequents (soundness), over random sequents and random edits of found proofs', () => {
    const sequent = fc.tuple(fc.array(formula(2), { maxLength: 2 }), formula(3));
    fc.assert(
      fc.property(sequent, fc.integer({ min: 0, max: 1_000 }), fc.nat(), (s, seed, edit) => {
        const t = new Formulas();
        const goal = showSequent(t, { premises: s[0].map((m) => m(t)), conclusion: s[1](t) });
        const valid = isValidSequent(t, parseSequent(t, goal));
        const proof = searchProof(goal, new Rng(seed), { rounds: 3, maxTerms: 6 });
        if (proof === null) return;
        expect(checkProof(goal, proof).ok, `${goal}\n${proof}`).toBe(true);
        expect(valid).toBe(true);
        // Replace one step's rule with another: whatever the checker then accepts must still be a proof of a valid sequent.
        const lines = proof.split('\n');
        const i = edit % lines.length;
        lines[i] = lines[i].replace(/\[[^\]]*\]$/, ['[A1]', '[A2]', '[A3]', '[premise]', `[MP ${1 + (edit % 3)}, ${1 + (edit % 5)}]`][edit % 5]);
        if (checkProof(goal, lines.join('\n')).ok) expect(valid).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('rejects hostile proofs by their size, depth, length or its time budget, with a clear reason', () => {
    const goal = 'p |- p';
    expect(reasonOf(goal, 'x'.repeat(1_000_001))).toBe('the proof is 1,000,001 characters; at most 1,000,000');
    expect(reasonOf(goal, `1. ${'('.repeat(5_000)}p [premise]`)).toBe('line 1 is 5,014 characters; at most 2,000');
    // Parentheses alone nest nothing: ((p)) is p.
    expect(reasonOf(goal, `1. ${'('.repeat(100)}p${')'.repeat(100)} [premise]`)).toBe('ok');
    expect(reasonOf(goal, `1. ${'p -> '.repeat(100)}p [premise]`)).toMatch(/^step 1 \(line 1\): the formula nests deeper than 64/);
    expect(reasonOf(goal, Array.from({ length: 2_001 }, (_, i) => `${i + 1}. p [premise]`).join('\n'))).toBe('more than 2000 steps');
    const long = Array.from({ length: 1_000 }, (_, i) => `${i + 1}. p [premise]`).join('\n');
    expect(reasonOf(goal, long, { timeBudgetMs: 0 })).toMatch(/^checking took longer than its 0 ms budget/);
    expect(reasonOf(goal, long)).toBe('ok');
    // A cycle cannot be written: a step may only cite steps before it.
    expect(reasonOf(goal, '1. p [MP 2, 2]\n2. p [MP 1, 1]')).toBe('step 1 (line 1): MP cites step 2, which does not come before step 1');
  });
});

describe('the stp game', () => {
  const seed = 'p, p -> q |- q';
  const play = (conjecture: StpAction, proofs: StpAction[], provers = 4) => {
    const game = stpGame({ seed, provers, maxPassRate: 0.25 }) as Game<StpState, StpAction>;
    let state = game.apply(game.initial(), conjecture);
    for (const proof of proofs) state = game.apply(state, proof);
    return { game, state };
  };
  const good = { proof: '1. p [premise]\n2. q -> p [MP 1, 3]\n3. p -> (q -> p) [A1]' };
  const weaken = { proof: '1. p [premise]\n2. p -> (r -> p) [A1]\n3. r -> p [MP 1, 2]' };

  it('rewards the conjecturer only for a conjecture that some, and at most max_pass_rate, of the provers prove', () => {
    const bad = { proof: '' };
    const one = play({ conjecture: 'p |- r -> p' }, [weaken, bad, bad, bad]);
    expect(one.state.statement).toEqual({ text: 'p |- r -> p', conjectured: true, valid: true });
    expect(one.game.returns(one.state)).toEqual([1, 1, 0, 0, 0]);
    const two = play({ conjecture: 'p |- r -> p' }, [weaken, weaken, bad, bad]);
    expect(two.game.returns(two.state)).toEqual([0, 1, 1, 0, 0]);
    const none = play({ conjecture: 'p |- r -> p' }, [bad, bad, bad, bad]);
    expect(none.game.returns(none.state)).toEqual([0, 0, 0, 0, 0]);
    expect(none.state.verdicts[0]).toEqual({ ok: false, reason: 'no steps: expected lines like "1. p -> (q -> p) [A1]"' });
    expect(conjecturerReward({ text: 'x', conjectured: true, valid: true }, 1, 4, 0.25)).toBe(1);
    expect(conjecturerReward({ text: 'x', conjectured: false, valid: true }, 1, 4, 0.25)).toBe(0);
  });

  it('falls back to the seed for an unreadable conjecture or the seed itself, and gives the conjecturer nothing', () => {
    const proofOfSeed = { proof: '1. p [premise]\n2. p -> q [premise]\n3. q [MP 1, 2]' };
    for (const conjecture of [{ conjecture: 'p -> |- q' }, { conjecture: 'p->q, p ⊢ q' }, { malformed: 'no tag' }] as StpAction[]) {
      const { game, state } = play(conjecture, [proofOfSeed, { proof: '' }, { proof: '' }, { proof: '' }]);
      expect(state.statement).toMatchObject({ text: 'p, p -> q |- q', conjectured: false });
      expect(game.returns(state)).toEqual([0, 1, 0, 0, 0]);
    }
    expect(statementOf(seed, { conjecture: 'p -> |- q' }).reason).toMatch(/^unreadable: /);
    expect(statementOf(seed, { conjecture: 'p |- q' })).toEqual({ text: 'p |- q', conjectured: true, valid: false });
  });

  it('checks proofs against the conjecture, not the seed', () => {
    const { state } = play({ conjecture: 'q |- p -> q' }, [good]);
    expect(state.verdicts[0]).toMatchObject({ ok: false });
  });

  it('refuses actions that were never parsed, and parses role replies', () => {
    const game = stpGame({ seed, provers: 1, maxPassRate: 0.25 }) as Game<StpState, StpAction>;
    expect(() => game.apply(game.initial(), { proof: 'x' } as never)).toThrow(IllegalActionError);
    expect(game.parseAction!(game.initial(), '{"conjecture": "p |- p"}')).toEqual({ conjecture: 'p |- p' });
    expect(() => game.parseAction!(game.initial(), '{"conjecture": 3}')).toThrow(ParseError);
  });
});

describe('the stp environment', () => {
  const runAll = (env: StpEnvironment, matches: number, seed: number, specs: Record<string, string> = {}): Promise<Episode[]> =>
    lastValueFrom(runEnvironment({ environment: env, players: environmentPlayers(env, specs), matches, seed }).pipe(toArray()));

  it('runs 200 matches with scripted roles: its stats add up, and barely provable conjectures join the pool', async () => {
    const env = createStp();
    const episodes = await runAll(env, 200, 3);
    expect(episodes.every((e) => e.outcome === 'normal')).toBe(true);
    const stats = env.stats();
    expect(stats.matches).toBe(200);
    const conjecturerWins = episodes.reduce((n, e) => n + e.returns[0], 0);
    expect(stats.barelyProvable).toBe(conjecturerWins);
    expect(conjecturerWins).toBeGreaterThan(0);
    const proverReturns = episodes.flatMap((e) => e.returns.slice(1));
    expect(stats.proofRate).toBeCloseTo(proverReturns.reduce((a, b) => a + b, 0) / proverReturns.length, 12);
    expect(env.pool().slice(0, SEED_THEOREMS.length)).toEqual(SEED_THEOREMS);
    expect(env.pool().length).toBeGreaterThan(SEED_THEOREMS.length);
    const t = new Formulas();
    for (const entry of env.proved()) expect(isValidSequent(t, parseSequent(t, entry.statement)), entry.statement).toBe(true);
    // The same seed plays the same run.
    const again = createStp();
    await runAll(again, 200, 3);
    expect(again.stats()).toEqual(stats);
  });

  it('keeps the pool within pool_size, the seeds always first', async () => {
    const env = createStp({ poolSize: SEED_THEOREMS.length + 2 });
    await runAll(env, 200, 5);
    expect(env.pool()).toHaveLength(SEED_THEOREMS.length + 2);
    expect(env.pool().slice(0, SEED_THEOREMS.length)).toEqual(SEED_THEOREMS);
  });

  it('its scripted conjecturer writes readable sequents near the seed', () => {
    const rng = new Rng(1);
    for (let i = 0; i < 200; i++) {
      const seed = SEED_THEOREMS[i % SEED_THEOREMS.length];
      const { conjecture } = scriptedConjecturer({ theorem: seed, system: [] }, rng);
      expect(() => parseSequent(new Formulas(), conjecture)).not.toThrow();
    }
  });

  it('refuses bad options with the option named', () => {
    expect(() => stpEntry.create({ provers: '0' })).toThrow(new ConfigError('stp: provers must be a whole number from 1 to 64, not "0"'));
    expect(() => stpEntry.create({ max_pass_rate: '2' })).toThrow(ConfigError);
    expect(() => stpEntry.create({ pool_size: '3' })).toThrow(ConfigError);
    expect(() => stpEntry.create({ nope: '1' })).toThrow('stp has no option "nope"');
    expect(() => createStp({ seeds: ['p |- (q'] })).toThrow(/^stp: the seed p \|- \(q cannot be read: a "\(" is never closed/);
    expect(() => createStp({ seeds: ['p -> q |- q -> p'] })).toThrow('stp: the seed p -> q |- q -> p is not a valid sequent');
  });

  it('its roles read models\' replies, and a model can play them', async () => {
    expect(conjecturer().parse('I think <conjecture> p |- q -> p </conjecture>')).toEqual({ conjecture: 'p |- q -> p' });
    expect(() => conjecturer().parse('p |- p')).toThrow('no conjecture: expected <conjecture>premises |- conclusion</conjecture>');
    expect(prover().parse('<proof>\n1. p [premise]\n</proof>')).toEqual({ proof: '\n1. p [premise]\n' });
    expect(() => prover().parse('<proof> </proof>')).toThrow('the proof is empty');
    expect(prover().prompt({ statement: 'p |- p', system: ['A1: ...'] })[1].content).toContain('Prove: p |- p');
    const stub = await startLlmStub({ seed: 2 });
    try {
      const env = createStp({ provers: 2 });
      const spec = `llm:model=stub,base=${stub.url},retries=0`;
      const episodes = await runAll(env, 6, 1, { conjecturer: spec, prover: spec });
      for (const episode of episodes) {
        expect(episode.outcome).toBe('normal');
        expect(episode.steps.map((s) => s.role)).toEqual(['conjecturer', 'prover', 'prover']);
        for (const step of episode.steps) expect(JSON.parse(step.action)).not.toHaveProperty('malformed');
      }
      expect(env.stats().conjectures).toBe(6);
    } finally {
      await stub.close();
    }
  });
});
