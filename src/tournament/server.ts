import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { listenError, type Game } from '../core/index.ts';
import { serveAgentSocket, identifyFromHeaders, DEFAULT_LIMITS, type ConnectionLimits } from './agent-socket.ts';
import { parseTournamentConfig, resolveConfig, tournamentGame, type GameResolver, type TournamentConfigInput } from './config.ts';
import { ratedGameOf, writtenGameKey } from './game-key.ts';
import { startHeartbeat } from './heartbeat.ts';
import { BAD_TARGET, handleHttp, requestUrl, type MatchProgress } from './http.ts';
import { CLOSE_CODES } from './protocol.ts';
import { Leaderboard } from './ratings/leaderboard.ts';
import { LiveRatings, ratingView } from './ratings/live.ts';
import { TournamentRunner } from './runner.ts';
import { SessionRegistry } from './sessions.ts';
import { SpectatorHub } from './spectators.ts';
import { Store, type Durability, type TournamentRow } from './store.ts';
import { MAX_FRAME_BYTES, SUBPROTOCOLS } from './wire.ts';

export interface ServerOptions {
  /** The SQLite file (created if missing). */
  readonly db: string;
  /** Default 8080; 0 picks a free port. */
  readonly port?: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Tournaments to create (if new) and run, besides the unfinished ones already in the database. */
  readonly tournaments?: readonly TournamentConfigInput[];
  /** Builds the game each tournament names (`createGame` from selfplay/games plays the built-in ones). */
  readonly games: GameResolver;
  /** Origins (scheme://host[:port]) whose pages may open WebSockets, besides the server's own. */
  readonly origins?: readonly string[];
  /** Ping interval; a connection that misses one pong is closed (default 10 s). */
  readonly heartbeatMs?: number;
  readonly limits?: Partial<ConnectionLimits>;
  /** `normal` (default): nothing committed is lost when the server is killed; `full`: not even on a power cut (slower). */
  readonly durability?: Durability;
  /** Bootstrap samples of the official table (default 200). */
  readonly bootstrapSamples?: number;
  readonly log?: (line: string) => void;
}

export interface TournamentServer {
  /** http://host:port; agents connect to its /agent path, spectators to /live. */
  readonly url: string;
  readonly port: number;
  readonly store: Store;
  runner(name: string): TournamentRunner | undefined;
  /** Aborts running matches (they are replayed on the next start), closes every connection and the database. */
  close(): Promise<void>;
}

/** How long closing the server waits for peers to answer its close frames. */
const CLOSE_GRACE_MS = 1000;

