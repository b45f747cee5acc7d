import { Observable, type Subscriber } from 'rxjs';
import type { Agent } from '../runtime/agent.ts';
import type { EndMessage, EventMessage, FromAgent, StartMessage, ToAgent, TurnMessage } from '../runtime/messages.ts';
import { ERROR_CODES, errorFrame } from './protocol.ts';

/** Where a session's messages go: the agent's live connection. */
export interface Outbox {
  send(message: unknown): void;
}

/** A disconnect during a match, for the episode: which of the seat's steps it hit and for how long. */
export interface Disconnect {
  /** The seat's step (its turn counter) that was pending or came next. */
  readonly step: number;
  /** Milliseconds until the agent was back; absent if it never came back during the match. */
  downMs?: number;
}

export interface LinkOptions {
  /** How long a disconnected agent may stay away before it forfeits the match. */
  readonly reconnectGraceMs: number;
  /** The match's public events so far, which its runner keeps: a reconnecting agent gets them again. */
  readonly events: readonly EventMessage[];
  /** Filled with this seat's disconnects during the match. */
  readonly disconnects: Disconnect[];
}

/**
 * One seat of one match, bridged to the agent's connection. It keeps what a
 * reconnecting agent needs to pick the match up again: the start message
 * and the turn waiting for a reply (the public events so far are the
 * runner's log).
 */
class MatchLink {
  private pending: { turn: TurnMessage; sentAt: number } | undefined;
  private turns = 0;
  /** The agent said it cannot go on; the referee acts on the first such error, so later ones are dropped (unread, they would pile up). */
  private gaveUp = false;
  private down: { since: number; timer: NodeJS.Timeout; record: Disconnect } | undefined;
  /** The agent stayed away too long; the match goes on without it. */
  failed = false;

  constructor(
    private readonly session: AgentSession,
    readonly start: StartMessage,
    private readonly replies: Subscriber<FromAgent>,
    private readonly options: LinkOptions,
  ) {}

  /** A message from the referee to this seat. */
  forward(message: ToAgent): void {
    if (message.type === 'turn') {
      this.turns++;
      this.pending = { turn: message, sentAt: performance.now() };
      this.session.send(message);
      return;
    }
    if (message.type === 'end') {
      // The referee's end is not sent: the runner sends the match's end once its result is committed (AgentSession.ended).
      this.pending = undefined;
      return;
    }
    this.session.send(message);
  }

  /** An action from the agent: passed on if it answers the pending turn, else the protocol error to send back. */
  reply(message: FromAgent): ReturnType<typeof errorFrame> | undefined {
    if (message.type === 'action') {
      if (!this.pending) return errorFrame(ERROR_CODES.outOfOrder, `no turn of match ${message.matchId} is waiting for a reply (step ${message.step} came too late or too early)`, message.matchId);
      if (this.pending.turn.step !== message.step) {
        return errorFrame(ERROR_CODES.outOfOrder, `match ${message.matchId} is waiting for step ${this.pending.turn.step}, got step ${message.step}`, message.matchId);
      }
      this.pending = undefined;
    } else {
      if (this.gaveUp) return undefined;
      this.gaveUp = true;
    }
    this.replies.next(message);
    return undefined;
  }

  disconnected(): void {
    if (this.failed || this.down) return;
    const record: Disconnect = { step: this.pending ? this.pending.turn.step : this.turns };
    this.options.disconnects.push(record);
    const timer = setTimeout(() => {
      this.failed = true;
      this.down = undefined;
      this.replies.error(new Error(`disconnected and not back within ${this.options.reconnectGraceMs} ms`));
    }, this.options.reconnectGraceMs);
    this.down = { since: performance.now(), timer, record };
  }

  /** The agent is back: resend the whole state of the match, the pending turn with the time it has left. */
  resume(): void {
    if (this.down) {
      clearTimeout(this.down.timer);
      this.down.record.downMs = Math.round(performance.now() - this.down.since);
      this.down = undefined;
    }
    this.session.send(this.start);
    for (const event of this.options.events) this.session.send(event);
    if (this.pending) {
      const left = this.pending.turn.timeoutMs - (performance.now() - this.pending.sentAt);
      this.session.send({ ...this.pending.turn, timeoutMs: Math.max(0, Math.round(left)) });
    }
  }

