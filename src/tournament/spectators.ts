import { WebSocket } from 'ws';
import { ProtocolError } from '../core/index.ts';
import type { EndMessage, EventMessage } from '../runtime/messages.ts';
import { ERROR_CODES, errorFrame, parseWith, spectatorRequest } from './protocol.ts';
import { TokenBucket } from './rate-limit.ts';
import type { LiveRating } from './ratings/live.ts';
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

/**
 * Spectators (the live page): every one gets the list of running matches and
 * the live ratings, at most every `intervalMs`; one that watches a match gets
 * its public events so far and then each event as it happens.
 */
export class SpectatorHub {
  private readonly clients = new Set<WebSocket>();
  private readonly running = new Map<string, Watched>();
  private matchesChanged = true;
  private ratingsChanged = true;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ratings: () => LiveRating[],
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

  private tick(): void {
    if (this.clients.size === 0) return;
    const messages = [];
    if (this.matchesChanged) messages.push(this.matchList());
    if (this.ratingsChanged) messages.push({ type: 'ratings', rows: this.ratings() });
    this.matchesChanged = this.ratingsChanged = false;
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
    this.send(ws, { type: 'ratings', rows: this.ratings() });
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

  ratingsUpdated(): void {
    this.ratingsChanged = true;
  }

  runningMatches(): RunningMatch[] {
    return [...this.running.values()].map((w) => w.info);
  }

  close(): void {
    clearInterval(this.timer);
  }
}
