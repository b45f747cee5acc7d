import { WebSocket } from 'ws';
import { ProtocolError } from '../core/index.ts';
import type { EndMessage, EventMessage } from '../runtime/messages.ts';
import { ERROR_CODES, errorFrame, parseWith, spectatorRequest } from './protocol.ts';
import { TokenBucket } from './rate-limit.ts';
import type { LiveRatingView } from './ratings/live.ts';
import type { Contestant } from './store.ts';
import { decodeFrame, frameBytes } from './wire.ts';

export interface RunningMatch {
  readonly matchId: string;
  readonly tournament: string;
  readonly game: string;
  readonly players: readonly Contestant[];
  readonly startedAt: string;
}

interface Watched {
  readonly info: RunningMatch;
  /** The match's public events so far: the runner's log, read here. */
  readonly events: readonly EventMessage[];
  /** Made for the first spectator: most matches have none. */
  watchers?: Set<WebSocket>;
}

/** The match list sent to spectators is capped; the page shows the first ones. */
const LISTED = 100;
/** A spectator that lets this much pile up unread is cut off (the page reconnects and gets the whole state again). */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/** The live ratings spectators get: each game's, across its tournaments. */
export interface RatingsSource {
  /** The games rated so far. */
  games(): readonly string[];
  /** A game's live ratings, best first. */
  rows(game: string): readonly LiveRatingView[];
}

/**
 * Spectators (the live page): every one gets the list of running matches and
 * each game's live ratings (a `ratings` message per game), at most every
 * `intervalMs` when they changed; one that watches a match gets its public
 * events so far and then each event as it happens.
 */
export class SpectatorHub {
  private readonly clients = new Set<WebSocket>();
  private readonly running = new Map<string, Watched>();
  private matchesChanged = true;
  /** Games whose ratings changed since the last tick. */
  private readonly ratingsChanged = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ratings: RatingsSource,
    intervalMs = 500,
  ) {
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  private send(ws: WebSocket, message: unknown): void {
    this.deliver(ws, JSON.stringify(message));
  }

  private deliver(ws: WebSocket, frame: string): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) ws.terminate();
    else ws.send(frame);
  }

  private matchList() {
    return { type: 'matches', total: this.running.size, running: [...this.running.values()].slice(0, LISTED).map((w) => w.info) };
  }

  private ratingsOf(game: string) {
    return { type: 'ratings', game, rows: this.ratings.rows(game) };
  }

  private tick(): void {
    if (this.clients.size === 0) return;
    const messages: unknown[] = [];
    if (this.matchesChanged) messages.push(this.matchList());
    for (const game of this.ratingsChanged) messages.push(this.ratingsOf(game));
    this.matchesChanged = false;
    this.ratingsChanged.clear();
    for (const message of messages) {
      const frame = JSON.stringify(message);
      for (const ws of this.clients) this.deliver(ws, frame);
    }
  }

  serve(ws: WebSocket): void {
    this.clients.add(ws);
    const bucket = new TokenBucket(20, 40);
    let watching: Watched | undefined;
    const unwatch = () => {
      watching?.watchers?.delete(ws);
      watching = undefined;
    };
    ws.on('message', (data, isBinary) => {
      if (!bucket.take()) return this.send(ws, errorFrame(ERROR_CODES.rateLimited, 'more than 20 requests a second (bursts of 40); this one was dropped'));
      try {
        const request = parseWith(spectatorRequest, decodeFrame(frameBytes(data), isBinary, 'json'), 'spectator request');
        unwatch();
        if (request.type === 'unwatch') return;
        const match = this.running.get(request.matchId);
        if (!match) throw new ProtocolError(`match ${request.matchId} is not running (it may have ended: GET /api/matches/${encodeURIComponent(request.matchId)})`);
        watching = match;
        (match.watchers ??= new Set()).add(ws);
        this.send(ws, { type: 'match', match: match.info, events: match.events });
      } catch (error) {
        if (!(error instanceof ProtocolError)) throw error;
        this.send(ws, errorFrame(ERROR_CODES.badMessage, error.message));
      }
    });
    ws.on('close', () => {
      unwatch();
      this.clients.delete(ws);
    });
    ws.on('error', () => undefined);
    this.send(ws, this.matchList());
    for (const game of this.ratings.games()) this.send(ws, this.ratingsOf(game));
  }

  /** A match started; `events` is its public event log, which its runner fills (a new spectator gets it whole). */
  matchStarted(info: RunningMatch, events: readonly EventMessage[]): void {
    this.running.set(info.matchId, { info, events });
    this.matchesChanged = true;
  }

  /** An event of a running match, already in its log: sent to the match's spectators. */
  event(event: EventMessage): void {
    const watchers = this.running.get(event.matchId)?.watchers;
    if (watchers) for (const ws of watchers) this.send(ws, event);
  }

  matchEnded(end: EndMessage): void {
    const match = this.running.get(end.matchId);
    if (!match) return;
    this.running.delete(end.matchId);
    if (match.watchers) for (const ws of match.watchers) this.send(ws, end);
    this.matchesChanged = true;
  }

  /** The live ratings of this game changed. */
  ratingsUpdated(game: string): void {
    this.ratingsChanged.add(game);
  }

  runningMatches(): RunningMatch[] {
    return [...this.running.values()].map((w) => w.info);
  }

  close(): void {
    clearInterval(this.timer);
  }
}
