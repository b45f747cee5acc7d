import type Database from 'better-sqlite3';
import { msgpackPackr } from '../episodes/codec.ts';
import type { Episode } from '../episodes/index.ts';
import type { PlannedMatch } from './formats.ts';
import type { Contestant, LiveRatings, RatingRow } from './ratings/live.ts';

export interface ResultRow {
  readonly matchId: string;
  readonly tournamentId: number;
  readonly players: readonly Contestant[];
  readonly returns: readonly number[];
  readonly outcome: Episode['outcome'];
  readonly reason?: string;
  readonly finishedAt: string;
}

/**
 * What one finished match writes, all in one transaction: its result, its
 * episode, and, when it has `scores` (1 win, 0.5 draw, 0 loss per seat), its
 * players' live ratings updated from them.
 */
export interface MatchCompletion {
  readonly result: ResultRow;
  readonly episode: Episode;
  readonly scores?: readonly number[];
  /** The match as planned, stored with the result if its plan is not stored yet (a ladder stores its pairings lazily). */
  readonly planned?: { readonly tournament: TournamentRef; readonly match: PlannedMatch };
}

/** The tournament a planned match belongs to, as its rows name it. */
export interface TournamentRef {
  readonly id: number;
  readonly name: string;
}

/** A write that waits for the next group commit. */
export type QueuedWrite =
  | { readonly kind: 'complete'; readonly completion: MatchCompletion }
  | { readonly kind: 'plan'; readonly tournament: TournamentRef; readonly matches: readonly PlannedMatch[] }
  /** The agent has received the ends of these matches: they are no longer owed. */
  | { readonly kind: 'delivered'; readonly agent: string; readonly matchIds: readonly string[] };

export const matchId = (tournament: string, key: string) => `${tournament}:${key}`;

/**
 * How commits reach the disk. `normal` (WAL, synchronous=NORMAL): a commit is
 * written to the WAL before it returns, so a killed server (even SIGKILL)
 * loses nothing committed; an OS crash or power cut may lose the last
 * commits. `full` also syncs the WAL at every commit, which survives power
 * cuts and makes each (group) commit wait for an fsync.
 */
export type Durability = 'normal' | 'full';

/** Opens the database for the server's use: WAL, the durability's sync mode, foreign keys checked. */
export function configure(db: Database.Database, durability: Durability): void {
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
}

type Row = Record<string, unknown>;

/** A row of the results table as a ResultRow. */
export const toResult = (r: Row): ResultRow => ({
  matchId: r.match_id as string,
  tournamentId: r.tournament_id as number,
  players: JSON.parse(r.players as string),
  returns: JSON.parse(r.returns as string),
  outcome: r.outcome as ResultRow['outcome'],
  ...(r.reason === null ? {} : { reason: r.reason as string }),
  finishedAt: r.finished_at as string,
});

/** Which results: all, one game's (every tournament of it), or one tournament's. */
export interface ResultScope {
  /** A game's rated name (`gameKey`): the results of its tournaments. */
  readonly game?: string;
  readonly tournamentId?: number;
}

const SCOPED_RESULTS = {
  all: 'FROM results',
  game: 'FROM results WHERE tournament_id IN (SELECT id FROM tournaments WHERE game = @game)',
  tournament: 'FROM results WHERE tournament_id = @tournamentId',
  both: 'FROM results WHERE tournament_id = @tournamentId AND tournament_id IN (SELECT id FROM tournaments WHERE game = @game)',
} as const;

/** The FROM and WHERE clauses that select a scope's results, and their parameters. */
export function scopedResults(scope: ResultScope = {}): { readonly from: string; readonly params: Record<string, unknown> } {
  const { game, tournamentId } = scope;
  const kind = game === undefined ? (tournamentId === undefined ? 'all' : 'tournament') : tournamentId === undefined ? 'game' : 'both';
  return { from: SCOPED_RESULTS[kind], params: { ...(game === undefined ? {} : { game }), ...(tournamentId === undefined ? {} : { tournamentId }) } };
}

/** Stored results in the order they were committed: all of them, or a game's, or one tournament's. */
export function readResults(db: Database.Database, scope: ResultScope = {}): ResultRow[] {
  const { from, params } = scopedResults(scope);
  return (db.prepare(`SELECT results.* ${from} ORDER BY rowid`).all(params) as Row[]).map(toResult);
}

