import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { ProtocolError } from '../core/index.ts';
import { parseFromAgent, PROTOCOL_VERSION } from '../runtime/messages.ts';
import { agentVersion, CLOSE_CODES, ERROR_CODES, errorFrame, helloMessage, parseWith, type WelcomeMessage } from './protocol.ts';
import { TokenBucket } from './rate-limit.ts';
import type { AgentSession, Outbox, SessionRegistry } from './sessions.ts';
import type { Store } from './store.ts';
import { framedBytes, payloadOf, serverFrames, type Payload } from './outgoing-frames.ts';
import { decodeFrame, encodeFrame, formatOfSubprotocol, frameBytes, type WireFormat } from './wire.ts';

export interface ConnectionLimits {
  /** Messages a second a connection may send on average... */
  readonly messagesPerSecond: number;
  /** ...and in a burst. Messages beyond are dropped with a `rate-limited` error. */
  readonly burst: number;
  /** How long a connection may take to say hello. */
  readonly helloTimeoutMs: number;
  /** A peer that lets this many bytes pile up unread is cut off. */
  readonly maxBufferedBytes: number;
  /** Spectator connections (/live, which needs no token) beyond this are refused with HTTP 503. */
  readonly maxSpectators: number;
  /** Connections not yet authenticated (waiting for their hello) beyond this are refused with HTTP 503. */
  readonly maxAwaitingHello: number;
}

/** Messages that need no answer, and how long they may wait to share a write with the next message to the same agent. */
const LAZY = new Set(['start', 'event', 'end']);
const LAZY_DELAY_MS = 50;

/**
 * The last message the server encoded. The referee sends the same event
 * object to every seat in turn, and the server never changes a message once
 * sent, so the same object gives the same payload.
 */
let lastPayload: { message: unknown; format: WireFormat; payload: Payload } | undefined;

function encodeOnce(message: unknown, format: WireFormat): Payload {
  if (lastPayload !== undefined && lastPayload.message === message && lastPayload.format === format) return lastPayload.payload;
  lastPayload = { message, format, payload: payloadOf(encodeFrame(message, format)) };
  return lastPayload.payload;
}

export const DEFAULT_LIMITS: ConnectionLimits = { messagesPerSecond: 500, burst: 1000, helloTimeoutMs: 10_000, maxBufferedBytes: 8 * 1024 * 1024, maxSpectators: 1000, maxAwaitingHello: 1000 };

export interface AgentSocketContext {
  readonly store: Store;
  readonly registry: SessionRegistry;
  readonly heartbeatMs: number;
  readonly limits: ConnectionLimits;
  /** Connections that have not said hello yet. */
  readonly awaitingHello: Set<WebSocket>;
}

/** An agent authenticated at the upgrade (Authorization header), or undefined when it must say hello. */
export interface HeaderIdentity {
  readonly agent: string;
  readonly version: string;
}

const text = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * Who an `Authorization: Bearer <token>` header names, checked against the
 * optional `Selfplay-Agent` claim, with the `Selfplay-Version` header; an
 * HTTP status and reason when the headers are refused; undefined without
 * the header (the agent must then say hello).
 */
export function identifyFromHeaders(request: IncomingMessage, store: Store): HeaderIdentity | { status: number; reason: string } | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  const agent = match ? store.agentOfToken(match[1]) : undefined;
  const claim = request.headers['selfplay-agent'];
  if (!agent || (claim !== undefined && claim !== agent)) return { status: 401, reason: 'Unauthorized' };
  const version = request.headers['selfplay-version'] ?? '1';
  if (!agentVersion.safeParse(version).success) return { status: 400, reason: 'Bad Request: Selfplay-Version is 1-64 letters, digits, "_", ".", "+" or "-"' };
  return { agent, version: version as string };
}

/**
 * Serves one agent connection: authentication (header or hello), then every
 * frame decoded, validated and routed to the agent's matches. Bad frames get
 * an error message and are otherwise ignored; the connection stays open.
 */
