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

/** Stored results in the order they were committed: all of them, or one tournament's. */
export function readResults(db: Database.Database, tournamentId?: number): ResultRow[] {
  const rows = tournamentId === undefined ? db.prepare('SELECT * FROM results ORDER BY rowid').all() : db.prepare('SELECT * FROM results WHERE tournament_id = ? ORDER BY rowid').all(tournamentId);
  return (rows as Row[]).map(toResult);
}

/** The most recent results, newest first. */
export function readRecentResults(db: Database.Database, limit: number): ResultRow[] {
  return (db.prepare('SELECT * FROM results ORDER BY rowid DESC LIMIT ?').all(limit) as Row[]).map(toResult);
}

export function readRatings(db: Database.Database): RatingRow[] {
  return (db.prepare('SELECT * FROM ratings').all() as Row[]).map((r) => ({ agent: r.agent as string, version: r.version as string, mu: r.mu as number, sigma: r.sigma as number, games: r.games as number }));
}

/**
 * The statements that plan matches and record finished ones, prepared once
 * per connection. Completions rate their players in `ratings`, which must
 * hold the stored ratings.
 */
export function storeWrites(db: Database.Database, ratings?: LiveRatings) {
  const s = {
    insertResult: db.prepare('INSERT INTO results (match_id, tournament_id, players, returns, outcome, reason, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    insertEpisode: db.prepare('INSERT INTO episodes (match_id, data) VALUES (?, ?)'),
    matchDone: db.prepare("UPDATE matches SET status = 'done' WHERE id = ? AND status = 'pending'"),
    upsertRating: db.prepare('INSERT INTO ratings (agent, version, mu, sigma, games) VALUES (?, ?, ?, ?, ?) ON CONFLICT (agent, version) DO UPDATE SET mu = excluded.mu, sigma = excluded.sigma, games = excluded.games'),
    planMatch: db.prepare("INSERT OR IGNORE INTO matches (id, tournament_id, key, round, seats, seed, status) VALUES (?, ?, ?, ?, ?, ?, 'pending')"),
    oweEnd: db.prepare('INSERT OR IGNORE INTO owed_ends (agent, match_id) VALUES (?, ?)'),
    delivered: db.prepare('DELETE FROM owed_ends WHERE agent = ? AND match_id = ?'),
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
    const rows = ratings.update(result.players, scores);
    for (const r of rows) s.upsertRating.run(r.agent, r.version, r.mu, r.sigma, r.games);
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
