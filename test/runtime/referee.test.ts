import { afterEach, describe, expect, it, vi } from 'vitest';
import { kuhnPoker, ticTacToe } from '../../games/index.ts';
import { replay } from '../../src/core/index.ts';
import { INVALID_MOVE_PRESETS, parseInvalidMovePolicy, playMatch, type EventMessage } from '../../src/runtime/index.ts';
import { abortListenerCount } from '../../src/runtime/referee.ts';
import { firstLegal, player, quitter, raw, scripted, silent, slow, throwing } from './helpers.ts';

const ttt = ticTacToe();
const match = (a: Parameters<typeof player>[1], b: Parameters<typeof player>[1], extra: Partial<Parameters<typeof playMatch>[0]> = {}) =>
  playMatch({ game: ttt, players: [player('a', a), player('b', b)], seed: 1, matchId: 'm', ...extra });

afterEach(() => {
  vi.useRealTimers();
});

describe('a normal match', () => {
  it('records every step and takes the result from the game', async () => {
    // X takes the top row; O answers in the middle row.
    const episode = await match(scripted('[0]', '[1]', '[2]'), scripted('[3]', '[4]'));
    expect(episode.outcome).toBe('normal');
    expect(episode.returns).toEqual([1, -1]);
    expect(episode.history).toEqual([0, 3, 1, 4, 2]);
    expect(episode.steps.map((s) => [s.seat, s.action, s.valid])).toEqual([[0, '[0]', true], [1, '[3]', true], [0, '[1]', true], [1, '[4]', true], [0, '[2]', true]]);
    expect(episode.steps[1].observation).toContain('You are O');
    expect(ttt.returns(replay(ttt, episode.history))).toEqual(episode.returns);
    expect(episode.players).toEqual([{ seat: 0, name: 'a' }, { seat: 1, name: 'b' }]);
  });

  it('reads actions out of free text', async () => {
    const episode = await match(scripted('I think the corner is best: \\boxed{0}'), firstLegal);
    expect(episode.steps[0]).toMatchObject({ action: '[0]', parsed: 0, valid: true });
  });

  it('takes a reply that is exactly a legal text as that action, and has the game parse any other', async () => {
    const parsed: string[] = [];
    const game: typeof ttt = { ...ttt, parseAction: (state, text) => (parsed.push(text), ttt.parseAction(state, text)) };
    const episode = await playMatch({ game, players: [player('a', scripted('[0]', 'the corner: [1]', '[2]')), player('b', scripted('[3]', '[4]'))], seed: 1, matchId: 'm' });
    expect(episode.history).toEqual([0, 3, 1, 4, 2]);
    expect(episode.steps.map((s) => s.action)).toEqual(['[0]', '[3]', '[1]', '[4]', '[2]']);
    expect(parsed).toEqual(['the corner: [1]']);
  });

  it('samples chance with the match seed, the same way every time', async () => {
    const kuhn = kuhnPoker();
    const run = (seed: number) => playMatch({ game: kuhn, players: [player('a', firstLegal), player('b', firstLegal)], seed, matchId: 'k' });
    expect((await run(5)).history).toEqual((await run(5)).history);
    const deals = new Set<string>();
    for (let seed = 0; seed < 40; seed++) deals.add(JSON.stringify((await run(seed)).history.slice(0, 2)));
    expect(deals.size).toBe(6);
  });

  it('tells spectators what happened, hiding chance outcomes', async () => {
    const events: EventMessage[] = [];
    await playMatch({ game: kuhnPoker(), players: [player('a', firstLegal), player('b', firstLegal)], seed: 3, matchId: 'k', onEvent: (e) => events.push(e) });
    expect(events.slice(0, 2)).toEqual([{ type: 'event', v: 1, matchId: 'k', actor: 'chance' }, { type: 'event', v: 1, matchId: 'k', actor: 'chance' }]);
    expect(events[2]).toMatchObject({ actor: 0, action: '[check]' });
  });

  it('sends each seat start, its turns (with the view), events and the end', async () => {
    const seen: string[] = [];
    const spy = (inbox: Parameters<typeof firstLegal>[0]) => {
      inbox.subscribe((m) => {
        seen.push(m.type === 'turn' ? `turn:${m.step}:${m.view.history?.length}` : m.type);
      });
      return firstLegal(inbox);
    };
    await match(spy, scripted('[3]', '[4]'));
    expect(seen[0]).toBe('start');
    expect(seen[1]).toBe('turn:0:0');
    expect(seen).toContain('turn:1:2');
    expect(seen[seen.length - 1]).toBe('end');
  });

  it('stops a match at the turn limit as a draw', async () => {
    const episode = await match(firstLegal, firstLegal, { maxTurns: 3 });
    expect(episode).toMatchObject({ outcome: 'truncated', returns: [0, 0] });
    expect(episode.steps).toHaveLength(3);
  });
});

