import fc from 'fast-check';
import { Packr, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomAgent } from '../../agents/random.ts';
import { fromAgentMessage } from '../../src/runtime/index.ts';
import { connect, MAX_FRAME_BYTES, SUBPROTOCOLS, type RemoteClient } from '../../src/tournament/index.ts';
import { getJson, RawSocket, testServer, waitFor, type TestServer } from './helpers.ts';

const SERVER_CODES = ['bad-frame', 'bad-message', 'unknown-match', 'out-of-order', 'not-authenticated'];
/** A frame that is never valid: its reply marks the end of a batch. */
const SENTINEL = '{"sentinel": ';
/**
 * The sentinel's reply, and only it: the server says "frame is not valid JSON: ..." only when
 * JSON.parse fails, and every fuzzed frame is JSON.stringify output, which always parses. Other
 * bad-frame replies mention JSON too ("frame holds a value that is not JSON data at <path>: ...",
 * for a "__proto__" key or a lone surrogate), and may quote fuzzed keys, so the match is anchored.
 */
const isSentinelReply = (f: any) => f?.type === 'error' && f.code === 'bad-frame' && typeof f.message === 'string' && /^frame is not valid JSON: /.test(f.message);

/** Messages that look almost right: real types and fields with wrong, missing or extra values. */
const nearMiss = fc.record(
  {
    type: fc.constantFrom('action', 'error', 'hello', 'turn', 'start', 'ACTION', ''),
    v: fc.constantFrom(1, 2, '1', 0, null),
    matchId: fc.oneof(fc.string({ maxLength: 20 }), fc.constant('rr:good1:good2:0'), fc.string({ minLength: 300, maxLength: 300 })),
    step: fc.oneof(fc.integer({ min: -5, max: 10 }), fc.double(), fc.string()),
    action: fc.oneof(fc.string({ maxLength: 30 }), fc.constant('[bet]'), fc.integer()),
    message: fc.string({ maxLength: 30 }),
    meta: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 2 })),
    token: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: [] },
);
const frame = fc.oneof(fc.jsonValue({ maxDepth: 3 }), nearMiss);

/** A valid agent error message without a match id is taken silently (the agent gives up all its matches, here none); everything else gets a reply. */
const silent = (value: unknown) => {
  const parsed = fromAgentMessage.safeParse(value);
  return parsed.success && parsed.data.type === 'error' && parsed.data.matchId === undefined;
};