/** Resolves once every socket has closed, or after `ms`. */
async function closedWithin(sockets: readonly WebSocket[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closed = Promise.all(sockets.map((ws) => (ws.readyState === ws.CLOSED ? undefined : new Promise((resolve) => ws.once('close', resolve)))));
  await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason)}\r\n\r\n${reason}`);
}

/** Browsers always send Origin: the server's own pages and the allowlist may connect; clients without Origin are not browsers. */
function originAllowed(request: IncomingMessage, allowed: ReadonlySet<string>): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (allowed.has(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/**
 * Each tournament's match counts without a query while it runs (its runner
 * keeps them); the database is asked once for a tournament this server does
 * not run, whose counts cannot change meanwhile.
 */
function progressOf(store: Store, runners: readonly TournamentRunner[]): (tournament: TournamentRow) => MatchProgress {
  const settled = new Map<number, MatchProgress>();
  return (tournament) => {
    const runner = runners.find((r) => r.tournament.id === tournament.id);
    if (runner) {
      const { finished, running, planned } = runner.status();
      return { done: finished, running, pending: planned - finished - running };
    }
    let counts = settled.get(tournament.id);
    if (!counts) {
      const { planned, done } = store.matchStatusCounts(tournament.id);
      settled.set(tournament.id, (counts = { done, running: 0, pending: planned - done }));
    }
    return counts;
  };
}

/**
 * Brings a database of an earlier server to this one's layout: each
 * tournament names the game it is rated under (built from its config; a
 * game that cannot be built any more, such as a module file that is gone, is
 * named as its config writes it), then the live ratings, which pooled every
 * game, are rated again per game and per tournament from the stored results.
 */
async function migrate(store: Store, unnamed: readonly TournamentRow[], games: GameResolver, log: (line: string) => void): Promise<void> {
  for (const t of unnamed) {
    let rated: string;
    try {
      rated = await ratedGameOf(t.config, await games(t.config.game, t.config.params), games);
    } catch (error) {
      rated = writtenGameKey(t.config);
      log(`tournament ${t.name}: its game cannot be built (${(error as Error).message}); its results are rated under the game ${JSON.stringify(rated)}`);
    }
    store.nameGame(t.id, rated);
  }
  // Tournaments without a game after the migration were made by an earlier server since: rated again too.
  if (!store.needsMigration() && unnamed.length === 0) return;
  const started = performance.now();
  const why = store.needsMigration() ? "the database was an earlier server's" : 'an earlier server added tournaments to the database';
  const rated = store.migrate();
  log(`${why}: its live ratings are now per game and per tournament (${rated} results rated again in ${Math.round(performance.now() - started)} ms)`);
}

export async function startServer(options: ServerOptions): Promise<TournamentServer> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const store = new Store(options.db, options.durability);
  let running: TournamentRow[];
  let games: Game[];
  try {
    const registered = store.agents().map((a) => a.name);
    const unnamed = store.tournaments().filter((t) => t.game === null);
    for (const input of options.tournaments ?? []) {
      const config = await parseTournamentConfig(input, options.games);
      const stored = store.tournament(config.name);
      const game = await tournamentGame(config, options.games);
      const rated = await ratedGameOf(config, game, options.games);
      // A config without `agents` means those registered when the tournament was created: served
      // again after more agents were added, it is the same tournament.
      const tournament = store.ensureTournament(resolveConfig(config, config.agents === undefined && stored ? stored.config.agents : registered, game.seats), rated);
      if (tournament.status === 'finished') log(`tournament ${tournament.name} finished on ${tournament.finishedAt}; nothing left to play (give a new one another name)`);
    }
    await migrate(store, unnamed, options.games, log);
    running = store.tournaments().filter((t) => t.status === 'running');
    games = await Promise.all(running.map((t) => tournamentGame(t.config, options.games)));
    // The writer thread (about 70 MB) is only needed while a tournament runs.
    if (running.length > 0) await store.openWriter();
  } catch (error) {
    store.close();
    throw error;
  }

  const registry = new SessionRegistry();
  // Ends that agents may not have received before the last server stopped: each goes out when its agent connects.
  for (const { agent, end } of store.owedEnds()) registry.session(agent).ended(end);
  registry.onDelivered = (agent, matchIds) =>
    void store.deliveredSoon(agent, matchIds).catch((error) => log(`could not record that ${agent} received ${matchIds.length} ends (${(error as Error).message}); they are sent again when it reconnects after a restart`));
  const ratings = new LiveRatings(store.ratings());
  const spectators = new SpectatorHub({ games: () => ratings.games(), rows: (game) => ratings.rows({ game, tournamentId: 0 }).map(ratingView) });
  const leaderboard = new Leaderboard(options.db, { samples: options.bootstrapSamples });
  const runners = running.map((t, i) => new TournamentRunner(t, games[i], { store, registry, ratings, spectators, log }));

  const agents = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has(SUBPROTOCOLS.msgpack) ? SUBPROTOCOLS.msgpack : offered.has(SUBPROTOCOLS.json) ? SUBPROTOCOLS.json : false),
  });
  const watchers = new WebSocketServer({ noServer: true, maxPayload: 4096, perMessageDeflate: false });
  const origins = new Set(options.origins ?? []);
  const context = { store, registry, heartbeatMs, limits, awaitingHello: new Set<WebSocket>() };

  const api = { store, leaderboard, progress: progressOf(store, runners), ratings, spectators, log };
  const http = createServer((req, res) => handleHttp(api, req, res));
  let closing = false;
  http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    // An upgrade on a kept-alive connection may still come in while the server closes.
    if (closing) return refuseUpgrade(socket, 503, 'Service Unavailable: the server is shutting down');
    const url = requestUrl(request);
    if (!url) return refuseUpgrade(socket, 400, BAD_TARGET);
    if (!originAllowed(request, origins)) return refuseUpgrade(socket, 403, 'Forbidden: origin not allowed');
    if (url.searchParams.has('token')) return refuseUpgrade(socket, 400, 'Bad Request: tokens go in the Authorization header or the hello message, never the URL');
    if (url.pathname === '/agent') {
      const identity = identifyFromHeaders(request, store);
      if (identity && 'status' in identity) return refuseUpgrade(socket, identity.status, identity.reason);
      if (!identity && context.awaitingHello.size >= limits.maxAwaitingHello) {
        return refuseUpgrade(socket, 503, `Service Unavailable: ${limits.maxAwaitingHello} connections are waiting to say hello already`);
      }
      if (identity && registry.find(identity.agent)?.connected) return refuseUpgrade(socket, 409, 'Conflict: the agent already has a live connection');
      return agents.handleUpgrade(request, socket, head, (ws) => serveAgentSocket(ws, identity, context));
    }
    if (url.pathname === '/live') {
      if (watchers.clients.size >= limits.maxSpectators) return refuseUpgrade(socket, 503, `Service Unavailable: ${limits.maxSpectators} spectators are watching already`);
      return watchers.handleUpgrade(request, socket, head, (ws) => spectators.serve(ws));
    }
    refuseUpgrade(socket, 404, 'Not Found: WebSockets are served at /agent and /live');
  });
  const stopHeartbeat = startHeartbeat(function* (): Iterable<WebSocket> {
    yield* agents.clients;
    yield* watchers.clients;
  }, heartbeatMs);

  const host = options.host ?? '127.0.0.1';
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 8080, host, () => resolve());
    });
  } catch (error) {
    stopHeartbeat();
    spectators.close();
    store.close();
    throw listenError(host, options.port ?? 8080, error);
  }
  const { port } = http.address() as AddressInfo;
  for (const runner of runners) runner.start();

  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    store,
    runner: (name) => runners.find((r) => r.tournament.name === name),
    async close() {
      closing = true;
      stopHeartbeat();
      await Promise.all(runners.map((r) => r.stop()));
      // No new connections from here on (agents told to go reconnect at once would otherwise get back in).
      const httpClosed = new Promise<void>((resolve) => http.close(() => resolve()));
      const sockets = [...agents.clients, ...watchers.clients];
      for (const ws of sockets) ws.close(CLOSE_CODES.shuttingDown, 'server shutting down');
      spectators.close();
      // Peers get a moment to answer the close frame; one that does not (paused, vanished) is cut off
      // rather than left to ws's 30-second closing timeout, which the HTTP server would wait for.
      await closedWithin(sockets, CLOSE_GRACE_MS);
      for (const ws of [...agents.clients, ...watchers.clients]) ws.terminate();
      http.closeAllConnections();
      await httpClosed;
      // Its reader gone first, the store's connection is the last to close and cleans up the WAL.
      await leaderboard.close();
      store.close();
    },
  };
}
