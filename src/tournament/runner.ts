import { ordinal } from 'openskill';
import type { Game } from '../core/index.ts';
import type { Episode, EpisodeStep } from '../episodes/index.ts';
import { parseInvalidMovePolicy, type InvalidMovePolicy } from '../runtime/invalid-moves.ts';
import { PROTOCOL_VERSION, type EventMessage } from '../runtime/messages.ts';
import { playMatch } from '../runtime/referee.ts';
import { ladderPairing, plan, seatScores, type FinishedMatch, type PlannedMatch } from './formats.ts';
import type { LiveRatings } from './ratings/live.ts';
import type { AgentSession, Disconnect, SessionRegistry } from './sessions.ts';
import type { SpectatorHub } from './spectators.ts';
import { endMessage, matchId, type Contestant, type MatchRow, type Store, type TournamentRow } from './store.ts';

const MAX_FAILURES = 3;

/** A match waiting to start, with the sessions of its agents. */
interface Queued {
  readonly row: MatchRow;
  readonly sessions: readonly AgentSession[];
}

export interface RunnerContext {
  readonly store: Store;
  readonly registry: SessionRegistry;
  readonly ratings: LiveRatings;
  readonly spectators: SpectatorHub;
  readonly log: (line: string) => void;
}

/**
 * Records each disconnect in the episode, in the meta of the seat's step it
 * hit (or its last step), under `disconnects`: the server's record. Whatever
 * an agent put under that key, on any step, is removed, so that the key
 * always means what the server saw.
 */
export function withDisconnects(episode: Episode, logs: readonly (readonly Disconnect[])[]): Episode {
  const claims = (step: EpisodeStep) => step.meta !== undefined && Object.hasOwn(step.meta, 'disconnects');
  if (logs.every((log) => log.length === 0) && !episode.steps.some(claims)) return episode;
  const records = new Map<number, object[]>();
  logs.forEach((log, seat) => {
    const mine = episode.steps.flatMap((step, index) => (step.seat === seat ? [index] : []));
    for (const disconnect of log) {
      if (mine.length === 0) continue;
      const index = mine[Math.min(disconnect.step, mine.length - 1)];
      const record = disconnect.downMs === undefined ? { step: disconnect.step, returned: false } : { step: disconnect.step, downMs: disconnect.downMs };
      records.set(index, [...(records.get(index) ?? []), record]);
    }
  });
  const steps = episode.steps.map((step: EpisodeStep, index) => {
    const disconnects = records.get(index);
    if (disconnects) return { ...step, meta: { ...step.meta, disconnects } };
    if (!claims(step)) return step;
    const { disconnects: _claimed, ...meta } = step.meta!;
    const { meta: _all, ...rest } = step;
    return Object.keys(meta).length > 0 ? { ...rest, meta } : rest;
  });
  return { ...episode, steps };
}

/**
 * Runs one tournament: plans its matches (stored with the next group commit,
 * and by each game with its result), starts each as soon as its agents are
 * connected and free, referees it with the runtime's playMatch over the
 * agents' connections, and commits the result, episode and rating updates
 * together. Matches left running by a killed server are pending again, so
 * they are replayed.
 */
