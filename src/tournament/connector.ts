import { Subject, type Subscription } from 'rxjs';
import { ConfigError } from '../core/index.ts';
import { WebSocket } from 'ws';
import type { Agent } from '../runtime/agent.ts';
import { parseToAgent, PROTOCOL_VERSION, type EndMessage, type ErrorMessage, type FromAgent, type StartMessage, type ToAgent } from '../runtime/messages.ts';
import { CLOSE_CODES, parseWith, welcomeMessage, type HelloMessage, type WelcomeMessage } from './protocol.ts';
import { decodeValue, encodeFrame, frameBytes, MAX_FRAME_BYTES, SUBPROTOCOLS, type WireFormat } from './wire.ts';

/** An agent for every match, or a function that builds one from the match's start message (to know the game). */
export type AgentSource = Agent | { readonly forMatch: (start: StartMessage) => Agent };

export type ClientStatus =
  | { readonly state: 'connecting'; readonly attempt: number }
  | { readonly state: 'ready'; readonly welcome: WelcomeMessage }
  | { readonly state: 'disconnected'; readonly code: number; readonly reason: string; readonly retryInMs?: number }
  | { readonly state: 'closed'; readonly reason: string };

export interface ConnectOptions {
  /** The version of the agent's policy; the server rates each version apart (default "1"). */
  readonly version?: string;
  /** Ask the server to check that the token belongs to this agent. */
  readonly agent?: string;
  /** json (default) or msgpack frames. */
  readonly format?: WireFormat;
  /** Send the token in the hello message instead of the Authorization header. */
  readonly tokenInHello?: boolean;
  /** Reconnect after a dropped connection (default true), waiting minBackoffMs doubling up to maxBackoffMs. */
  readonly reconnect?: boolean;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Give up after this many connection attempts in a row that did not reach the welcome (default: never). */
  readonly maxAttempts?: number;
  readonly onStatus?: (status: ClientStatus) => void;
  /** Error messages from the server (protocol errors, out-of-order replies...). */
  readonly onServerError?: (error: ErrorMessage) => void;
  /**
   * Every `end` the server sends, as it arrives: also those of matches that
   * finished while the client was away (their agents have been released),
   * and an end sent again after a reconnection.
   */
  readonly onEnd?: (end: EndMessage) => void;
}

export interface RemoteClient {
  /** Resolves with the first welcome; rejects if the server refuses the agent for good (a bad token). */
  readonly ready: Promise<WelcomeMessage>;
  /** Resolves when the client has stopped for good, with the reason. */
  readonly closed: Promise<string>;
  /** Drops the connection without closing the client (it reconnects, if allowed): for tests and tools. */
  drop(): void;
  close(): Promise<void>;
}

/** ws://host:port/agent from http://host:port, ws://host:port or a full /agent URL; ConfigError for anything else. */
export function agentUrl(url: string): string {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed || !['http:', 'https:', 'ws:', 'wss:'].includes(parsed.protocol)) {
    throw new ConfigError(`${JSON.stringify(url)} is not a server URL; give it as http://HOST:PORT (or https://, ws://, wss://)`);
  }
  if (parsed.protocol === 'http:') parsed.protocol = 'ws:';
  if (parsed.protocol === 'https:') parsed.protocol = 'wss:';
  if (parsed.pathname === '/' || parsed.pathname === '') parsed.pathname = '/agent';
  return parsed.toString();
}

/** HTTP statuses that refuse the connection for good. */
const FINAL_REFUSALS = new Set([400, 401, 403, 404]);

const byteLength = (frame: string | Buffer) => (typeof frame === 'string' ? Buffer.byteLength(frame) : frame.length);

/**
 * A message as a frame the server accepts (at most MAX_FRAME_BYTES; a larger
 * one would cost the connection, and the same reply sent again after the
 * reconnect would cost it again). An action too large drops the bulkiest
 * fields of its meta until it fits, naming them in `metaDropped`; one too
 * large even without meta becomes an error for its match; an error's text
 * is cut to fit.
 */