/** The most recent results, newest first. */
export function readRecentResults(db: Database.Database, limit: number): ResultRow[] {
  return (db.prepare('SELECT * FROM results ORDER BY rowid DESC LIMIT ?').all(limit) as Row[]).map(toResult);
}

const toRating = (r: Row): RatingRow => ({
  game: r.game as string,
  tournamentId: r.tournament_id as number,
  agent: r.agent as string,
  version: r.version as string,
  mu: r.mu as number,
  sigma: r.sigma as number,
  games: r.games as number,
});

/** The stored live ratings, of every scope. */
export function readRatings(db: Database.Database): RatingRow[] {
  return (db.prepare('SELECT * FROM live_ratings').all() as Row[]).map(toRating);
}

/**
 * The statements that plan matches and record finished ones, prepared once
 * per connection. Completions rate their players in `ratings`, which must
 * hold the stored ratings, in the scopes of their tournament's game (as the
 * tournaments table names it) and of their tournament.
 */
export function storeWrites(db: Database.Database, ratings?: LiveRatings) {
  const s = {
    insertResult: db.prepare('INSERT INTO results (match_id, tournament_id, players, returns, outcome, reason, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    insertEpisode: db.prepare('INSERT INTO episodes (match_id, data) VALUES (?, ?)'),
    matchDone: db.prepare("UPDATE matches SET status = 'done' WHERE id = ? AND status = 'pending'"),
    upsertRating: db.prepare(
      'INSERT INTO live_ratings (game, tournament_id, agent, version, mu, sigma, games) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (game, tournament_id, agent, version) DO UPDATE SET mu = excluded.mu, sigma = excluded.sigma, games = excluded.games',
    ),
    gameOf: db.prepare('SELECT game FROM tournaments WHERE id = ?').pluck(),
    planMatch: db.prepare("INSERT OR IGNORE INTO matches (id, tournament_id, key, round, seats, seed, status) VALUES (?, ?, ?, ?, ?, ?, 'pending')"),
    oweEnd: db.prepare('INSERT OR IGNORE INTO owed_ends (agent, match_id) VALUES (?, ?)'),
    delivered: db.prepare('DELETE FROM owed_ends WHERE agent = ? AND match_id = ?'),
  };
  // A tournament's game never changes: asked once per tournament.
  const games = new Map<number, string>();
  const gameOf = (tournamentId: number): string => {
    const known = games.get(tournamentId);
    if (known !== undefined) return known;
    const game = s.gameOf.get(tournamentId) as string | null | undefined;
    if (game == null) throw new Error(`tournament ${tournamentId} has no rated game; the server names it when it starts`);
    games.set(tournamentId, game);
    return game;
  };
  const plan = (tournament: TournamentRef, matches: readonly PlannedMatch[]) => {
    for (const m of matches) s.planMatch.run(matchId(tournament.name, m.key), tournament.id, m.key, m.round, JSON.stringify(m.seats), m.seed);
  };
  /** Records a finished match (its episode checked with checkBuiltEpisode); returns its players' new ratings. */
  const complete = ({ result, episode, scores, planned }: MatchCompletion): RatingRow[] => {
    if (planned) plan(planned.tournament, [planned.match]);
    if (s.matchDone.run(result.matchId).changes !== 1) throw new Error(`match ${result.matchId} is not a pending match; a result is never recorded twice`);
    s.insertResult.run(result.matchId, result.tournamentId, JSON.stringify(result.players), JSON.stringify(result.returns), result.outcome, result.reason ?? null, result.finishedAt);
    s.insertEpisode.run(result.matchId, msgpackPackr.pack(episode));
    // Each seat is owed the match's end until its agent is known to have received it.
    for (const player of result.players) s.oweEnd.run(player.agent, result.matchId);
    if (!scores) return [];
    if (!ratings) throw new Error('completions are rated: storeWrites needs the live ratings');
    const rows = ratings.update(gameOf(result.tournamentId), result.tournamentId, result.players, scores);
    for (const r of rows) s.upsertRating.run(r.game, r.tournamentId, r.agent, r.version, r.mu, r.sigma, r.games);
    return rows;
  };
  return {
    plan,
    complete,
    apply: (write: QueuedWrite): RatingRow[] => {
      if (write.kind === 'complete') return complete(write.completion);
      if (write.kind === 'delivered') {
        for (const id of write.matchIds) s.delivered.run(write.agent, id);
        return [];
      }
      plan(write.tournament, write.matches);
      return [];
    },
  };
}