export class TournamentRunner {
  private readonly invalidMoves: InvalidMovePolicy;
  /** Matches being played or committed. */
  private readonly running = new Map<string, Promise<void>>();
  /** Aborts every match in flight when the runner stops. One for all: Node gives each AbortSignal a shape of its own. */
  private readonly stopping = new AbortController();
  /** Matches being played (the tournament's concurrency). */
  private playing = 0;
  /**
   * Matches planned and finished so far, which fixed schedules and swiss
   * pairings are made from. A ladder has no schedule and may run for ever,
   * so it keeps only the counts.
   */
  private planned: PlannedMatch[] = [];
  private pending: Queued[] = [];
  private readonly finished = new Map<string, FinishedMatch>();
  private readonly remembers: boolean;
  private plannedCount = 0;
  private finishedCount = 0;
  private final = false;
  private readonly failures = new Map<string, number>();
  /** The ladder's next pairing number. */
  private nextSequence = 0;
  /**
   * The tournament's agents that may be free: every agent at the start, then
   * those the registry names as available again. Agents found busy or
   * disconnected are dropped, so pairing looks at a handful, not the field.
   */
  private readonly maybeIdle: Set<string>;
  /** Each agent's place in the config. */
  private readonly entrants: ReadonlyMap<string, number>;
  private stopped = false;
  /** The game as rated (`gameKey`): the live ratings' scope, and what spectators see. */
  private readonly ratedGame: string;
  private readonly unsubscribe: () => void;
  private resolveDone!: () => void;
  /** Resolves when every match of the tournament has a result. */
  readonly done = new Promise<void>((resolve) => (this.resolveDone = resolve));

  constructor(
    readonly tournament: TournamentRow,
    /** The tournament's game, from the server's caller. */
    private readonly game: Game,
    private readonly context: RunnerContext,
  ) {
    this.invalidMoves = parseInvalidMovePolicy(tournament.config.invalidMoves);
    if (tournament.game === null) throw new Error(`tournament ${tournament.name} names no rated game; the server names it before it runs the tournament`);
    this.ratedGame = tournament.game;
    this.remembers = tournament.config.format.type !== 'ladder';
    const { store } = context;
    if (this.remembers) {
      const rows = store.matchesOf(tournament.id);
      const results = new Map(store.results(tournament.id).map((r) => [r.matchId, r]));
      for (const row of rows) {
        const result = results.get(row.id);
        if (result) this.finished.set(row.key, { key: row.key, round: row.round, seats: row.seats, scores: seatScores(result.returns) });
      }
      this.planned = rows;
      this.pending = rows.filter((m) => m.status === 'pending').map((m) => this.queued(m));
    } else {
      this.pending = store.matchesOf(tournament.id, 'pending').map((m) => this.queued(m));
    }
    const counts = store.matchCounts(tournament.id);
    this.plannedCount = counts.planned;
    this.finishedCount = counts.done;
    this.nextSequence = counts.nextRound;
    this.entrants = new Map(tournament.config.agents.map((agent, index) => [agent, index]));
    this.maybeIdle = new Set(tournament.config.agents);
    this.unsubscribe = context.registry.onAvailable((agents) => {
      for (const agent of agents) if (this.entrants.has(agent)) this.maybeIdle.add(agent);
      this.pump();
    });
  }

  start(): void {
    if (this.finishedCount > 0) this.context.log(`tournament ${this.tournament.name} resumes: ${this.finishedCount} of ${this.plannedCount} planned matches have results`);
    this.replan();
    this.pump();
  }

  /** Stores and queues the matches the format calls for now. */
  private replan(): void {
    const schedule = plan(this.tournament.config, this.planned, this.finished, this.game.seats);
    this.final = schedule.final;
    const known = new Set(this.planned.map((m) => m.key));
    this.enqueue(schedule.matches.filter((m) => !known.has(m.key)));
  }

  private enqueue(matches: readonly PlannedMatch[]): void {
    if (matches.length === 0) return;
    // Plans ride with the next group commit: the serving thread never waits for the database (a ladder
    // plans a pairing at a time, too many for a commit each), and each game stores its own plan with
    // its result if this write is lost.
    this.context.store
      .planMatchesSoon(this.tournament, matches)
      .catch((error) => this.context.log(`could not store ${matches.length} planned matches of ${this.tournament.name} yet (${(error as Error).message}); their games store them with their results`));
    // One by one: a spread would pass every match as an argument, more than the stack holds for a large schedule.
    if (this.remembers) for (const match of matches) this.planned.push(match);
    this.plannedCount += matches.length;
    // Spelled out rather than spread: V8 gives each spread copy of an object that holds a number
    // outside the small-integer range (a seed) a hidden class of its own.
    for (const { key, round, seats, seed } of matches) {
      this.pending.push(this.queued({ key, round, seats, seed, id: matchId(this.tournament.name, key), tournamentId: this.tournament.id, status: 'pending' }));
    }
  }