export function frameWithin(message: FromAgent | HelloMessage, format: WireFormat): string | Buffer {
  const frame = encodeFrame(message, format);
  const bytes = byteLength(frame);
  if (bytes <= MAX_FRAME_BYTES) return frame;
  const limit = `a frame to the server holds at most ${MAX_FRAME_BYTES} bytes`;
  if (message.type === 'action') {
    const meta = message.meta ?? {};
    const bulkiestFirst = Object.keys(meta)
      .map((key) => ({ key, bytes: byteLength(encodeFrame(meta[key] ?? null, format)) }))
      .sort((a, b) => b.bytes - a.bytes);
    const kept = { ...meta };
    const fields: string[] = [];
    for (const { key } of bulkiestFirst) {
      delete kept[key];
      fields.push(key);
      const slim = encodeFrame({ ...message, meta: { ...kept, metaDropped: { fields, reason: `the reply was ${bytes} bytes; ${limit}` } } }, format);
      if (byteLength(slim) <= MAX_FRAME_BYTES) return slim;
    }
    return frameWithin({ type: 'error', v: PROTOCOL_VERSION, matchId: message.matchId, message: `the agent's reply to step ${message.step} is ${bytes} bytes even without its meta; ${limit}` }, format);
  }
  if (message.type === 'error') {
    for (let text = message.message; ; ) {
      // Halved until it fits (escapes make a character up to six bytes), never inside a surrogate pair.
      text = text.slice(0, text.length >> 1);
      if (/[\uD800-\uDBFF]$/.test(text)) text = text.slice(0, -1);
      const cut = encodeFrame({ ...message, message: `${text}… (cut: ${limit})` }, format);
      if (byteLength(cut) <= MAX_FRAME_BYTES) return cut;
    }
  }
  return frame;
}

interface Seat {
  readonly inbox: Subject<ToAgent>;
  readonly subscription: Subscription;
}

/**
 * Plays an agent on a tournament server: each match's messages go to a fresh
 * instance of the agent, its replies go back. When the connection drops the
 * client reconnects with backoff; the server then resends the state of every
 * match still running, and the agent picks it up from there.
 */