export function serveAgentSocket(ws: WebSocket, identity: HeaderIdentity | undefined, context: AgentSocketContext): void {
  const { store, registry, limits } = context;
  const format = formatOfSubprotocol(ws.protocol);
  const bucket = new TokenBucket(limits.messagesPerSecond, limits.burst);
  let session: AgentSession | undefined;

  // Writes are batched: the frames sent in a tick go out in one buffer and one system call. Messages that
  // need no answer (start, event, end) may also wait up to LAZY_DELAY_MS for the next message that does:
  // most then leave with the agent's next turn instead of costing a write of their own.
  const socket = (ws as unknown as { _socket: Socket })._socket;
  const pending: Payload[] = [];
  let pendingBytes = 0;
  let flushing: 'tick' | NodeJS.Timeout | undefined;
  const flush = () => {
    if (flushing === undefined) return;
    if (flushing !== 'tick') clearTimeout(flushing);
    flushing = undefined;
    // A connection closing (either side sent a close frame) takes no more data frames.
    if (ws.readyState === WebSocket.OPEN) socket.write(serverFrames(pending, format));
    pending.length = 0;
    pendingBytes = 0;
  };
  // Whoever closes the connection (the server, or ws answering the agent's close frame or a frame it
  // refused), the frames still waiting go out first, ahead of the close frame.
  const close = ws.close.bind(ws);
  ws.close = (code?: number, reason?: string | Buffer) => {
    flush();
    close(code, reason);
  };
  // Ends owed to the agent are confirmed by the heartbeat: a pong answers a ping sent after them (the frames
  // waiting are written first), so the agent's side has read them. Until then they are resent on reconnection.
  const ping = ws.ping.bind(ws);
  let sentBeforePing: { payload: Buffer; owed: string[] } | undefined;
  ws.ping = (data?: unknown, mask?: boolean, cb?: (err: Error) => void) => {
    flush();
    if (session && Buffer.isBuffer(data)) sentBeforePing = { payload: data, owed: session.owedEnds() };
    ping(data, mask, cb);
  };
  ws.on('pong', (data) => {
    if (!session || !sentBeforePing || !sentBeforePing.payload.equals(data)) return;
    const confirmed = session.confirm(sentBeforePing.owed);
    sentBeforePing = undefined;
    if (confirmed.length > 0) registry.onDelivered(session.name, confirmed);
  });
  const outbox: Outbox = {
    send(message) {
      if (ws.readyState !== WebSocket.OPEN) return;
      if (ws.bufferedAmount + pendingBytes > limits.maxBufferedBytes) {
        ws.terminate();
        return;
      }
      const payload = encodeOnce(message, format);
      const urgent = !LAZY.has((message as { type?: string }).type ?? '');
      if (flushing === undefined) {
        flushing = urgent ? 'tick' : setTimeout(flush, LAZY_DELAY_MS);
        if (urgent) process.nextTick(flush);
      } else if (urgent && flushing !== 'tick') {
        clearTimeout(flushing);
        flushing = 'tick';
        process.nextTick(flush);
      }
      pending.push(payload);
      pendingBytes += framedBytes(payload);
    },
  };

  const refuse = (code: keyof typeof CLOSE_CODES, errorCode: Parameters<typeof errorFrame>[0], message: string) => {
    outbox.send(errorFrame(errorCode, message));
    ws.close(CLOSE_CODES[code], message.slice(0, 120));
  };

  const authenticate = (agent: string, version: string) => {
    const candidate = registry.session(agent, version);
    if (candidate.connected) {
      refuse('alreadyConnected', ERROR_CODES.alreadyConnected, `agent ${agent} already has a live connection; one connection per agent`);
      return;
    }
    session = candidate;
    context.awaitingHello.delete(ws);
    const welcome: WelcomeMessage = { type: 'welcome', v: PROTOCOL_VERSION, agent, version, heartbeatMs: context.heartbeatMs, resumed: session.resumable() };
    outbox.send(welcome);
    session.attach(outbox, version);
    registry.available([agent]);
  };

  const hello = (value: unknown) => {
    if ((value as { type?: unknown })?.type !== 'hello') {
      outbox.send(errorFrame(ERROR_CODES.notAuthenticated, 'the first message must be {"type": "hello", "v": 1, "token": ...} (or send the token in an Authorization: Bearer header)'));
      return;
    }
    const message = parseWith(helloMessage, value, 'hello');
    const agent = message.token === undefined ? undefined : store.agentOfToken(message.token);
    if (!agent) return refuse('unauthorized', ERROR_CODES.unauthorized, message.token === undefined ? 'hello carries no token' : 'unknown token');
    if (message.agent !== undefined && message.agent !== agent) return refuse('unauthorized', ERROR_CODES.unauthorized, `this token does not belong to agent ${message.agent}`);
    clearTimeout(helloTimer);
    authenticate(agent, message.version ?? '1');
  };

  const helloTimer = identity
    ? undefined
    : setTimeout(() => refuse('helloTimeout', ERROR_CODES.notAuthenticated, `no hello within ${limits.helloTimeoutMs} ms`), limits.helloTimeoutMs);

  ws.on('message', (data, isBinary) => {
    // Once either side has sent its close frame (a refused hello, say), what still arrives is not acted on.
    if (ws.readyState !== WebSocket.OPEN) return;
    if (!bucket.take()) {
      outbox.send(errorFrame(ERROR_CODES.rateLimited, `more than ${limits.messagesPerSecond} messages a second (bursts of ${limits.burst}); this message was dropped`));
      return;
    }
    let value: unknown;
    try {
      value = decodeFrame(frameBytes(data), isBinary, format);
    } catch (error) {
      outbox.send(errorFrame(ERROR_CODES.badFrame, text(error)));
      return;
    }
    try {
      if (!session) return hello(value);
      if ((value as { type?: unknown })?.type === 'hello') throw new ProtocolError(`already authenticated as ${session.name}; hello is only the first message`);
      const problem = session.deliver(parseFromAgent(value));
      if (problem) outbox.send(problem);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw error;
      outbox.send(errorFrame(ERROR_CODES.badMessage, text(error)));
    }
  });
  if (!identity) context.awaitingHello.add(ws);
  ws.on('close', () => {
    context.awaitingHello.delete(ws);
    clearTimeout(helloTimer);
    if (flushing !== undefined && flushing !== 'tick') clearTimeout(flushing);
    session?.detach(outbox);
  });
  ws.on('error', () => undefined);
  if (identity) authenticate(identity.agent, identity.version);
}
