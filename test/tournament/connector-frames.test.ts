import { Unpackr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { policyAgent } from '../../src/runtime/index.ts';
import { connect, type RemoteClient } from '../../src/tournament/index.ts';
import { frameWithin } from '../../src/tournament/connector.ts';
import { MAX_FRAME_BYTES, type WireFormat } from '../../src/tournament/wire.ts';
import { testServer, type TestServer } from './helpers.ts';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
const decode = (frame: string | Buffer) => (typeof frame === 'string' ? JSON.parse(frame) : unpackr.unpack(frame));
const size = (frame: string | Buffer) => (typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length);

describe.each(['json', 'msgpack'] as WireFormat[])('a %s reply too large for a frame', (format) => {
  const action = { type: 'action', v: 1, matchId: 't:a:b:0', step: 3, action: '[bet]' } as const;

  it('goes as it is when it fits', () => {
    const message = { ...action, meta: { note: 'x'.repeat(1000) } };
    expect(decode(frameWithin(message, format))).toEqual(message);
  });

  it('drops the bulkiest fields of its meta until it fits, and names them', () => {
    // logprobs the bulkiest (56 KB as JSON, 72 KB as msgpack), then messages (50 KB): both must go.
    const meta = { model: 'm1', usage: { tokens: 12 }, logprobs: Array.from({ length: 8000 }, () => -0.125), messages: ['x'.repeat(50_000)], completion: 'c'.repeat(20_000) };
    const frame = frameWithin({ ...action, meta }, format);
    expect(size(frame)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    const sent = decode(frame);
    expect(sent).toMatchObject(action);
    expect(Object.keys(sent.meta).sort()).toEqual(['completion', 'metaDropped', 'model', 'usage']);
    expect(sent.meta.completion === meta.completion && sent.meta.usage.tokens === 12).toBe(true);
    expect(sent.meta.metaDropped).toEqual({ fields: ['logprobs', 'messages'], reason: expect.stringMatching(/^the reply was \d+ bytes; a frame to the server holds at most 65536 bytes$/) });
  });

  it('becomes an error for its match when the action alone is too large', () => {
    const frame = frameWithin({ ...action, action: 'y'.repeat(65_500) }, format);
    expect(size(frame)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    expect(decode(frame)).toMatchObject({ type: 'error', matchId: action.matchId, message: expect.stringMatching(/reply to step 3 is \d+ bytes/) });
  });

  it.each([
    ['control characters', '\u0001'.repeat(70_000)],
    ['characters outside the BMP', '😀'.repeat(40_000)],
  ])('an error message of %s is cut to fit, never inside a surrogate pair', (_, text) => {
    const frame = frameWithin({ type: 'error', v: 1, matchId: 'm', message: text }, format);
    expect(size(frame)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
    const sent = decode(frame);
    expect(sent.message).toMatch(/… \(cut: a frame to the server holds at most 65536 bytes\)$/);
    expect(sent.message.isWellFormed()).toBe(true);
  });
});

describe('an agent whose meta does not fit in a frame', () => {
  let t: TestServer | undefined;
  const clients: RemoteClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await t?.stop();
  });

  it('plays its moves, and the episode says its meta was left out', async () => {
    t = await testServer(['big', 'small'], { tournaments: [{ name: 'f', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 2 }] });
    const first = policyAgent((turn) => turn.legal[0]);
    const bloated = policyAgent((turn) => ({ action: turn.legal[0], meta: { prompt: 'p'.repeat(80_000) } }));
    clients.push(connect(t.server.url, t.tokens.big, bloated), connect(t.server.url, t.tokens.small, first));
    await t.server.runner('f')!.done;
    const results = t.server.store.results();
    expect(results.map((r) => r.outcome)).toEqual(['normal', 'normal']);
    for (const { matchId, players } of results) {
      const seat = players.findIndex((p) => p.agent === 'big');
      const steps = t.server.store.match(matchId)!.episode!.steps.filter((step) => step.seat === seat);
      expect(steps.length).toBeGreaterThan(0);
      for (const step of steps) expect(step.meta).toEqual({ metaDropped: { fields: ['prompt'], reason: expect.stringMatching(/a frame to the server holds at most/) } });
    }
  });
});