  private queued(row: MatchRow): Queued {
    return { row, sessions: row.seats.map((agent) => this.context.registry.session(agent)) };
  }

  private isFree(session: AgentSession): boolean {
    return session.connected && session.busy < this.tournament.config.matchesPerAgent;
  }

  private free(agent: string): boolean {
    const session = this.context.registry.find(agent);
    return session !== undefined && this.isFree(session);
  }

  /** Starts what can start now. */
  private pump(): void {
    const { config } = this.tournament;
    while (!this.stopped && this.playing < config.concurrency) {
      const index = this.pending.findIndex((m) => m.sessions.every((s) => this.isFree(s)));
      if (index >= 0) this.launch(this.pending.splice(index, 1)[0]);
      else if (!this.pairIdleAgents()) break;
    }
    this.checkFinished();
  }

  /** The ladder's next pairings, among the agents free now; false if none could be made. */
  private pairIdleAgents(): boolean {
    const { config } = this.tournament;
    if (config.format.type !== 'ladder') return false;
    const { maxMatches } = config.format;
    const idle: string[] = [];
    for (const agent of this.maybeIdle) {
      if (this.free(agent)) idle.push(agent);
      else this.maybeIdle.delete(agent);
    }
    // In the config's order, as the pairing's seeded choice expects.
    idle.sort((a, b) => this.entrants.get(a)! - this.entrants.get(b)!);
    // Its game's rating, across tournaments: the best estimate of strength there is.
    const rating = (agent: string) => ordinal(this.context.ratings.get({ game: this.ratedGame, tournamentId: 0 }, { agent, version: this.context.registry.session(agent).version }));
    // Games left for an agent that is gone (the rest of its pairing) wait for it without holding up the others.
    const waiting = () => this.pending.reduce((n, m) => (m.sessions.every((s) => s.connected) ? n + 1 : n), 0);
    let paired = false;
    while (this.playing + waiting() < config.concurrency) {
      if (maxMatches !== undefined && this.plannedCount >= maxMatches) {
        this.final = true;
        break;
      }
      const pairing = ladderPairing(config, this.nextSequence, idle, rating, this.game.seats);
      if (!pairing) break;
      this.nextSequence++;
      // The last pairing is cut short where it would go past maxMatches.
      this.enqueue(maxMatches === undefined ? pairing : pairing.slice(0, maxMatches - this.plannedCount));
      for (const agent of pairing[0].seats) idle.splice(idle.indexOf(agent), 1);
      paired = true;
    }
    return paired;
  }

  private checkFinished(): void {
    if (!this.final || this.pending.length > 0 || this.running.size > 0 || this.plannedCount > this.finishedCount) return;
    if (this.tournament.status !== 'finished') {
      this.context.store.finishTournament(this.tournament.id);
      this.context.log(`tournament ${this.tournament.name} finished: ${this.finishedCount} matches`);
    }
    this.unsubscribe();
    this.resolveDone();
  }

  private launch(queued: Queued): void {
    const match = queued.row;
    this.playing++;
    let requeued = false;
    const { signal } = this.stopping;
    const done = this.play(queued, signal)
      .catch((error) => {
        if (signal.aborted) return;
        // A match that keeps failing (a server bug) waits in the database for the next start instead of looping.
        const failures = (this.failures.get(match.id) ?? 0) + 1;
        this.failures.set(match.id, failures);
        const again = failures < MAX_FAILURES;
        this.context.log(`match ${match.id} failed (${error instanceof Error ? error.message : String(error)}); ${again ? 'it goes back in the queue' : `left pending after ${failures} failures`}`);
        if (again) this.pending.push(queued);
        requeued = again;
      })
      .finally(() => {
        this.running.delete(match.id);
        // Its agents were freed (and the scheduler called) when play ended; only a match put back is new.
        if (requeued) this.pump();
        else this.checkFinished();
      });
    this.running.set(match.id, done);
  }

