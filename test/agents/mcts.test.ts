import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { mctsAgent, mctsSearch, parseMctsOptions } from '../../agents/mcts.ts';
import { createPlayer } from '../../agents/index.ts';
import { randomAgent } from '../../agents/random.ts';
import { connectFour, kuhnPoker, ticTacToe } from '../../games/index.ts';
import { ConfigError, defineGame, replay, Rng, type Game } from '../../src/core/index.ts';
import { runArena } from '../../src/runtime/arena.ts';

const ttt = ticTacToe();
const c4 = connectFour();

/** The actions MCTS picks from the position after `history`, one search per seed. */
function picks<S, A>(game: Game<S, A>, history: readonly A[], iterations: number, seeds = 20): A[] {
  const state = replay(game, history);
  return Array.from({ length: seeds }, (_, seed) => mctsSearch(game, state, { iterations, rng: new Rng(seed) }).action);
}

describe('mctsSearch', () => {
  it.each([
    ['tic-tac-toe: X completes the top row', ttt, [0, 3, 1, 4], 2],
    ['tic-tac-toe: O blocks the top row', ttt, [0, 4, 1], 2],
    ['connect-four: X completes the bottom row', c4, [0, 6, 1, 6, 2, 5], 3],
    ['connect-four: O blocks the bottom row', c4, [0, 6, 1, 6, 2], 3],
  ] as const)('%s', (_name, game, history, move) => {
    expect(new Set(picks(game as Game, history, 1000))).toEqual(new Set([move]));
  });

  it('defends a fork with many iterations but not with few', () => {
    // X in two opposite corners, O in the centre: only an edge (1, 3, 5, 7) avoids a lost game.
    const edges = new Set([1, 3, 5, 7]);
    const few = picks(ttt, [0, 4, 8], 10, 40);
    const many = picks(ttt, [0, 4, 8], 2000, 40);
    expect(many.every((move) => edges.has(move))).toBe(true);
    expect(few.filter((move) => !edges.has(move)).length).toBeGreaterThan(5);
  });

  it('visits every root action and spends every iteration', () => {
    const result = mctsSearch(ttt, ttt.initial(), { iterations: 500, rng: new Rng(1) });
    expect(result.visits).toHaveLength(9);
    expect(result.visits.every((v) => v > 0)).toBe(true);
    expect(result.visits.reduce((a, b) => a + b, 0)).toBe(500);
    expect(result.visits[result.index]).toBe(Math.max(...result.visits));
    expect(result.action).toBe(ttt.legalActions(ttt.initial())[result.index]);
  });

  it('is deterministic for a seed', () => {
    const state = replay(c4, [3, 3, 2]);
    const run = (seed: number) => mctsSearch(c4, state, { iterations: 300, rng: new Rng(seed) });
    expect(run(7)).toEqual(run(7));
    expect(run(7).visits).not.toEqual(run(8).visits);
  });

  it('weighs chance outcomes by their probabilities', () => {
    // One seat: take 0.4 for sure, or gamble for 1 with probability p (else 0).
    const gamble = (p: number) =>
      defineGame<readonly string[], string>({
        id: 'gamble',
        description: 'safe or gamble',
        seats: 1,
        maxLength: 2,
        utility: 'general-sum',
        returnRange: [0, 1],
        initial: () => [],
        turn: (s) => (s.length === 0 ? 0 : s[0] === 'gamble' && s.length === 1 ? 'chance' : 'terminal'),
        legalActions: (s) => (s.length === 0 ? ['safe', 'gamble'] : s.length === 1 && s[0] === 'gamble' ? ['win', 'lose'] : []),
        chanceOutcomes: (s) => (s.length === 1 && s[0] === 'gamble' ? [{ action: 'win', probability: p }, { action: 'lose', probability: 1 - p }] : []),
        apply: (s, a) => [...s, a],
        returns: (s) => [s[0] === 'safe' ? 0.4 : s[1] === 'win' ? 1 : 0],
        history: (s) => s,
      });
    for (const [p, best] of [[0.2, 'safe'], [0.6, 'gamble']] as const) {
      const game = gamble(p);
      expect(mctsSearch(game, game.initial(), { iterations: 2000, rng: new Rng(3) }).action).toBe(best);
    }
  });

  it('credits each seat with its own return in a three-seat game', () => {
    // Seat 0 picks A or B, then seat 1 picks x or y; seat 2 only collects.
    // After A, seat 1 prefers y, which leaves seat 0 nothing; after B seat 0 gets 0.5 whatever seat 1 does.
    const table: Record<string, number[]> = { Ax: [1, 0, 0], Ay: [0, 1, 0], Bx: [0.5, 0, 0], By: [0.5, 0, 1] };
    const game = defineGame<string, string>({
      id: 'three',
      description: 'three seats',
      seats: 3,
      maxLength: 2,
      utility: 'general-sum',
      returnRange: [0, 1],
      initial: () => '',
      turn: (s) => (s.length < 2 ? s.length : 'terminal'),
      legalActions: (s) => (s.length === 0 ? ['A', 'B'] : s.length === 1 ? ['x', 'y'] : []),
      apply: (s, a) => s + a,
      returns: (s) => table[s],
      history: (s) => [...s],
    });
    expect(mctsSearch(game, 'A', { iterations: 500, rng: new Rng(1) }).action).toBe('y');
    expect(mctsSearch(game, '', { iterations: 2000, rng: new Rng(1) }).action).toBe('B');
  });

  it('refuses a position where no seat is to move, and bad options', () => {
    const over = replay(ttt, [0, 3, 1, 4, 2]);
    expect(() => mctsSearch(ttt, over, { iterations: 10, rng: new Rng(0) })).toThrow(/needs a seat to move/);
    expect(() => mctsSearch(ttt, ttt.initial(), { iterations: 0, rng: new Rng(0) })).toThrow(ConfigError);
    expect(() => mctsSearch(ttt, ttt.initial(), { exploration: -1, rng: new Rng(0) })).toThrow(/exploration constant/);
  });
});

