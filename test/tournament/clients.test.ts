import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { randomAgent } from '../../agents/random.ts';
import { policyAgent } from '../../src/runtime/index.ts';
import { connect, type RemoteClient, type WelcomeMessage } from '../../src/tournament/index.ts';
import { createGame } from '../../games/index.ts';
import { startServer } from '../../src/tournament/index.ts';
import { RawSocket, testServer, waitFor, type TestServer } from './helpers.ts';

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function server(agents: string[], options: Parameters<typeof testServer>[1] = {}): Promise<TestServer> {
  const t = await testServer(agents, options);
  cleanup.push(() => t.stop());
  return t;
}

function client(...args: Parameters<typeof connect>): RemoteClient {
  const c = connect(...args);
  cleanup.push(() => c.close());
  return c;
}

function raw(url: string, options?: ConstructorParameters<typeof RawSocket>[1]): RawSocket {
  const socket = new RawSocket(url, options);
  cleanup.push(() => socket.close());
  return socket;
}

const hello = (token: string, extra: object = {}) => ({ type: 'hello', v: 1, token, ...extra });

describe('identity', () => {
  it('refuses a wrong token in hello or header, and someone else\'s token under a claimed name', async () => {
    const t = await server(['ann', 'bob']);
    const wrong = raw(t.server.url);
    await wrong.opened;
    wrong.send(hello('sp_not-a-token'));
    expect(await wrong.next()).toMatchObject({ type: 'error', code: 'unauthorized' });
    await waitFor(() => wrong.closed);
    expect(wrong.closed!.code).toBe(4401);

    const impostor = raw(t.server.url);
    await impostor.opened;
    impostor.send(hello(t.tokens.bob, { agent: 'ann' }));
    expect(await impostor.next()).toMatchObject({ type: 'error', code: 'unauthorized', message: expect.stringMatching(/does not belong to agent ann/) });

    await expect(raw(t.server.url, { headers: { authorization: 'Bearer sp_wrong' } }).opened).rejects.toThrow(/401/);
    await expect(raw(t.server.url, { headers: { authorization: `Bearer ${t.tokens.bob}`, 'selfplay-agent': 'ann' } }).opened).rejects.toThrow(/401/);

    const refused = client(t.server.url, 'sp_wrong', randomAgent());
    await expect(refused.ready).rejects.toThrow(/401/);
    expect(await refused.closed).toMatch(/401/);
  });

  it('never takes a token from the URL', async () => {
    const t = await server(['ann']);
    const ws = new WebSocket(`${t.server.url.replace('http', 'ws')}/agent?token=${t.tokens.ann}`);
    const status = await new Promise((resolve) => ws.once('unexpected-response', (_req, res) => resolve(res.statusCode)));
    expect(status).toBe(400);
  });

  it('keeps one live connection per agent', async () => {
    const t = await server(['ann']);
    const first = raw(t.server.url, { headers: { authorization: `Bearer ${t.tokens.ann}` } });
    expect(await first.next()).toMatchObject({ type: 'welcome', agent: 'ann' });
    await expect(raw(t.server.url, { headers: { authorization: `Bearer ${t.tokens.ann}` } }).opened).rejects.toThrow(/409/);
    const second = raw(t.server.url);
    await second.opened;
    second.send(hello(t.tokens.ann));
    expect(await second.next()).toMatchObject({ type: 'error', code: 'already-connected' });
    await waitFor(() => second.closed);
    expect(second.closed!.code).toBe(4409);
    expect(first.closed).toBeUndefined();
  });

  it('closes a connection that never says hello, and one that stops answering pings', async () => {
    // Its own server for each half. Here the heartbeat (every minute) cannot fire before the hello
    // timeout, however long the event loop stalls: the only thing that can close the mute socket is
    // the hello timeout.
    const quiet = await server(['ann'], { heartbeatMs: 60_000, limits: { helloTimeoutMs: 200 } });
    const mute = raw(quiet.server.url);
    await waitFor(() => mute.closed, 10_000, 'the mute connection to close');
    expect(mute.closed!.code).toBe(4408);
    // The error comes first, as docs/protocol.md says.
    expect(mute.frames).toEqual([{ type: 'error', v: 1, code: 'not-authenticated', message: 'no hello within 200 ms' }]);

    // Here the connection is authenticated by its header (no hello timer runs), so only the heartbeat can close it.
    const t = await server(['ann'], { heartbeatMs: 100 });
    const ws = new WebSocket(`${t.server.url.replace('http', 'ws')}/agent`, { headers: { authorization: `Bearer ${t.tokens.ann}` }, autoPong: false });
    cleanup.push(() => ws.terminate());
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    expect(await closed).toBe(1006);
  });

  it('refuses an empty Sec-WebSocket-Protocol header with HTTP 400, and takes a connection without one as JSON', async () => {
    const t = await server(['ann']);
    const empty = raw(t.server.url, { headers: { authorization: `Bearer ${t.tokens.ann}`, 'sec-websocket-protocol': '' } });
    await expect(empty.opened).rejects.toThrow('HTTP 400');
    const none = raw(t.server.url, { headers: { authorization: `Bearer ${t.tokens.ann}` } });
    expect(await none.next()).toMatchObject({ type: 'welcome', agent: 'ann' });
    expect(none.ws.protocol).toBe('');
  });

  it('lets browsers connect from the server\'s own origin and the allowlist only', async () => {
    const t = await server(['ann'], { origins: ['http://allowed.example'] });
    const live = (origin: string) =>
      new Promise<number | 'open'>((resolve) => {
        const ws = new WebSocket(`${t.server.url.replace('http', 'ws')}/live`, { origin });
        ws.once('open', () => (ws.close(), resolve('open')));
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode!));
      });
    expect(await live('http://evil.example')).toBe(403);
    expect(await live('http://allowed.example')).toBe('open');
    expect(await live(t.server.url)).toBe('open');
  });
});