  /** Plays a match, frees its agents, then commits its result (the match stays pending in the database until then). */
  private async play({ row: match, sessions }: Queued, signal: AbortSignal): Promise<void> {
    const { store, registry, ratings, spectators } = this.context;
    const { config } = this.tournament;
    const contestants: Contestant[] = sessions.map((s) => ({ agent: s.name, version: s.version }));
    const disconnects = sessions.map((): Disconnect[] => []);
    // The match's public events, for its spectators and for its agents when they reconnect.
    const events: EventMessage[] = [];
    for (const s of sessions) s.busy++;
    spectators.matchStarted({ matchId: match.id, tournament: this.tournament.name, game: this.ratedGame, players: contestants, startedAt: new Date().toISOString() }, events);
    let episode: Episode;
    try {
      episode = withDisconnects(
        await playMatch({
          game: this.game,
          players: sessions.map((s, seat) => ({
            name: s.name,
            policy: { id: s.name, version: contestants[seat].version },
            agent: s.agent({ reconnectGraceMs: config.reconnectGraceMs, events, disconnects: disconnects[seat] }),
          })),
          seed: match.seed,
          matchId: match.id,
          invalidMoves: this.invalidMoves,
          turnTimeoutMs: config.timePerMoveMs,
          turnGraceMs: config.graceMs,
          maxTurns: config.maxTurns,
          timing: true,
          signal,
          onEvent: (event) => {
            events.push(event);
            spectators.event(event);
          },
        }),
        disconnects,
      );
    } catch (error) {
      spectators.matchEnded({ type: 'end', v: PROTOCOL_VERSION, matchId: match.id, returns: match.seats.map(() => 0), outcome: 'error', reason: 'the server stopped the match; it will be replayed' });
      throw error;
    } finally {
      this.playing--;
      for (const s of sessions) s.busy--;
      // Its agents are free again: this and every other tournament may start something.
      registry.available(match.seats);
    }
    const scores = seatScores(episode.returns);
    const result = {
      matchId: match.id,
      tournamentId: this.tournament.id,
      players: contestants,
      returns: episode.returns,
      outcome: episode.outcome,
      ...(episode.reason ? { reason: episode.reason } : {}),
      finishedAt: new Date().toISOString(),
    };
    // A match that ended in an error says nothing about the players' strength.
    const planned = { tournament: { id: this.tournament.id, name: this.tournament.name }, match: { key: match.key, round: match.round, seats: match.seats, seed: match.seed } };
    try {
      ratings.apply(await store.complete({ result, episode, planned, ...(episode.outcome === 'error' ? {} : { scores }) }));
    } catch (error) {
      // A writer that died after committing the result but before answering: it counts, and the live table catches up from the database.
      if (store.match(match.id)?.result === undefined) throw error;
      ratings.reload(store.ratings());
    }
    // Only now, with the result durable, are the seats, the spectators and the live ratings told: an end once
    // sent is never replaced by a replay. Each seat is owed it until its agent is known to have received it.
    const end = endMessage(match.id, episode.returns, episode.outcome, episode.reason);
    for (const s of sessions) s.ended(end);
    spectators.matchEnded(end);
    if (this.remembers) this.finished.set(match.key, { key: match.key, round: match.round, seats: match.seats, scores });
    this.finishedCount++;
    spectators.ratingsUpdated(this.ratedGame);
    if (config.format.type === 'swiss') {
      this.replan();
      this.pump();
    }
  }

  /** Stops starting matches and aborts those in flight; they are still pending in the database, so the next start replays them. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.stopping.abort(new Error('the server is shutting down'));
    await Promise.all(this.running.values());
  }

  status() {
    return { running: this.playing, pending: this.pending.length, finished: this.finishedCount, planned: this.plannedCount, final: this.final };
  }
}
