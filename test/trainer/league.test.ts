import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, Rng } from '../../src/core/index.ts';
import { League, parseOpponents, splitGames } from '../../src/trainer/league.ts';

describe('--opponents shares', () => {
  it('reads self-play, league kinds and agent specs with their own options, weights normalised', () => {
    expect(parseOpponents('self')).toEqual([{ label: 'self', source: { kind: 'self' }, weight: 1 }]);
    const shares = parseOpponents('self:0.6,pfsp:0.3,random:0.1');
    expect(shares.map((s) => [s.label, s.source.kind])).toEqual([
      ['self', 'self'],
      ['pfsp', 'pfsp'],
      ['random', 'agent'],
    ]);
    expect(shares.map((s) => s.weight)).toEqual([0.6, 0.3, 0.1].map((w) => expect.closeTo(w, 12)));
    const mixed = parseOpponents('mcts:iterations=200:1,uniform:1,recent:2,tabular:policy=kuhn.json');
    expect(mixed.map((s) => s.source)).toEqual([{ kind: 'agent', spec: 'mcts:iterations=200' }, { kind: 'uniform' }, { kind: 'recent' }, { kind: 'agent', spec: 'tabular:policy=kuhn.json' }]);
    expect(mixed.map((s) => s.weight)).toEqual([0.2, 0.2, 0.4, 0.2].map((w) => expect.closeTo(w, 12)));
  });

  it('refuses empty entries, weights that are not positive numbers, and a source named twice', () => {
    expect(() => parseOpponents('self,,random')).toThrow(ConfigError);
    expect(() => parseOpponents('self:0')).toThrow(/share of "self" must be a number > 0, got "0"/);
    expect(() => parseOpponents('self:-1')).toThrow(/must be a number > 0/);
    expect(() => parseOpponents('self:1e999')).toThrow(/must be a number > 0/);
    expect(() => parseOpponents('self:0.5,self:0.5')).toThrow(/names "self" twice/);
  });

  it('splits a batch in whole games that sum to it, each within one game of its exact share', () => {
    expect(splitGames(250, [0.6, 0.3, 0.1])).toEqual([150, 75, 25]);
    expect(splitGames(10, [0.25, 0.75])).toEqual([3, 7]);
    expect(splitGames(3, [0.5, 0.5])).toEqual([2, 1]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5000 }), fc.array(fc.double({ min: 0.01, max: 10, noNaN: true }), { minLength: 1, maxLength: 6 }), (games, raw) => {
        const total = raw.reduce((a, b) => a + b, 0);
        const weights = raw.map((w) => w / total);
        const counts = splitGames(games, weights);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(games);
        counts.forEach((n, i) => expect(Math.abs(n - weights[i] * games)).toBeLessThan(1 + 1e-9));
      }),
    );
  });
});

describe('the league', () => {
  const league = () => {
    const l = new League();
    l.add('tiny@5', 5);
    l.add('tiny@10', 10);
    l.add('tiny@15', 15);
    l.add('tiny@10', 10); // already a member: nothing changes
    return l;
  };

  it('weights members by PFSP (1 - p)^2 from the learner\'s results, one even game as a prior', () => {
    const l = league();
    expect(l.members.map((m) => m.version)).toEqual([5, 10, 15]);
    l.record(5, 10, 10); // the learner beat version 5 every time
    l.record(10, 10, 0); // and lost every game to version 10
    const p = [10.5 / 11, 0.5 / 11, 0.5];
    const raw = p.map((x) => (1 - x) ** 2 + 1e-6);
    const total = raw.reduce((a, b) => a + b, 0);
    expect(l.weights('pfsp')).toEqual(raw.map((w) => expect.closeTo(w / total, 12)));
    expect(l.weights('uniform')).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(l.weights('recent')).toEqual([1 / 6, 2 / 6, 3 / 6]);
    expect(() => l.record(7, 1, 1)).toThrow(/version 7 is not in the league/);
  });

  it('draws members with those probabilities, and nothing from an empty league', () => {
    const l = league();
    l.record(5, 10, 10);
    l.record(10, 10, 0);
    const n = 60_000;
    const drawn = l.draw('pfsp', n, new Rng(3));
    const weights = l.weights('pfsp');
    l.members.forEach((member, i) => {
      const share = drawn.filter((m) => m === member).length / n;
      // Four standard errors of a binomial share.
      expect(Math.abs(share - weights[i])).toBeLessThan(4 * Math.sqrt((weights[i] * (1 - weights[i])) / n) + 1e-9);
    });
    expect(new League().draw('uniform', 10, new Rng(1))).toEqual([]);
  });

  it('round-trips through its JSON state, results included', () => {
    const l = league();
    l.record(15, 4, 1.5);
    const copy = new League(JSON.parse(JSON.stringify(l.toJSON())));
    expect(copy.members).toEqual(l.members);
    expect(copy.weights('pfsp')).toEqual(l.weights('pfsp'));
    copy.record(15, 1, 1);
    expect(l.members[2].games).toBe(4);
  });
});