export function connect(url: string, token: string, source: AgentSource, options: ConnectOptions = {}): RemoteClient {
  const target = agentUrl(url);
  const format = options.format ?? 'json';
  const version = options.version ?? '1';
  const minBackoff = options.minBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  const agentFor = (start: StartMessage): Agent => (typeof source === 'function' ? source : source.forMatch(start));

  let ws: WebSocket | undefined;
  let attempt = 0;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  const seats = new Map<string, Seat>();
  let resolveReady!: (welcome: WelcomeMessage) => void;
  let rejectReady!: (error: Error) => void;
  let resolveClosed!: (reason: string) => void;
  const ready = new Promise<WelcomeMessage>((resolve, reject) => ((resolveReady = resolve), (rejectReady = reject)));
  ready.catch(() => undefined);
  const closed = new Promise<string>((resolve) => (resolveClosed = resolve));

  const status = (s: ClientStatus) => options.onStatus?.(s);
  const send = (socket: WebSocket, message: FromAgent | HelloMessage) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(frameWithin(message, format));
  };

  const leave = (matchId: string) => {
    const seat = seats.get(matchId);
    if (!seat) return;
    seats.delete(matchId);
    seat.inbox.complete();
    seat.subscription.unsubscribe();
  };

  const join = (socket: WebSocket, start: StartMessage) => {
    leave(start.matchId);
    const fail = (error: unknown) => send(socket, { type: 'error', v: PROTOCOL_VERSION, matchId: start.matchId, message: error instanceof Error ? error.message : String(error) });
    let agent: Agent;
    try {
      agent = agentFor(start);
    } catch (error) {
      // No agent for this game (a spec that cannot play it): the match ends with outcome `error`.
      return fail(error);
    }
    const inbox = new Subject<ToAgent>();
    let subscription: Subscription;
    try {
      subscription = agent(inbox.asObservable()).subscribe({ next: (reply) => send(socket, reply), error: fail });
    } catch (error) {
      // An agent that throws when it is set up cannot play this match: it ends with outcome `error`, not a timeout.
      return fail(error);
    }
    seats.set(start.matchId, { inbox, subscription });
    inbox.next(start);
  };

  const finish = (reason: string) => {
    if (stopped) return;
    stopped = true;
    clearTimeout(retryTimer);
    for (const matchId of [...seats.keys()]) leave(matchId);
    rejectReady(new Error(reason));
    status({ state: 'closed', reason });
    resolveClosed(reason);
  };

  const onMessage = (socket: WebSocket, value: unknown) => {
    const type = (value as { type?: unknown })?.type;
    if (type === 'welcome') {
      const welcome = parseWith(welcomeMessage, value, 'welcome');
      attempt = 0;
      resolveReady(welcome);
      status({ state: 'ready', welcome });
      return;
    }
    const message = parseToAgent(value);
    if (message.type === 'error') return options.onServerError?.(message);
    if (message.type === 'start') return join(socket, message);
    if (message.type === 'end') options.onEnd?.(message);
    const seat = seats.get(message.matchId);
    if (!seat) return;
    seat.inbox.next(message);
    if (message.type === 'end') leave(message.matchId);
  };

  const open = () => {
    attempt++;
    status({ state: 'connecting', attempt });
    const headers: Record<string, string> = options.tokenInHello ? {} : { authorization: `Bearer ${token}`, 'selfplay-version': version, ...(options.agent ? { 'selfplay-agent': options.agent } : {}) };
    const socket = new WebSocket(target, [SUBPROTOCOLS[format]], { headers, perMessageDeflate: false });
    ws = socket;
    let refusal: number | undefined;
    let failure: Error | undefined;
    socket.on('unexpected-response', (_request, response) => {
      refusal = response.statusCode;
      response.resume();
      socket.terminate();
    });
    socket.on('open', () => {
      if (options.tokenInHello) send(socket, { type: 'hello', v: PROTOCOL_VERSION, token, version, ...(options.agent ? { agent: options.agent } : {}) });
    });
    socket.on('message', (data, isBinary) => {
      try {
        onMessage(socket, decodeValue(frameBytes(data), isBinary, format));
      } catch (error) {
        options.onServerError?.({ type: 'error', v: PROTOCOL_VERSION, message: `bad message from the server: ${(error as Error).message}` });
      }
    });
    socket.on('error', (error) => (failure ??= error));
    socket.on('close', (code, buffer) => {
      for (const matchId of [...seats.keys()]) leave(matchId);
      if (stopped) return;
      const cause = failure && ((failure as NodeJS.ErrnoException).code ?? failure.message);
      const reason = refusal ? `the server refused the connection (HTTP ${refusal})` : buffer.toString() || (cause ? `cannot reach ${target}: ${cause}` : `connection closed (${code})`);
      // Refused for good: a bad request or token, nothing at that path. Others pass with time: 409 (the
      // agent's old connection is not yet seen as dead), 503 (a server shutting down), a proxy's 429.
      const final = code === CLOSE_CODES.unauthorized || (refusal !== undefined && FINAL_REFUSALS.has(refusal));
      if (final || options.reconnect === false) return finish(reason);
      if (attempt >= (options.maxAttempts ?? Infinity)) return finish(`${reason}; gave up after ${attempt} attempts`);
      const retryInMs = Math.min(maxBackoff, minBackoff * 2 ** Math.min(attempt, 16)) * (0.5 + Math.random() / 2);
      status({ state: 'disconnected', code, reason, retryInMs });
      retryTimer = setTimeout(open, retryInMs);
    });
  };

  open();
  return {
    ready,
    closed,
    drop: () => ws?.terminate(),
    async close() {
      const socket = ws;
      finish('closed by the client');
      if (socket && socket.readyState !== WebSocket.CLOSED) {
        await new Promise<void>((resolve) => {
          socket.once('close', () => resolve());
          socket.close(1000, 'bye');
          setTimeout(() => socket.terminate(), 1000).unref();
        });
      }
    },
  };
}
