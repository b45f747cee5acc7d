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
  it("reads the game's action text first, shows a retry error and the result", async () => {
    // X types 1: tic-tac-toe writes cell 1 as [1], so that is cell 1, not the first item listed. O takes 0.
    // X types [4]; O takes 2. X types nonsense and is asked again; then 7 completes the column 1-4-7.
    const { episode, shown } = await playHuman(['1', '[4]', 'pass', '7']);
    expect(episode.outcome).toBe('normal');
    expect(episode.history).toEqual([1, 0, 4, 2, 7]);
    expect(episode.returns).toEqual([1, -1]);
    expect(shown).toContain(ttt.rules(0));
    expect(shown.split(ttt.rules(0))).toHaveLength(2);
    expect(shown).toContain('  1. [0]\n  2. [1]');
    expect(shown).toContain('Seat 1 plays [0].');
    expect(shown).toMatch(/Your answer "pass" was not accepted \(attempt 1\): .*not a legal action/);
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