describe('mctsAgent', () => {
  it('refuses a game with hidden information', () => {
    expect(() => mctsAgent(kuhnPoker())).toThrow(ConfigError);
    expect(() => createPlayer('mcts', kuhnPoker())).toThrow(/perfect-information games only; kuhn-poker/);
  });

  it('reads its options from a spec', () => {
    expect(parseMctsOptions({})).toEqual({ iterations: 1000, exploration: Math.SQRT2 });
    expect(parseMctsOptions({ iterations: '500', c: '1.4' })).toEqual({ iterations: 500, exploration: 1.4 });
    expect(createPlayer('mcts:iterations=500,c=1.4', ttt).name).toBe('mcts:iterations=500,c=1.4');
    expect(() => createPlayer('mcts:iterations=many', ttt)).toThrow(/iterations=many is not a number/);
    expect(() => createPlayer('mcts:iterations=2.5', ttt)).toThrow(/iterations must be a positive integer/);
    expect(() => createPlayer('mcts:c=', ttt)).toThrow(/c= is not a number/);
    expect(() => createPlayer('mcts:depth=3', ttt)).toThrow(/unknown option "depth"/);
  });

  /** MCTS's wins, draws and losses against random, seats alternating, through the referee. */
  async function versusRandom(game: Game, iterations: number, matches: number) {
    const players = [
      { name: 'mcts', agent: mctsAgent(game, { iterations }) },
      { name: 'random', agent: randomAgent() },
    ];
    const episodes = await lastValueFrom(runArena({ game, players, matches, seed: 1 }).pipe(toArray()));
    const tally = { wins: [0, 0], draws: [0, 0], losses: [0, 0] };
    for (const episode of episodes) {
      expect(episode.outcome).toBe('normal');
      const seat = episode.players.findIndex((p) => p.name === 'mcts');
      const r = episode.returns[seat];
      (r > 0 ? tally.wins : r < 0 ? tally.losses : tally.draws)[seat]++;
    }
    return tally;
  }

  it('beats random in at least 90% of tic-tac-toe games', async () => {
    const { wins, losses } = await versusRandom(ttt, 1000, 200);
    // Measured: 99/100 wins as X, 91/100 as O (the rest draws).
    expect(wins[0] + wins[1]).toBeGreaterThanOrEqual(180);
    expect(wins[0]).toBeGreaterThanOrEqual(95);
    expect(losses[0] + losses[1]).toBe(0);
  });

  it('beats random in at least 90% of connect-four games', async () => {
    const { wins } = await versusRandom(c4, 300, 100);
    expect(wins[0] + wins[1]).toBeGreaterThanOrEqual(90);
  });
});