describe('protocol fuzzing', () => {
  let t: TestServer;
  let good: RemoteClient[];

  beforeAll(async () => {
    t = await testServer(['good1', 'good2', 'fuzz', 'pack', 'big'], {
      tournaments: [{ name: 'rr', game: 'kuhn-poker', format: 'round-robin', agents: ['good1', 'good2'], gamesPerPairing: 60, concurrency: 1 }],
      limits: { messagesPerSecond: 1e6, burst: 1e6 },
    });
    good = [connect(t.server.url, t.tokens.good1, randomAgent()), connect(t.server.url, t.tokens.good2, randomAgent(), { format: 'msgpack' })];
  });

  afterAll(async () => {
    await Promise.all(good.map((c) => c.close()));
    await t.stop();
  });

  it('answers every random or malformed frame from an agent with a protocol error', async () => {
    const fuzz = new RawSocket(t.server.url, { headers: { authorization: `Bearer ${t.tokens.fuzz}` } });
    await fuzz.next((f) => f.type === 'welcome');
    // Frames whose bad-frame replies mention JSON (values that are not JSON data) do not pass for the sentinel's.
    const lookalikes = ['{"__proto__": 1}', '{"a": ["\\ud800"]}', '{"sentinel": "\\udc00"}'];
    for (const text of lookalikes) fuzz.send(text);
    fuzz.send(SENTINEL);
    const end = await fuzz.next(isSentinelReply);
    expect(end.message).toMatch(/JSON/);
    const others = fuzz.frames.splice(0);
    expect(others).toHaveLength(lookalikes.length);
    for (const reply of others) {
      expect(reply).toMatchObject({ type: 'error', code: 'bad-frame', message: expect.stringMatching(/not JSON data/) });
      expect(isSentinelReply(reply)).toBe(false);
    }
    await fc.assert(
      fc.asyncProperty(fc.array(frame, { maxLength: 15 }), async (values) => {
        for (const value of values) fuzz.send(JSON.stringify(value));
        fuzz.send(SENTINEL);
        await fuzz.next(isSentinelReply);
        const replies = fuzz.frames.splice(0);
        expect(replies).toHaveLength(values.filter((v) => !silent(v)).length);
        for (const reply of replies) {
          expect(reply).toMatchObject({ type: 'error', v: 1, code: expect.toBeOneOf(SERVER_CODES), message: expect.any(String) });
          expect(isSentinelReply(reply)).toBe(false);
        }
      }),
      { numRuns: 150 },
    );
    expect(fuzz.closed).toBeUndefined();
    fuzz.close();
  });

  it('answers random bytes, on JSON and msgpack connections, and anything sent before hello', async () => {
    const json = new RawSocket(t.server.url);
    await json.opened;
    const packed = new RawSocket(t.server.url, { protocols: [SUBPROTOCOLS.msgpack], headers: { authorization: `Bearer ${t.tokens.pack}` } });
    await packed.next();
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.jsonValue({ maxDepth: 2 }), async (bytes, value) => {
        json.ws.send(bytes, { binary: true });
        expect(await json.next()).toMatchObject({ type: 'error', code: 'bad-frame' });
        if ((value as { type?: unknown })?.type !== 'hello') {
          json.send(JSON.stringify(value));
          expect(await json.next()).toMatchObject({ type: 'error', code: expect.toBeOneOf(['not-authenticated', 'bad-frame']) });
        }
        packed.ws.send(bytes, { binary: true });
        const reply = unpack(await packed.next()) as { type: string; code: string };
        expect(reply).toMatchObject({ type: 'error', code: expect.toBeOneOf(['bad-frame', 'bad-message']) });
      }),
      { numRuns: 100 },
    );
    expect(json.closed).toBeUndefined();
    expect(packed.closed).toBeUndefined();
    json.close();
    packed.close();
  });

  it('refuses a msgpack map whose key is not a string, anywhere in a frame, as a bad frame', async () => {
    const packed = new RawSocket(t.server.url, { protocols: [SUBPROTOCOLS.msgpack], headers: { authorization: `Bearer ${t.tokens.pack}` } });
    await packed.next();
    const maps = new Packr({ useRecords: false, mapsAsObjects: false });
    const action = (extra: [unknown, unknown][]) => maps.pack(new Map<unknown, unknown>([['type', 'action'], ['v', 1], ['matchId', 'nowhere'], ['step', 0], ['action', '[bet]'], ...extra]));
    const reply = async (frame: Buffer) => {
      packed.ws.send(frame, { binary: true });
      return unpack(await packed.next()) as { code: string; message: string };
    };
    // With string keys only, the frame is read (and refused for its match, which does not exist).
    expect(await reply(action([['meta', new Map([['model', 'm']])]]))).toMatchObject({ code: 'unknown-match' });
    expect(await reply(action([[1, 'x']]))).toEqual({ type: 'error', v: 1, code: 'bad-frame', message: 'frame holds a map key that is not a string at the top: 1 (msgpack maps must have string keys, as JSON objects do)' });
    expect(await reply(action([['meta', new Map<unknown, unknown>([['usage', [new Map([[2, 3]])]]])]]))).toMatchObject({ code: 'bad-frame', message: expect.stringMatching(/^frame holds a map key that is not a string at meta\.usage\.0: 2 /) });
    expect(await reply(action([['meta', new Map([[true, 1]])]]))).toMatchObject({ code: 'bad-frame', message: expect.stringMatching(/^frame holds a map key that is not a string at meta: boolean /) });
    expect(packed.closed).toBeUndefined();
    packed.close();
  });

  it('cuts off a frame over the size limit, and only that connection', async () => {
    const big = new RawSocket(t.server.url, { headers: { authorization: `Bearer ${t.tokens.big}` } });
    await big.next((f) => f.type === 'welcome');
    big.send(JSON.stringify({ type: 'action', v: 1, matchId: 'x', step: 0, action: 'a'.repeat(MAX_FRAME_BYTES) }));
    await waitFor(() => big.closed);
    expect(big.closed!.code).toBe(1009);
  });

  it('keeps serving the other agents throughout', async () => {
    await t.server.runner('rr')!.done;
    expect(t.server.store.results()).toHaveLength(60);
    expect(t.server.store.results().every((r) => r.outcome === 'normal')).toBe(true);
    expect((await getJson(`${t.server.url}/api/tournaments`)).tournaments[0].status).toBe('finished');
  });
});

