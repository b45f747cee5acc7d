import Database from 'better-sqlite3';
import { ConfigError } from '../core/index.ts';
import { decodeEpisode, encodeEpisode, type Episode } from '../episodes/index.ts';
import type { ResolvedConfig } from './config.ts';
import type { PlannedMatch } from './formats.ts';
import { hashToken, newToken } from './tokens.ts';

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
  finished_at TEXT
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
CREATE TABLE IF NOT EXISTS ratings (
  agent TEXT NOT NULL,
  version TEXT NOT NULL,
  mu REAL NOT NULL,
  sigma REAL NOT NULL,
  games INTEGER NOT NULL,
  PRIMARY KEY (agent, version)
);
`;

export interface TournamentRow {
  readonly id: number;
  readonly name: string;
  readonly config: ResolvedConfig;
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

/** Who played a seat: agent name and the policy version it announced. */
export interface Contestant {
  readonly agent: string;
  readonly version: string;
}

export interface ResultRow {
  readonly matchId: string;
  readonly tournamentId: number;
  readonly players: readonly Contestant[];
  readonly returns: readonly number[];
  readonly outcome: Episode['outcome'];
  readonly reason?: string;
  readonly finishedAt: string;
}

export interface RatingRow extends Contestant {
  readonly mu: number;
  readonly sigma: number;
  readonly games: number;
}

/** What one finished match writes, all in one transaction. */
export interface Completion {
  readonly result: ResultRow;
  readonly episode: Episode;
  readonly ratings: readonly RatingRow[];
}

interface Waiting {
  readonly write: () => void;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

type Row = Record<string, unknown>;

/**
 * Writes wait up to this long to share a transaction: each commit writes
 * whole pages to the WAL, so a few large commits cost far less than many
 * small ones.
 */
const COMMIT_WINDOW_MS = 10;
const MAX_BATCH = 500;

const toMatch = (r: Row): MatchRow => ({
  id: r.id as string,
  tournamentId: r.tournament_id as number,
  key: r.key as string,
  round: r.round as number,
  seats: JSON.parse(r.seats as string),
  seed: r.seed as number,
  status: r.status as MatchRow['status'],
});

const toResult = (r: Row): ResultRow => ({
  matchId: r.match_id as string,
  tournamentId: r.tournament_id as number,
  players: JSON.parse(r.players as string),
  returns: JSON.parse(r.returns as string),
  outcome: r.outcome as ResultRow['outcome'],
  ...(r.reason === null ? {} : { reason: r.reason as string }),
  finishedAt: r.finished_at as string,
});

const toTournament = (r: Row): TournamentRow => ({
  id: r.id as number,
  name: r.name as string,
  config: JSON.parse(r.config as string),
  status: r.status as TournamentRow['status'],
  createdAt: r.created_at as string,
  finishedAt: r.finished_at as string | null,
});

export const matchId = (tournament: string, key: string) => `${tournament}:${key}`;

/**
 * How commits reach the disk. `normal` (WAL, synchronous=NORMAL): a commit is
 * written to the WAL before it returns, so a killed server (even SIGKILL)
 * loses nothing committed; an OS crash or power cut may lose the last
 * commits. `full` also syncs the WAL at every commit, which survives power
 * cuts and blocks the server for the length of an fsync at each (group)
 * commit.
 */
export type Durability = 'normal' | 'full';

/**
 * The server's SQLite database in WAL mode. A finished match's result,
 * episode and rating updates are committed in one transaction. Writes made
 * while the server runs are queued and those that arrive together share one
 * transaction (group commit); `complete` resolves once its commit is done.
 */
export class Store {
  readonly db: Database.Database;
  private readonly queue: Waiting[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly statements;

  constructor(path: string, durability: Durability = 'normal') {
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.exec(SCHEMA);
    const db = this.db;
    this.statements = {
      insertResult: db.prepare('INSERT INTO results (match_id, tournament_id, players, returns, outcome, reason, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      insertEpisode: db.prepare('INSERT INTO episodes (match_id, data) VALUES (?, ?)'),
      matchDone: db.prepare("UPDATE matches SET status = 'done' WHERE id = ? AND status = 'pending'"),
      upsertRating: db.prepare('INSERT INTO ratings (agent, version, mu, sigma, games) VALUES (?, ?, ?, ?, ?) ON CONFLICT (agent, version) DO UPDATE SET mu = excluded.mu, sigma = excluded.sigma, games = excluded.games'),
      planMatch: db.prepare("INSERT OR IGNORE INTO matches (id, tournament_id, key, round, seats, seed, status) VALUES (?, ?, ?, ?, ?, ?, 'pending')"),
    };
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

  /** Creates the tournament, or returns the stored one of that name if its config is the same. */
  ensureTournament(config: ResolvedConfig): TournamentRow {
    const existing = this.db.prepare('SELECT * FROM tournaments WHERE name = ?').get(config.name) as Row | undefined;
    const json = JSON.stringify(config);
    if (existing) {
      if (existing.config !== json) throw new ConfigError(`tournament "${config.name}" already exists with a different config; give the new one another name`);
      return toTournament(existing);
    }
    this.db.prepare("INSERT INTO tournaments (name, config, status, created_at) VALUES (?, ?, 'running', ?)").run(config.name, json, new Date().toISOString());
    return toTournament(this.db.prepare('SELECT * FROM tournaments WHERE name = ?').get(config.name) as Row);
  }

  tournaments(): TournamentRow[] {
    return (this.db.prepare('SELECT * FROM tournaments ORDER BY id').all() as Row[]).map(toTournament);
  }

  finishTournament(id: number): void {
    this.db.prepare("UPDATE tournaments SET status = 'finished', finished_at = ? WHERE id = ?").run(new Date().toISOString(), id);
  }

  /** Match counts of each tournament by status. */
  progress(): Map<number, Record<MatchRow['status'], number>> {
    const counts = new Map<number, Record<MatchRow['status'], number>>();
    for (const row of this.db.prepare('SELECT tournament_id, status, COUNT(*) AS n FROM matches GROUP BY tournament_id, status').all() as Row[]) {
      const entry = counts.get(row.tournament_id as number) ?? { pending: 0, done: 0 };
      entry[row.status as MatchRow['status']] = row.n as number;
      counts.set(row.tournament_id as number, entry);
    }
    return counts;
  }

  // ---- matches

  private insertPlanned(tournament: TournamentRow, matches: readonly PlannedMatch[]): void {
    for (const m of matches) this.statements.planMatch.run(matchId(tournament.name, m.key), tournament.id, m.key, m.round, JSON.stringify(m.seats), m.seed);
  }

  /** Stores planned matches now (those already stored are left alone). */
  planMatches(tournament: TournamentRow, matches: readonly PlannedMatch[]): void {
    this.db.transaction(() => this.insertPlanned(tournament, matches))();
  }

  /**
   * Stores planned matches with the next group commit, ahead of any
   * completion queued after this call; for the ladder, whose pairings are
   * made up as it goes (lost pairings are simply made again).
   */
  planMatchesSoon(tournament: TournamentRow, matches: readonly PlannedMatch[]): Promise<void> {
    return this.enqueue(() => this.insertPlanned(tournament, matches));
  }

  matchesOf(tournamentId: number): MatchRow[] {
    return (this.db.prepare('SELECT * FROM matches WHERE tournament_id = ? ORDER BY rowid').all(tournamentId) as Row[]).map(toMatch);
  }

  // ---- results

  /** Commits a finished match; resolves once it is durable. */
  complete(item: Completion): Promise<void> {
    return this.enqueue(() => this.write(item));
  }

  private enqueue(write: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ write, resolve, reject });
      if (this.queue.length === 1) this.flushTimer = setTimeout(() => this.flush(), COMMIT_WINDOW_MS);
      else if (this.queue.length >= MAX_BATCH) this.flush();
    });
  }

  private write({ result, episode, ratings }: Completion): void {
    const s = this.statements;
    if (s.matchDone.run(result.matchId).changes !== 1) throw new Error(`match ${result.matchId} is not a pending match; a result is never recorded twice`);
    s.insertResult.run(result.matchId, result.tournamentId, JSON.stringify(result.players), JSON.stringify(result.returns), result.outcome, result.reason ?? null, result.finishedAt);
    s.insertEpisode.run(result.matchId, encodeEpisode(episode, 'msgpack'));
    for (const r of ratings) s.upsertRating.run(r.agent, r.version, r.mu, r.sigma, r.games);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    const batch = this.queue.splice(0);
    try {
      this.db.transaction(() => batch.forEach((w) => w.write()))();
      batch.forEach((w) => w.resolve());
    } catch {
      // One bad completion must not sink the others: commit them one by one.
      for (const w of batch) {
        try {
          this.db.transaction(w.write)();
          w.resolve();
        } catch (error) {
          w.reject(error);
        }
      }
    }
  }

  results(tournamentId?: number): ResultRow[] {
    const rows = tournamentId === undefined ? this.db.prepare('SELECT * FROM results ORDER BY rowid').all() : this.db.prepare('SELECT * FROM results WHERE tournament_id = ? ORDER BY rowid').all(tournamentId);
    return (rows as Row[]).map(toResult);
  }

  resultCount(tournamentId?: number): number {
    const row = (tournamentId === undefined ? this.db.prepare('SELECT COUNT(*) AS n FROM results').get() : this.db.prepare('SELECT COUNT(*) AS n FROM results WHERE tournament_id = ?').get(tournamentId)) as Row;
    return row.n as number;
  }

  recentResults(limit: number): ResultRow[] {
    return (this.db.prepare('SELECT * FROM results ORDER BY rowid DESC LIMIT ?').all(limit) as Row[]).map(toResult);
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

  ratings(): RatingRow[] {
    return (this.db.prepare('SELECT * FROM ratings').all() as Row[]).map((r) => ({ agent: r.agent as string, version: r.version as string, mu: r.mu as number, sigma: r.sigma as number, games: r.games as number }));
  }

  /** Commits queued completions, then closes the database. */
  close(): void {
    if (this.queue.length) this.flush();
    this.db.close();
  }
}
