import { connect as tcpConnect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { randomAgent } from '../../agents/random.ts';
import { connect } from '../../src/tournament/index.ts';
import { SpectatorHub } from '../../src/tournament/spectators.ts';
import { getJson, RawSocket, testServer, waitFor, type TestServer } from './helpers.ts';

/** Sends raw bytes over TCP and resolves with everything the server sent back before closing. */
function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1', () => socket.write(request));
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (received += chunk));
    socket.on('end', () => resolve(received));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(received);
    }, 3000).unref();
  });
}

let current: TestServer | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

describe('requests whose target is not a valid URL', () => {
  const targets = ['http://a:99999/', 'http://[/', 'http://%zz/'];

  it.each(targets)('%s gets 400 over HTTP and over an upgrade, and the server goes on serving', async (target) => {
    current = await testServer(['a']);
    const { port, url } = current.server;
    const plain = await rawHttp(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    expect(plain).toMatch(/^HTTP\/1\.1 400 /);
    expect(plain).toContain('not a valid URL');
    const upgrade = await rawHttp(port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
    expect(upgrade).toMatch(/^HTTP\/1\.1 400 /);
    expect((await getJson(`${url}/api/tournaments`)).tournaments).toEqual([]);
  });
});

describe('closing the server', () => {
  it('finishes while an agent told to go keeps reconnecting and a spectator never answers', async () => {
    current = await testServer(['a']);
    const { url } = current.server;
    const agent = connect(url, current.tokens.a, randomAgent(), { minBackoffMs: 5, maxBackoffMs: 10 });
    await agent.ready;
    const watcher = new WebSocket(`${url.replace(/^http/, 'ws')}/live`);
    watcher.on('error', () => undefined);
    await new Promise((resolve) => watcher.once('open', resolve));
    (watcher as unknown as { _socket: { pause(): void } })._socket.pause();
    try {
      await current.stop();
      current = undefined;
    } finally {
      await agent.close();
      watcher.terminate();
    }
  });

  it('does not wait for a peer that never answers the close frame', async () => {
    current = await testServer(['a']);
    const watcher = new WebSocket(`${current.server.url.replace(/^http/, 'ws')}/live`);
    watcher.on('error', () => undefined);
    await new Promise((resolve) => watcher.once('open', resolve));
    // A peer that stops reading: it never sees the close frame, so it never answers it.
    (watcher as unknown as { _socket: { pause(): void } })._socket.pause();
    const closed = new Promise((resolve) => watcher.once('close', resolve));
    const started = performance.now();
    await current.stop();
    current = undefined;
    // ws would wait 30 s for the answer; the server waits about a second, then cuts the peer off.
    expect(performance.now() - started).toBeLessThan(10_000);
    watcher.terminate();
    await closed;
  });
});

describe('an agent that reports errors over and over', () => {
  it('ends the match with its first error; the rest are dropped, not queued', async () => {
    current = await testServer(['ann', 'bob'], {
      tournaments: [{ name: 'e', game: 'tic-tac-toe', format: 'round-robin', gamesPerPairing: 1, swapSeats: false }],
    });
    const { url } = current.server;
    const [ann, bob] = ['ann', 'bob'].map((name) => new RawSocket(url, { headers: { authorization: `Bearer ${current!.tokens[name]}` } }));
    try {
      const first = await ann.next((f) => f.type === 'turn');
      ann.send({ type: 'action', v: 1, matchId: first.matchId, step: first.step, action: first.legal[0] });
      const turn = await bob.next((f) => f.type === 'turn');
      // While bob thinks, ann gives up, then keeps saying so.
      const heapBefore = heapAfterCollection();
      ann.send({ type: 'error', v: 1, matchId: turn.matchId, message: 'first: the model is down' });
      // 500 errors of 60 KB: 30 MB that would wait in the server for ann's next turn if they were kept.
      for (let i = 0; i < 500; i++) ann.send({ type: 'error', v: 1, matchId: turn.matchId, message: `later ${i}: ${'x'.repeat(60_000)}` });
      ann.send({ type: 'error', v: 1, message: 'without a match id' });
      await waitForServer(ann);
      expect(heapAfterCollection() - heapBefore).toBeLessThan(10e6);
      bob.send({ type: 'action', v: 1, matchId: turn.matchId, step: turn.step, action: turn.legal[0] });
      const end = await bob.next((f) => f.type === 'end');
      expect(end).toMatchObject({ outcome: 'error', reason: expect.stringContaining('first: the model is down') });
      expect(ann.frames.filter((f) => f.type === 'error')).toEqual([]);
    } finally {
      ann.close();
      bob.close();
    }
  });
});

/** Resolves once the server has read everything the socket sent before: it answers an unknown match at once. */
async function waitForServer(socket: RawSocket): Promise<void> {
  socket.send({ type: 'action', v: 1, matchId: 'no such match', step: 0, action: 'x' });
  await socket.next((f) => f.type === 'error' && f.code === 'unknown-match');
}

/** The heap in use after a full collection (the server runs in this process). */
function heapAfterCollection(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().heapUsed;
}

describe('a ladder one of whose agents leaves for good', () => {
  it('keeps pairing the others while the rest of its pairing waits for it', async () => {
    current = await testServer(['a', 'b', 'c'], {
      tournaments: [{ name: 'L', game: 'tic-tac-toe', format: { type: 'ladder' }, gamesPerPairing: 2, concurrency: 1, reconnectGraceMs: 200 }],
    });
    const { url } = current.server;
    const runner = current.server.runner('L')!;
    const a = connect(url, current.tokens.a, randomAgent(), { reconnect: false });
    // With b away, the only pairing is a against c; c leaves during the first game, for good.
    const c = new RawSocket(url, { headers: { authorization: `Bearer ${current.tokens.c}` } });
    const b = await (async () => {
      try {
        await c.next((f) => f.type === 'start');
        c.close();
        await waitFor(() => runner.status().finished === 1, 10_000, 'the game c left to be forfeited');
        expect(runner.status()).toMatchObject({ running: 0, pending: 1 });
        return connect(url, current!.tokens.b, randomAgent(), { reconnect: false });
      } catch (error) {
        await a.close();
        throw error;
      }
    })();
    try {
      await waitFor(() => runner.status().finished >= 5, 10_000, 'a and b to play on');
      expect(runner.status().pending).toBeGreaterThanOrEqual(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('never plans more than maxMatches, even when a pairing has more games than are left', async () => {
    current = await testServer(['a', 'b'], {
      tournaments: [{ name: 'M', game: 'tic-tac-toe', format: { type: 'ladder', maxMatches: 3 }, gamesPerPairing: 2 }],
    });
    const { url, store } = current.server;
    const clients = ['a', 'b'].map((name) => connect(url, current!.tokens[name], randomAgent(), { reconnect: false }));
    try {
      await current.server.runner('M')!.done;
      expect(store.results().length).toBe(3);
      expect(current.server.runner('M')!.status()).toMatchObject({ planned: 3, finished: 3, pending: 0 });
    } finally {
      await Promise.all(clients.map((client) => client.close()));
    }
  });
});

describe('a peer that stops reading', () => {
  it('is not kept alive by pongs it sends unasked', async () => {
    current = await testServer(['a'], { heartbeatMs: 100 });
    const peer = new WebSocket(`${current.server.url.replace(/^http/, 'ws')}/live`, { autoPong: false });
    peer.on('error', () => undefined);
    await new Promise((resolve) => peer.once('open', resolve));
    const pongs = setInterval(() => peer.pong(Buffer.from('unasked')), 20);
    try {
      const code = await new Promise<number>((resolve) => peer.once('close', resolve));
      // Terminated by the heartbeat: no close frame.
      expect(code).toBe(1006);
    } finally {
      clearInterval(pongs);
    }
  });

  it('as a spectator, is cut off once a megabyte waits for it', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => wss.once('listening', resolve));
    const rows = Array.from({ length: 2000 }, (_, i) => ({ agent: `agent-${i}-${'n'.repeat(80)}`, version: '1', mu: 25, sigma: 8.3, ordinal: 0, games: i }));
    const hub = new SpectatorHub({ games: () => ['g'], rows: () => rows }, 10);
    const ratingsChanging = setInterval(() => hub.ratingsUpdated('g'), 5);
    try {
      const served = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
      const reader = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
      reader.on('error', () => undefined);
      await new Promise((resolve) => reader.once('open', resolve));
      (reader as unknown as { _socket: { pause(): void } })._socket.pause();
      const ws = await served;
      const closed = new Promise((resolve) => ws.once('close', resolve));
      hub.serve(ws);
      await closed;
      expect(ws.readyState).toBe(WebSocket.CLOSED);
      reader.terminate();
    } finally {
      clearInterval(ratingsChanging);
      hub.close();
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  it('beyond the spectator limit, gets HTTP 503; a place that frees up is taken again', async () => {
    current = await testServer(['a'], { limits: { maxSpectators: 2 } });
    const live = `${current.server.url.replace(/^http/, 'ws')}/live`;
    const open = () => new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(live);
      ws.once('open', () => resolve(ws));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
    const [first, second] = await Promise.all([open(), open()]);
    await expect(open()).rejects.toThrow(/HTTP 503/);
    const closed = new Promise((resolve) => first.once('close', resolve));
    first.close();
    await closed;
    await waitFor(async () => {
      try {
        (await open()).terminate();
        return true;
      } catch {
        return false;
      }
    }, 5000, 'a place for a spectator');
    second.terminate();
  });

  it('as a spectator sending too many requests, gets rate-limited errors', async () => {
    current = await testServer(['a']);
    const spectator = new WebSocket(`${current.server.url.replace(/^http/, 'ws')}/live`);
    const errors: { code: string }[] = [];
    spectator.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === 'error') errors.push(message);
    });
    await new Promise((resolve) => spectator.once('open', resolve));
    for (let i = 0; i < 60; i++) spectator.send(JSON.stringify({ type: 'unwatch' }));
    await waitFor(() => errors.length >= 10, 5000, 'rate-limited errors');
    expect(new Set(errors.map((e) => e.code))).toEqual(new Set(['rate-limited']));
    spectator.terminate();
  });
});

describe('GET /api/matches', () => {
  it.each(['1.5', '0', '201', 'abc', '', '1e3'])('refuses limit=%s with 400 and says why', async (limit) => {
    current = await testServer(['a']);
    const response = await fetch(`${current.server.url}/api/matches?limit=${encodeURIComponent(limit)}`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toMatch(/limit is a whole number from 1 to 200/);
  });

  it('takes a limit within range', async () => {
    current = await testServer(['a']);
    expect(await getJson(`${current.server.url}/api/matches?limit=200`)).toEqual({ running: [], recent: [] });
  });
});

describe('authentication edge cases', () => {
  it('refuses connections beyond the limit of those waiting to say hello, but not agents that send the header', async () => {
    current = await testServer(['ann', 'bob'], { limits: { maxAwaitingHello: 2 } });
    const { url } = current.server;
    const waiting = [new RawSocket(url), new RawSocket(url)];
    const sockets = [...waiting];
    try {
      await Promise.all(waiting.map((socket) => socket.opened));
      const third = new RawSocket(url);
      sockets.push(third);
      await expect(third.opened).rejects.toThrow(/HTTP 503/);
      const byHeader = new RawSocket(url, { headers: { authorization: `Bearer ${current.tokens.bob}` } });
      sockets.push(byHeader);
      expect(await byHeader.next()).toMatchObject({ type: 'welcome', agent: 'bob' });
      // One of them says hello: a place is free again.
      waiting[0].send({ type: 'hello', v: 1, token: current.tokens.ann });
      expect(await waiting[0].next()).toMatchObject({ type: 'welcome', agent: 'ann' });
      const fourth = new RawSocket(url);
      sockets.push(fourth);
      await fourth.opened;
    } finally {
      for (const socket of sockets) socket.close();
    }
  });

  it('refuses a hello token of any length it never issued as unauthorized, with close code 4401', async () => {
    current = await testServer(['ann']);
    const socket = new RawSocket(current.server.url);
    await socket.opened;
    socket.send({ type: 'hello', v: 1, token: 'sp_'.padEnd(5000, 'x') });
    expect(await socket.next()).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect((await socket.closing()).code).toBe(4401);
  });

  it('acts on nothing sent after a refused hello, so the agent is not left attached to a closing socket', async () => {
    current = await testServer(['ann']);
    const socket = new RawSocket(current.server.url);
    await socket.opened;
    socket.send({ type: 'hello', v: 1, token: 'sp_wrong' });
    socket.send({ type: 'hello', v: 1, token: current.tokens.ann });
    // It stops reading, so the closing handshake the refusal began does not finish (ws would wait 30 s).
    (socket.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const again = new RawSocket(current.server.url, { headers: { authorization: `Bearer ${current.tokens.ann}` } });
    try {
      expect(await again.next()).toMatchObject({ type: 'welcome', agent: 'ann' });
    } finally {
      again.close();
      socket.close();
    }
  });

  it('refuses a malformed Selfplay-Version header with HTTP 400', async () => {
    current = await testServer(['ann']);
    const socket = new RawSocket(current.server.url, { headers: { authorization: `Bearer ${current.tokens.ann}`, 'selfplay-version': 'v 2!' } });
    await expect(socket.opened).rejects.toThrow(/400/);
  });
});