describe('invalid moves', () => {
  it('spiral-train: the first invalid move ends the game, -1.5 / +0.5', async () => {
    const episode = await match(scripted('[9]'), firstLegal, { invalidMoves: INVALID_MOVE_PRESETS['spiral-train'] });
    expect(episode).toMatchObject({ outcome: 'forfeit', offender: 0, returns: [-1.5, 0.5] });
    expect(episode.steps[0]).toMatchObject({ seat: 0, action: '[9]', valid: false });
    expect(episode.steps[0].error).toMatch(/not a legal action/);
  });

  it('eval: the first invalid move loses, -1 / +1', async () => {
    const episode = await match(firstLegal, scripted('nonsense'), { invalidMoves: INVALID_MOVE_PRESETS.eval });
    expect(episode).toMatchObject({ outcome: 'forfeit', offender: 1, returns: [1, -1] });
  });

  it('textarena: one warning and a retry with the error, then the second invalid move loses', async () => {
    const retries: unknown[] = [];
    const watcher = (inbox: Parameters<typeof firstLegal>[0]) => {
      inbox.subscribe((m) => m.type === 'turn' && m.retry && retries.push(m.retry));
      return scripted('[0]', '[4]', '[5]')(inbox);
    };
    const recovered = await match(scripted('[0]', '[1]', '[2]'), watcher, { invalidMoves: INVALID_MOVE_PRESETS.textarena });
    expect(recovered.outcome).toBe('normal');
    expect(retries).toEqual([{ attempt: 1, error: expect.stringMatching(/not a legal action/), reply: '[0]' }]);
    expect(recovered.steps.filter((s) => !s.valid)).toHaveLength(1);

    const lost = await match(firstLegal, scripted('[0]', '[0]'), { invalidMoves: INVALID_MOVE_PRESETS.textarena });
    expect(lost).toMatchObject({ outcome: 'forfeit', offender: 1, returns: [1, -1] });
    expect(lost.steps.filter((s) => !s.valid)).toHaveLength(2);
  });

  it('retry:N allows N retries; custom sets the rewards', async () => {
    const three = await match(scripted('x', 'y', '[0]'), firstLegal, { invalidMoves: parseInvalidMovePolicy('retry:2') });
    expect(three.outcome).toBe('normal');
    const custom = await match(scripted('x', 'y'), firstLegal, { invalidMoves: parseInvalidMovePolicy('custom:retries=1,offender=-2,others=0.5') });
    expect(custom).toMatchObject({ outcome: 'forfeit', returns: [-2, 0.5] });
  });

  it('rejects unknown policies with the choices', () => {
    expect(() => parseInvalidMovePolicy('lenient')).toThrow(/unknown invalid-move policy "lenient"; use spiral-train, eval, textarena, retry:N/);
    expect(() => parseInvalidMovePolicy('retry:x')).toThrow(/whole number/);
    expect(() => parseInvalidMovePolicy('custom:bonus=1')).toThrow(/unknown option bonus/);
  });

  it('treats a malformed message as an invalid move with a clear error', async () => {
    const episode = await match(raw({ type: 'action', step: 0 }), firstLegal, { invalidMoves: INVALID_MOVE_PRESETS.textarena });
    expect(episode.outcome).toBe('normal');
    expect(episode.steps[0].valid).toBe(false);
    expect(episode.steps[0].error).toMatch(/bad message from agent \(.*v: .*\); expected \{type: "action"/);
    const huge = await match(raw({ type: 'action', v: 1, matchId: 'm', step: 0, action: 'x'.repeat(70_000) }), firstLegal);
    expect(huge.steps[0].error).toMatch(/action: Too big/i);
  });
});

describe('agents that fail', () => {
  it('a crashing agent forfeits with the reason recorded', async () => {
    const episode = await match(firstLegal, throwing('out of memory'));
    expect(episode).toMatchObject({ outcome: 'forfeit', offender: 1, returns: [1, -1] });
    expect(episode.reason).toMatch(/seat 1 \(b\): the agent failed: out of memory/);
    // The turn it failed is a step, as a timeout's is.
    expect(episode.steps.at(-1)).toMatchObject({ seat: 1, action: '', valid: false, error: expect.stringMatching(/^the agent failed: out of memory/) });
  });

  it('an agent whose stream completes early forfeits', async () => {
    const episode = await match(quitter, firstLegal);
    expect(episode).toMatchObject({ outcome: 'forfeit', offender: 0 });
    expect(episode.reason).toMatch(/stopped \(its stream completed\)/);
  });

  it('an agent that reports an error ends the match with outcome error and no result', async () => {
    const episode = await match(firstLegal, raw({ type: 'error', v: 1, message: 'model endpoint down' }));
    expect(episode).toMatchObject({ outcome: 'error', returns: [0, 0] });
    expect(episode.reason).toMatch(/model endpoint down/);
  });

  it('an agent that never answers times out at the deadline (fake timers)', async () => {
    vi.useFakeTimers();
    const pending = match(firstLegal, silent, { turnTimeoutMs: 5000 });
    await vi.advanceTimersByTimeAsync(4999);
    let settled = false;
    pending.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const episode = await pending;
    expect(episode).toMatchObject({ outcome: 'timeout', offender: 1, returns: [1, -1] });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('with a grace margin, turns tell the agent its time and the referee waits that much longer (fake timers)', async () => {
    vi.useFakeTimers();
    const told: number[] = [];
    const listening = (inbox: Parameters<typeof firstLegal>[0]) => {
      inbox.subscribe((m) => m.type === 'turn' && told.push(m.timeoutMs));
      return slow(530)(inbox);
    };
    const inGrace = match(listening, firstLegal, { turnTimeoutMs: 500, turnGraceMs: 50 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await inGrace).outcome).toBe('normal');
    expect(told.length).toBeGreaterThan(0);
    expect(new Set(told)).toEqual(new Set([500]));

    const late = match(slow(560), firstLegal, { turnTimeoutMs: 500, turnGraceMs: 50 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await late).toMatchObject({ outcome: 'timeout', offender: 0, reason: expect.stringMatching(/within 550 ms/) });
  });

  it('a slow agent within its deadline plays normally, and late answers are dropped', async () => {
    vi.useFakeTimers();
    const pending = match(slow(400), firstLegal, { turnTimeoutMs: 500 });
    await vi.advanceTimersByTimeAsync(10_000);
    expect((await pending).outcome).toBe('normal');
  });
});

describe('matches sharing an abort signal', () => {
  it('are all stopped by it, whichever of them ended before, and those that ended are left alone', async () => {
    // Matches join and leave the signal's list in every order (an arena's or a tournament's many matches share one):
    // the ones still playing when it aborts must all hear it.
    const controller = new AbortController();
    const start = (i: number) =>
      playMatch({ game: ttt, players: [player('a', i % 3 === 0 ? silent : firstLegal), player('b', firstLegal)], seed: i, matchId: `m${i}`, signal: controller.signal });
    const matches = Array.from({ length: 60 }, (_, i) => start(i));
    const hanging = matches.filter((_, i) => i % 3 === 0);
    const finished = await Promise.all(matches.filter((_, i) => i % 3 !== 0));
    expect(finished.every((episode) => episode.outcome === 'normal')).toBe(true);
    // More matches come and go after some have ended; those that ended no longer listen.
    await Promise.all(Array.from({ length: 20 }, (_, i) => start(100 + 3 * i + 1)));
    expect(abortListenerCount(controller.signal)).toBe(hanging.length);
    controller.abort(new Error('run stopped'));
    const results = await Promise.allSettled(hanging);
    expect(results.map((r) => r.status)).toEqual(hanging.map(() => 'rejected'));
    expect(results.map((r) => (r as PromiseRejectedResult).reason.message)).toEqual(hanging.map(() => 'run stopped'));
    expect(abortListenerCount(controller.signal)).toBe(0);
  });
});
