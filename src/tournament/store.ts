import Database from 'better-sqlite3';
import { ConfigError } from '../core/index.ts';
import { checkBuiltEpisode } from '../episodes/codec.ts';
import { decodeEpisode, type Episode } from '../episodes/index.ts';
import { PROTOCOL_VERSION, type EndMessage } from '../runtime/messages.ts';
import type { ResolvedConfig } from './config.ts';
import { seatScores, type PlannedMatch } from './formats.ts';
import { GroupCommitter } from './group-commit.ts';
import { LiveRatings, type RatingRow } from './ratings/live.ts';
import { configure, readRatings, readRecentResults, readResults, storeWrites, toResult, type Durability, type MatchCompletion, type ResultRow, type ResultScope } from './store-writes.ts';
import { hashToken, newToken } from './tokens.ts';

export type { Contestant, RatingRow, RatingScope } from './ratings/live.ts';
export { matchId, type Durability, type MatchCompletion, type ResultRow, type ResultScope } from './store-writes.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS agents (
  name TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tournaments (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  config TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('running', 'finished')),
  created_at TEXT NOT NULL,
  finished_at TEXT,
  game TEXT
);
CREATE TABLE IF NOT EXISTS matches (
  id TEXT PRIMARY KEY,
  tournament_id INTEGER NOT NULL REFERENCES tournaments(id),
  key TEXT NOT NULL,
  round INTEGER NOT NULL,
  seats TEXT NOT NULL,
  seed INTEGER NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'done')),
  UNIQUE (tournament_id, key)
);
CREATE INDEX IF NOT EXISTS matches_by_status ON matches (tournament_id, status);
CREATE TABLE IF NOT EXISTS results (
  match_id TEXT PRIMARY KEY REFERENCES matches(id),
  tournament_id INTEGER NOT NULL REFERENCES tournaments(id),
  players TEXT NOT NULL,
  returns TEXT NOT NULL,
  outcome TEXT NOT NULL,
  reason TEXT,
  finished_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS results_by_tournament ON results (tournament_id);
CREATE TABLE IF NOT EXISTS episodes (
  match_id TEXT PRIMARY KEY REFERENCES results(match_id),
  data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS owed_ends (
  agent TEXT NOT NULL,
  match_id TEXT NOT NULL REFERENCES results(match_id),
  PRIMARY KEY (agent, match_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS live_ratings (
  game TEXT NOT NULL,
  tournament_id INTEGER NOT NULL,
  agent TEXT NOT NULL,
  version TEXT NOT NULL,
  mu REAL NOT NULL,
  sigma REAL NOT NULL,
  games INTEGER NOT NULL,
  PRIMARY KEY (game, tournament_id, agent, version)
);
`;

/**
 * The database's layout version (SQLite's user_version). 0: a database of
 * an earlier server, whose live ratings (table `ratings`) pooled every
 * game; 1: live ratings per game and per tournament (`live_ratings`),
 * each tournament naming its rated game (`tournaments.game`). The server
 * migrates a version 0 database when it starts (`Store.migrate`).
 */
export const SCHEMA_VERSION = 1;

export interface TournamentRow {
  readonly id: number;
  readonly name: string;
  readonly config: ResolvedConfig;
  /**
   * The game as rated (`gameKey`): its id, and its parameters that differ
   * from the defaults. Null only in a database of an earlier server until the
   * server that opens it names it (`migrate`).
   */
  readonly game: string | null;
  readonly status: 'running' | 'finished';
  readonly createdAt: string;
  readonly finishedAt: string | null;
}

/**
 * A planned match. It is `pending` until its result is committed: a match
 * that was running when the server stopped or was killed is still pending,
 * so the next start replays it.
 */
export interface MatchRow extends PlannedMatch {
  readonly id: string;
  readonly tournamentId: number;
  readonly status: 'pending' | 'done';
}

type Row = Record<string, unknown>;

/** Planned matches per write: a schedule is stored a chunk at a time, each with a group commit. */
const PLAN_CHUNK = 250;

/** The `end` message of a finished match, as its seats get it. */
export function endMessage(matchId: string, returns: readonly number[], outcome: EndMessage['outcome'], reason?: string | null): EndMessage {
  return { type: 'end', v: PROTOCOL_VERSION, matchId, returns: [...returns], outcome, ...(reason ? { reason } : {}) };
}

const toMatch = (r: Row): MatchRow => ({
  id: r.id as string,
  tournamentId: r.tournament_id as number,
  key: r.key as string,
  round: r.round as number,
  seats: JSON.parse(r.seats as string),
  seed: r.seed as number,
  status: r.status as MatchRow['status'],
});

const toTournament = (r: Row): TournamentRow => ({
  id: r.id as number,
  name: r.name as string,
  config: JSON.parse(r.config as string),
  game: r.game as string | null,
  status: r.status as TournamentRow['status'],
  createdAt: r.created_at as string,
  finishedAt: r.finished_at as string | null,
});

/** SQLite errors that mean the file cannot serve as this database, rather than a bug. */
const CANNOT_OPEN = new Set(['SQLITE_CANTOPEN', 'SQLITE_NOTADB', 'SQLITE_READONLY', 'SQLITE_PERM', 'SQLITE_BUSY', 'SQLITE_CORRUPT', 'SQLITE_IOERR']);

/**
 * The server's SQLite database in WAL mode. A finished match's result,
 * episode and rating updates are committed in one transaction. Those writes,
 * made while the server runs, go to a writer thread where the ones that
 * arrive together share one transaction (group commit); `complete` resolves
 * once its commit is done. Everything else reads and writes here.
 */
export class Store {
  readonly db: Database.Database;
  private readonly committer: GroupCommitter;
  private readonly writes;

  constructor(path: string, durability: Durability = 'normal', { mustExist = false }: { mustExist?: boolean } = {}) {
    let db: Database.Database | undefined;
    try {
      db = new Database(path, { fileMustExist: mustExist });
      configure(db, durability);
      const fresh = db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'tournaments'").pluck().get() === 0;
      db.transaction(() => {
        db!.exec(SCHEMA);
        // A database of an earlier server: its tournaments get the column that names their rated game (filled by migrate).
        const columns = (db!.prepare('PRAGMA table_info(tournaments)').all() as Row[]).map((c) => c.name);
        if (!columns.includes('game')) db!.exec('ALTER TABLE tournaments ADD COLUMN game TEXT');
        if (fresh) db!.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
    } catch (error) {
      db?.close();
      // A folder that does not exist (better-sqlite3 says so with a TypeError), a file that is not SQLite,
      // no permission, a database another program holds: the user's to fix.
      const theUsers = db === undefined ? error instanceof TypeError || error instanceof Database.SqliteError : error instanceof Database.SqliteError && CANNOT_OPEN.has(error.code);
      if (theUsers) throw new ConfigError(`cannot open the database ${path}: ${(error as Error).message}`);
      throw error;
    }
    this.db = db;
    this.writes = storeWrites(this.db);
    this.committer = new GroupCommitter(path, durability);
  }

  /** Starts the thread that commits completions, so that the first match does not wait for it; for servers. */
  openWriter(): Promise<void> {
    return this.committer.open();
  }

  // ---- agents

  /** Registers an agent and returns its token; the token itself is not stored. */
  addAgent(name: string): string {
    if (this.db.prepare('SELECT 1 FROM agents WHERE name = ?').get(name)) throw new ConfigError(`agent "${name}" already exists`);
    const token = newToken();
    this.db.prepare('INSERT INTO agents (name, token_hash, created_at) VALUES (?, ?, ?)').run(name, hashToken(token), new Date().toISOString());
    return token;
  }

  /** The agent a token belongs to, if any. */
  agentOfToken(token: string): string | undefined {
    const row = this.db.prepare('SELECT name FROM agents WHERE token_hash = ?').get(hashToken(token)) as Row | undefined;
    return row?.name as string | undefined;
  }

  agents(): { name: string; createdAt: string }[] {
    return (this.db.prepare('SELECT name, created_at FROM agents ORDER BY name').all() as Row[]).map((r) => ({ name: r.name as string, createdAt: r.created_at as string }));
  }

  // ---- tournaments

  /**
   * Creates the tournament, whose game is rated as `game` (`gameKey`), or
   * returns the stored one of that name if its config is the same.
   */
  ensureTournament(config: ResolvedConfig, game: string): TournamentRow {
    const existing = this.tournament(config.name);
    const json = JSON.stringify(config);
    if (existing) {
      if (JSON.stringify(existing.config) !== json) throw new ConfigError(`tournament "${config.name}" already exists with a different config; give the new one another name`);
      if (existing.game === null) this.nameGame(existing.id, game);
      return this.tournament(config.name)!;
    }
    this.db.prepare("INSERT INTO tournaments (name, config, status, created_at, game) VALUES (?, ?, 'running', ?, ?)").run(config.name, json, new Date().toISOString(), game);
    return this.tournament(config.name)!;
  }

  /** Records the rated game of a tournament stored by an earlier server (which did not name it). */
  nameGame(tournamentId: number, game: string): void {
    this.db.prepare('UPDATE tournaments SET game = ? WHERE id = ? AND game IS NULL').run(game, tournamentId);
  }

  /** Whether the database is an earlier server's, whose live ratings pool every game: `migrate` rates them again. */
  needsMigration(): boolean {
    return (this.db.pragma('user_version', { simple: true }) as number) < SCHEMA_VERSION;
  }

  /**
   * Brings a database of an earlier server to this layout, once every
   * tournament names its game (`nameGame`): the live ratings, which pooled
   * every game under one rating per agent version, are rated again from
   * the stored results, in the order they were committed, per game and per
   * tournament, exactly as the live table rates each new result. The old
   * table goes. One transaction: a server killed meanwhile migrates on its
   * next start. Rating again a database of this layout gives the ratings it
   * has. Returns how many results were rated.
   */
  migrate(): number {
    const unnamed = this.tournaments().filter((t) => t.game === null);
    if (unnamed.length > 0) throw new Error(`cannot migrate the ratings: tournament ${unnamed.map((t) => t.name).join(', ')} names no game yet`);
    return this.db.transaction(() => {
      const ratings = new LiveRatings();
      const rows = this.db.prepare('SELECT results.tournament_id, results.players, results.returns, results.outcome, tournaments.game FROM results JOIN tournaments ON tournaments.id = results.tournament_id ORDER BY results.rowid').all() as Row[];
      let rated = 0;
      for (const r of rows) {
        // As the runner rates: a match that ended in an error says nothing about the players' strength.
        if (r.outcome === 'error') continue;
        ratings.update(r.game as string, r.tournament_id as number, JSON.parse(r.players as string), seatScores(JSON.parse(r.returns as string)));
        rated++;
      }
      this.db.exec('DELETE FROM live_ratings');
      const insert = this.db.prepare('INSERT INTO live_ratings (game, tournament_id, agent, version, mu, sigma, games) VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const r of ratings.all()) insert.run(r.game, r.tournamentId, r.agent, r.version, r.mu, r.sigma, r.games);
      this.db.exec('DROP TABLE IF EXISTS ratings');
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
      return rated;
    })();
  }

  tournament(name: string): TournamentRow | undefined {
    const row = this.db.prepare('SELECT * FROM tournaments WHERE name = ?').get(name) as Row | undefined;
    return row && toTournament(row);
  }

  tournaments(): TournamentRow[] {
    return (this.db.prepare('SELECT * FROM tournaments ORDER BY id').all() as Row[]).map(toTournament);
  }

  finishTournament(id: number): void {
    this.db.prepare("UPDATE tournaments SET status = 'finished', finished_at = ? WHERE id = ?").run(new Date().toISOString(), id);
  }

  // ---- matches

  /** Stores planned matches now (those already stored are left alone). */
  planMatches(tournament: TournamentRow, matches: readonly PlannedMatch[]): void {
    this.db.transaction(() => this.writes.plan(tournament, matches))();
  }

  /**
   * Stores planned matches with the next group commit, ahead of any
   * completion queued after this call, so that the caller never waits for
   * the database (a completion stores its match's plan if this write was
   * lost).
   */
  async planMatchesSoon(tournament: TournamentRow, matches: readonly PlannedMatch[]): Promise<void> {
    // In chunks that go with the commits of results rather than ahead of them: a large schedule must not hold up a result.
    const ref = { id: tournament.id, name: tournament.name };
    const chunks: Promise<unknown>[] = [];
    for (let i = 0; i < matches.length; i += PLAN_CHUNK) chunks.push(this.committer.write({ kind: 'plan', tournament: ref, matches: matches.slice(i, i + PLAN_CHUNK) }));
    await Promise.all(chunks);
  }

  /**
   * The ends owed to agents: each seat of a committed match is owed its
   * `end` until the agent is known to have received it (deliveredSoon). A
   * restarted server sends them when the agents connect again.
   */
  owedEnds(): { agent: string; end: EndMessage }[] {
    const rows = this.db.prepare('SELECT owed_ends.agent, results.match_id, results.returns, results.outcome, results.reason FROM owed_ends JOIN results ON results.match_id = owed_ends.match_id ORDER BY results.rowid').all() as Row[];
    return rows.map((r) => ({ agent: r.agent as string, end: endMessage(r.match_id as string, JSON.parse(r.returns as string), r.outcome as EndMessage['outcome'], r.reason as string | null) }));
  }

  /** Records, with a later group commit, that the agent has received the ends of these matches. */
  async deliveredSoon(agent: string, matchIds: readonly string[]): Promise<void> {
    if (matchIds.length > 0) await this.committer.write({ kind: 'delivered', agent, matchIds });
  }

  /** A tournament's matches in the order they were planned; only those with the status, if given. */
  matchesOf(tournamentId: number, status?: MatchRow['status']): MatchRow[] {
    const rows = status === undefined
      ? this.db.prepare('SELECT * FROM matches WHERE tournament_id = ? ORDER BY rowid').all(tournamentId)
      : this.db.prepare('SELECT * FROM matches WHERE tournament_id = ? AND status = ? ORDER BY rowid').all(tournamentId, status);
    return (rows as Row[]).map(toMatch);
  }

  /** How many matches a tournament has planned and finished (a count the status index answers alone). */
  matchStatusCounts(tournamentId: number): { planned: number; done: number } {
    const row = this.db.prepare("SELECT COUNT(*) AS planned, COUNT(*) FILTER (WHERE status = 'done') AS done FROM matches WHERE tournament_id = ?").get(tournamentId) as Row;
    return { planned: row.planned as number, done: row.done as number };
  }

  /** How many matches a tournament has planned and finished, and the round after its last. */
  matchCounts(tournamentId: number): { planned: number; done: number; nextRound: number } {
    const row = this.db.prepare("SELECT COUNT(*) AS planned, COUNT(*) FILTER (WHERE status = 'done') AS done, COALESCE(MAX(round) + 1, 0) AS next FROM matches WHERE tournament_id = ?").get(tournamentId) as Row;
    return { planned: row.planned as number, done: row.done as number, nextRound: row.next as number };
  }

  // ---- results

  /**
   * Commits a finished match; resolves once it is durable, with its players'
   * new live ratings (none without scores). The ratings are updated on the
   * writer thread, in commit order, from the stored ones. The episode is
   * one a referee built (only its JSON-ness is checked); rejects with an
   * EpisodeError when it cannot be stored.
   */
  async complete(completion: MatchCompletion): Promise<readonly RatingRow[]> {
    checkBuiltEpisode(completion.episode);
    return this.committer.write({ kind: 'complete', completion });
  }

  /** Stored results in the order they were committed: all, or those of one tournament (an id) or scope. */
  results(scope?: number | ResultScope): ResultRow[] {
    return readResults(this.db, typeof scope === 'number' ? { tournamentId: scope } : scope);
  }

  recentResults(limit: number): ResultRow[] {
    return readRecentResults(this.db, limit);
  }

  match(id: string): { match: MatchRow; result?: ResultRow; episode?: Episode } | undefined {
    const match = this.db.prepare('SELECT * FROM matches WHERE id = ?').get(id) as Row | undefined;
    if (!match) return undefined;
    const result = this.db.prepare('SELECT * FROM results WHERE match_id = ?').get(id) as Row | undefined;
    const episode = this.db.prepare('SELECT data FROM episodes WHERE match_id = ?').get(id) as Row | undefined;
    return {
      match: toMatch(match),
      ...(result ? { result: toResult(result) } : {}),
      ...(episode ? { episode: decodeEpisode(episode.data as Uint8Array, 'msgpack') } : {}),
    };
  }

  /** The stored live ratings, of every scope (each game, and each tournament). */
  ratings(): RatingRow[] {
    return readRatings(this.db);
  }

  /** Commits queued writes, then closes the database. */
  close(): void {
    this.committer.close();
    this.db.close();
  }
}