describe('clients that misbehave', () => {
  it('a client that vanishes mid-match forfeits after the reconnect grace; the tournament goes on', async () => {
    const t = await server(['ann', 'ghost'], {
      tournaments: [{ name: 'v', game: 'kuhn-poker', format: 'round-robin', gamesPerPairing: 1, reconnectGraceMs: 300 }],
    });
    client(t.server.url, t.tokens.ann, randomAgent());
    const ghost = raw(t.server.url, { headers: { authorization: `Bearer ${t.tokens.ghost}` } });
    await ghost.next((f) => f.type === 'start');
    ghost.close();
    await t.server.runner('v')!.done;
    const [result] = t.server.store.results();
    const episode = t.server.store.match(result.matchId)!.episode!;
    const seat = episode.players.findIndex((p) => p.name === 'ghost');
    expect(episode).toMatchObject({ outcome: 'forfeit', offender: seat });
    expect(episode.reason).toMatch(/ghost.*disconnected and not back within 300 ms/);
    expect(result.returns[seat]).toBe(-1);
  });

  it('an invalid move gets a retry under the textarena policy, and both replies are in the episode', async () => {
    const t = await server(['ann', 'bob'], {
      tournaments: [{ name: 'i', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 1, swapSeats: false, invalidMoves: 'textarena' }],
    });
    const ann = raw(t.server.url, { headers: { authorization: `Bearer ${t.tokens.ann}` } });
    client(t.server.url, t.tokens.bob, randomAgent());
    const turn = await ann.next((f) => f.type === 'turn');
    ann.send({ type: 'action', v: 1, matchId: turn.matchId, step: turn.step, action: 'the middle, please' });
    const retry = await ann.next((f) => f.type === 'turn');
    expect(retry).toMatchObject({ step: 1, retry: { attempt: 1, reply: 'the middle, please' } });
    for (let next = retry; next.type === 'turn'; next = await ann.next((f) => f.type === 'turn' || f.type === 'end')) {
      ann.send({ type: 'action', v: 1, matchId: next.matchId, step: next.step, action: next.legal[0] });
    }
    await t.server.runner('i')!.done;
    const episode = t.server.store.match(turn.matchId)!.episode!;
    expect(episode.steps[0]).toMatchObject({ seat: 0, valid: false, action: 'the middle, please' });
    expect(episode.steps[1]).toMatchObject({ seat: 0, valid: true });
  });

  it('a slow client times out (recorded in the episode) and its late reply is refused', async () => {
    // The slow agent takes the first seat, so the first turn is its own and the timeout is the first
    // thing to happen: ann never has to answer within the tight budget, however loaded the machine.
    const t = await server(['ann', 'slow'], {
      tournaments: [{ name: 's', game: 'tic-tac-toe', format: 'round-robin', agents: ['slow', 'ann'], gamesPerPairing: 1, swapSeats: false, timePerMoveMs: 100, graceMs: 50 }],
    });
    const slow = raw(t.server.url, { headers: { authorization: `Bearer ${t.tokens.slow}` } });
    client(t.server.url, t.tokens.ann, randomAgent());
    const turn = await slow.next((f) => f.type === 'turn');
    expect(turn).toMatchObject({ seat: 0, step: 0, timeoutMs: 100 });
    await t.server.runner('s')!.done;
    slow.send({ type: 'action', v: 1, matchId: turn.matchId, step: turn.step, action: turn.legal[0] });
    expect(await slow.next((f) => f.type === 'error')).toMatchObject({ code: 'unknown-match', matchId: turn.matchId });
    const episode = t.server.store.match(turn.matchId)!.episode!;
    expect(episode).toMatchObject({ outcome: 'timeout', offender: turn.seat });
    expect(episode.steps.at(-1)).toMatchObject({ seat: turn.seat, valid: false, error: 'no reply within 150 ms' });
  });

  it('a client that closes right after its move still gets the event of that move before the close', async () => {
    const t = await server(['ann', 'bob'], { tournaments: [{ name: 'c', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 1, swapSeats: false }] });
    const ann = raw(t.server.url, { headers: { authorization: `Bearer ${t.tokens.ann}` } });
    const bob = raw(t.server.url, { headers: { authorization: `Bearer ${t.tokens.bob}` } });
    const turn = await ann.next((f) => f.type === 'turn');
    ann.send({ type: 'action', v: 1, matchId: turn.matchId, step: turn.step, action: turn.legal[0] });
    await bob.next((f) => f.type === 'turn');
    // Bob takes his time, so the event waits (up to 50 ms) to leave with ann's next turn; ann's close frame comes first.
    await new Promise((resolve) => setTimeout(resolve, 10));
    ann.ws.close(1000, 'done');
    expect(await ann.closing()).toMatchObject({ code: 1000 });
    expect(await ann.next((f) => f.type === 'event' && f.actor === turn.seat, 0)).toMatchObject({ matchId: turn.matchId, action: turn.legal[0] });
  });

  it('a client that drops mid-match reconnects, gets the full state again and finishes the match', async () => {
    const t = await server(['ann', 'bob'], {
      tournaments: [{ name: 'r', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 1, swapSeats: false, reconnectGraceMs: 5000 }],
    });
    const welcomes: WelcomeMessage[] = [];
    let dropped = false;
    const seen: string[] = [];
    const flaky: RemoteClient = client(
      t.server.url,
      t.tokens.ann,
      (inbox) => {
        inbox.subscribe((m) => seen.push(m.type === 'turn' ? `turn:${m.step}:${m.view.history?.length}` : m.type));
        return policyAgent((turn) => {
          if (turn.step === 1 && !dropped) {
            dropped = true;
            flaky.drop();
            return new Promise<string>(() => undefined);
          }
          return turn.legal[0];
        })(inbox);
      },
      { minBackoffMs: 20, onStatus: (s) => s.state === 'ready' && welcomes.push(s.welcome) },
    );
    client(t.server.url, t.tokens.bob, policyAgent((turn) => turn.legal[0]));
    await t.server.runner('r')!.done;
    const [result] = t.server.store.results();
    expect(welcomes.map((w) => w.resumed)).toEqual([[], [result.matchId]]);
    // Before the drop: start, its turns and events; after: start again, the events so far, the pending turn.
    const restart = seen.lastIndexOf('start');
    expect(restart).toBeGreaterThan(0);
    expect(seen.slice(restart, restart + 4)).toEqual(['start', 'event', 'event', 'turn:1:2']);
    const episode = t.server.store.match(result.matchId)!.episode!;
    expect(episode.outcome).toBe('normal');
    const annSteps = episode.steps.filter((s) => s.seat === 0);
    expect(annSteps[1].meta).toMatchObject({ disconnects: [{ step: 1, downMs: expect.any(Number) }] });
  });

  it('after a server restart, a match that was running comes again as a fresh start with the same match id and seed', async () => {
    const tournaments = [{ name: 'x', game: 'kuhn-poker', format: 'round-robin' as const, gamesPerPairing: 1, swapSeats: false }];
    const t = await testServer(['ann', 'bob'], { tournaments });
    const db = t.db;
    const sockets = (url: string) => ['ann', 'bob'].map((agent) => raw(url, { headers: { authorization: `Bearer ${t.tokens[agent]}` } }));
    const [ann, bob] = sockets(t.server.url);
    const before = await ann.next((f) => f.type === 'start');
    await ann.next((f) => f.type === 'turn');
    await bob.next((f) => f.type === 'start');
    await t.server.close();
    expect((await ann.closing()).code).toBe(1001);
    const again = await startServer({ db, port: 0, host: '127.0.0.1', log: () => undefined, games: createGame });
    cleanup.push(async () => {
      await again.close();
      // The first server is closed already; this removes its database.
      await t.stop();
    });
    const [ann2, bob2] = sockets(again.url);
    expect(await ann2.next()).toMatchObject({ type: 'welcome', resumed: [] });
    expect(await bob2.next()).toMatchObject({ type: 'welcome', resumed: [] });
    const after = await ann2.next((f) => f.type === 'start');
    expect(after).toEqual(before);
    expect(await ann2.next((f) => f.type === 'turn')).toMatchObject({ matchId: before.matchId, step: 0 });
  });

  it('a client that drops mid-match and never comes back forfeits, its disconnection recorded on the step it interrupted', async () => {
    const t = await server(['ann', 'bob'], {
      tournaments: [{ name: 'g', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 1, swapSeats: false, reconnectGraceMs: 200, timePerMoveMs: 20_000 }],
    });
    const ann = raw(t.server.url, { headers: { authorization: `Bearer ${t.tokens.ann}` } });
    client(t.server.url, t.tokens.bob, policyAgent((turn) => turn.legal[0]));
    const first = await ann.next((f) => f.type === 'turn');
    ann.send({ type: 'action', v: 1, matchId: first.matchId, step: 0, action: first.legal[0] });
    await ann.next((f) => f.type === 'turn' && f.step === 1);
    ann.close();
    await t.server.runner('g')!.done;
    const episode = t.server.store.match(first.matchId)!.episode!;
    expect(episode).toMatchObject({ outcome: 'forfeit', offender: 0, reason: 'seat 0 (ann): the agent failed: disconnected and not back within 200 ms' });
    const annSteps = episode.steps.filter((s) => s.seat === 0);
    expect(annSteps).toHaveLength(2);
    expect(annSteps[0].meta).toBeUndefined();
    // The turn it never answered is a step of its own, and the disconnection is recorded there, as for a seat that returns.
    expect(annSteps[1]).toMatchObject({ valid: false, action: '', error: 'the agent failed: disconnected and not back within 200 ms', meta: { disconnects: [{ step: 1, returned: false }] } });
    expect(annSteps[1].observation).toBeTruthy();
  });
});