describe('replies out of order', () => {
  it('refuses a reply for the wrong step, a second reply and one for a match the agent is not in', async () => {
    const t = await testServer(['ann', 'bob'], {
      tournaments: [{ name: 'o', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 1, swapSeats: false }],
    });
    const bob = connect(t.server.url, t.tokens.bob, randomAgent());
    const ann = new RawSocket(t.server.url, { headers: { authorization: `Bearer ${t.tokens.ann}` } });
    try {
      const turn = await ann.next((f) => f.type === 'turn');
      const action = (step: number, matchId = turn.matchId) => ({ type: 'action', v: 1, matchId, step, action: turn.legal[0] });
      ann.send(action(turn.step + 1));
      expect(await ann.next((f) => f.type === 'error')).toMatchObject({ code: 'out-of-order', message: expect.stringMatching(/waiting for step 0, got step 1/) });
      ann.send(action(0, 'o:someone:else:0'));
      expect(await ann.next((f) => f.type === 'error')).toMatchObject({ code: 'unknown-match' });
      // Meta nested deeper than an episode could keep it is refused; the turn still waits for a proper reply.
      let deep: unknown = 1;
      for (let i = 0; i < 250; i++) deep = { d: deep };
      ann.send({ ...action(turn.step), meta: { deep } });
      expect(await ann.next((f) => f.type === 'error')).toMatchObject({ code: 'bad-message', message: expect.stringMatching(/^bad message from agent: meta\.deep(\.d)+: data nested more than 64 levels deep/) });
      ann.send(action(turn.step));
      ann.send(action(turn.step));
      expect(await ann.next((f) => f.type === 'error')).toMatchObject({ code: 'out-of-order' });
      // The match goes on: ann plays the first legal square every turn.
      for (;;) {
        const next = await ann.next((f) => f.type === 'turn' || f.type === 'end');
        if (next.type === 'end') break;
        ann.send({ type: 'action', v: 1, matchId: next.matchId, step: next.step, action: next.legal[0] });
      }
      await t.server.runner('o')!.done;
      expect(t.server.store.results()[0].outcome).toBe('normal');
    } finally {
      ann.close();
      await bob.close();
      await t.stop();
    }
  });

  it('drops messages over the rate limit with an error', async () => {
    const t = await testServer(['ann'], { limits: { messagesPerSecond: 5, burst: 10 } });
    const ann = new RawSocket(t.server.url, { headers: { authorization: `Bearer ${t.tokens.ann}` } });
    try {
      await ann.next((f) => f.type === 'welcome');
      for (let i = 0; i < 30; i++) ann.send('{}');
      await waitFor(() => ann.frames.length >= 30);
      const codes = ann.frames.map((f) => f.code);
      expect(codes.filter((c) => c === 'bad-message').length).toBeGreaterThanOrEqual(10);
      expect(codes.filter((c) => c === 'rate-limited').length).toBeGreaterThanOrEqual(15);
    } finally {
      ann.close();
      await t.stop();
    }
  });
});