  dispose(): void {
    if (this.down) clearTimeout(this.down.timer);
  }
}

/**
 * An agent as the server knows it: its live connection (at most one) and its
 * seats in running matches. The session outlives a dropped connection so
 * that the agent can reconnect and resume.
 */
export class AgentSession {
  private connection: Outbox | undefined;
  private readonly links = new Map<string, MatchLink>();
  /** Ends of this agent's committed matches not yet known to have reached it, in commit order. */
  private readonly owed = new Map<string, EndMessage>();
  /** Matches the scheduler has given this agent and that have not ended. */
  busy = 0;

  constructor(
    readonly name: string,
    public version: string,
  ) {}

  get connected(): boolean {
    return this.connection !== undefined;
  }

  send(message: unknown): void {
    this.connection?.send(message);
  }

  /** Matches a reconnecting agent resumes. */
  resumable(): string[] {
    return [...this.links.values()].filter((l) => !l.failed).map((l) => l.start.matchId);
  }

  attach(connection: Outbox, version: string): void {
    this.connection = connection;
    this.version = version;
    // The ends of matches that finished while the agent was away (or whose end it may not have received), then the matches it resumes.
    for (const end of this.owed.values()) connection.send(end);
    for (const link of this.links.values()) if (!link.failed) link.resume();
  }

  /** A match of this agent's has its result committed: its end is owed to the agent until it has received it, and sent now if connected. */
  ended(end: EndMessage): void {
    this.owed.set(end.matchId, end);
    this.send(end);
  }

  /** The matches whose ends are owed (every one has been sent on the live connection, if there is one). */
  owedEnds(): string[] {
    return [...this.owed.keys()];
  }

  /** The agent has received the ends of these matches; returns those that were still owed. */
  confirm(matchIds: readonly string[]): string[] {
    return matchIds.filter((id) => this.owed.delete(id));
  }

  detach(connection: Outbox): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    for (const link of this.links.values()) link.disconnected();
  }

  /** Routes a validated message from the agent; returns the protocol error to send back, if any. */
  deliver(message: FromAgent): ReturnType<typeof errorFrame> | undefined {
    if (message.matchId === undefined) {
      // An error without a match id: the agent cannot go on in any of its matches.
      for (const link of this.links.values()) link.reply({ ...message, matchId: link.start.matchId });
      return undefined;
    }
    const link = this.links.get(message.matchId);
    if (!link) return errorFrame(ERROR_CODES.unknownMatch, `you have no seat in a running match ${JSON.stringify(message.matchId)}`, message.matchId);
    return link.reply(message);
  }

  /** The agent for one seat of one match: the referee's messages go out on the connection, the replies come back from it. */
  agent(options: LinkOptions): Agent {
    return (inbox) =>
      new Observable<FromAgent>((subscriber) => {
        let link: MatchLink | undefined;
        const subscription = inbox.subscribe((message) => {
          if (message.type === 'start') {
            link = new MatchLink(this, message, subscriber, options);
            this.links.set(message.matchId, link);
            if (!this.connected) link.disconnected();
          }
          link?.forward(message);
        });
        return () => {
          subscription.unsubscribe();
          if (!link) return;
          link.dispose();
          this.links.delete(link.start.matchId);
        };
      });
  }
}

/** Every agent's session, and who to tell when an agent may take a match. */
export class SessionRegistry {
  private readonly sessions = new Map<string, AgentSession>();
  private readonly listeners = new Set<(agents: readonly string[]) => void>();

  /** Called when an agent is known to have received ends it was owed (the server records it in the store). */
  onDelivered: (agent: string, matchIds: readonly string[]) => void = () => undefined;

  session(name: string, version = '1'): AgentSession {
    let session = this.sessions.get(name);
    if (!session) this.sessions.set(name, (session = new AgentSession(name, version)));
    return session;
  }

  find(name: string): AgentSession | undefined {
    return this.sessions.get(name);
  }

  connected(): AgentSession[] {
    return [...this.sessions.values()].filter((s) => s.connected);
  }

  /** Calls `listener` with the agents that may take a match again (they connected or finished one). */
  onAvailable(listener: (agents: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** These agents connected or finished a match. */
  available(agents: readonly string[]): void {
    for (const listener of this.listeners) listener(agents);
  }
}
