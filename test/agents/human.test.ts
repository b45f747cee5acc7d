import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { humanAgent } from '../../agents/human.ts';
import { createPlayer } from '../../agents/index.ts';
import { kuhnPoker, ticTacToe } from '../../games/index.ts';
import { policyAgent } from '../../src/runtime/agent.ts';
import { INVALID_MOVE_PRESETS } from '../../src/runtime/invalid-moves.ts';
import { playMatch } from '../../src/runtime/referee.ts';

const ttt = ticTacToe();
/** Always plays the first legal action. */
const firstLegal = { name: 'first', agent: policyAgent((turn) => turn.legal[0]) };

/** A tic-tac-toe match of a human (seat 0, typing `lines`) against `firstLegal`. */
async function playHuman(lines: string[], end = true) {
  const input = new PassThrough();
  const output = new PassThrough();
  let shown = '';
  output.on('data', (chunk) => (shown += chunk));
  input.write(lines.map((line) => `${line}\n`).join(''));
  if (end) input.end();
  const episode = await playMatch({
    game: ttt,
    players: [{ name: 'human', agent: humanAgent({ input, output }) }, firstLegal],
    seed: 1,
    matchId: 'human-test',
    invalidMoves: INVALID_MOVE_PRESETS.textarena,
    turnTimeoutMs: 5000,
  });
  return { episode, shown, input };
}

describe('humanAgent', () => {
  it("reads the game's action text first, asks again after a typo, and shows the result", async () => {
    // X types 1: tic-tac-toe writes cell 1 as [1], so that is cell 1, not the first item listed. O takes 0.
    // X types [4]; O takes 2. X types nonsense and is asked again, locally; then 7 completes the column 1-4-7.
    const { episode, shown } = await playHuman(['1', '[4]', 'pass', '7']);
    expect(episode.outcome).toBe('normal');
    expect(episode.history).toEqual([1, 0, 4, 2, 7]);
    expect(episode.steps.every((step) => step.valid)).toBe(true);
    expect(episode.returns).toEqual([1, -1]);
    expect(shown).toContain(ttt.rules(0));
    expect(shown.split(ttt.rules(0))).toHaveLength(2);
    expect(shown).toContain('  1. [0]\n  2. [1]');
    expect(shown).toContain('Seat 1 plays [0].');
    expect(shown).toContain('"pass" is not a legal action here. type the action (e.g. [3]) or #N for the N-th in this list.');
    expect(shown).toContain('Game over. You won. Returns: seat 0 +1, seat 1 -1');
  });

  it('takes a number as the item of the list when it is no action text', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    input.end('2\n1\n');
    const episode = await playMatch({
      game: kuhnPoker(),
      players: [{ name: 'human', agent: humanAgent({ input, output }) }, firstLegal],
      seed: 1,
      matchId: 'human-kuhn',
      turnTimeoutMs: 5000,
    });
    expect(episode.steps.find((s) => s.seat === 0)?.action).toBe('[bet]');
  });

  it('takes #N as the N-th listed where the action texts are numbers', async () => {
    // X: #5 of the nine cells is 4; O takes 0. X: #3 of [1, 2, 3, 5, ...] is 3; O takes 1. X types 5: cell 5 wins the row 3-4-5.
    const { episode, shown } = await playHuman(['#5', '#3', '5']);
    expect(episode.history.slice(0, 4)).toEqual([4, 0, 3, 1]);
    expect(episode.history[4]).toBe(5);
    expect(episode.returns).toEqual([1, -1]);
    expect(shown).toContain('Your move: type the action (e.g. [0]) or #N for the N-th in this list.');
  });

  it('asks again, without a move, for a number past the end of the list', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let shown = '';
    output.on('data', (chunk) => (shown += chunk));
    input.end('9\nbet\n');
    const episode = await playMatch({
      game: kuhnPoker(),
      players: [{ name: 'human', agent: humanAgent({ input, output }) }, firstLegal],
      seed: 1,
      matchId: 'human-kuhn-typo',
      turnTimeoutMs: 5000,
    });
    expect(shown).toContain('"9" is not a legal action here. type the action (e.g. [check]) or its number in this list.');
    expect(episode.steps.find((s) => s.seat === 0)?.action).toBe('[bet]');
  });

  it('releases its input when the match ends', async () => {
    const { input } = await playHuman(['[0]', '[4]', '[8]'], false);
    expect(input.listenerCount('data')).toBe(0);
    expect(input.listenerCount('end')).toBe(0);
  });

  it('forfeits when the input closes before a move', async () => {
    const { episode, input } = await playHuman(['[0]']);
    expect(episode.outcome).toBe('forfeit');
    expect(episode.reason).toMatch(/input closed/);
    expect(episode.history).toEqual([0, 1]);
    expect(input.listenerCount('data')).toBe(0);
  });

  it('is registered and takes no options', () => {
    expect(createPlayer('human', ttt).name).toBe('human');
    expect(() => createPlayer('human:name=ann', ttt)).toThrow(/takes no options/);
  });
});
