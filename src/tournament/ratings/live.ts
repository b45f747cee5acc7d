import { ordinal, rate, rating } from 'openskill';

/** Who played a seat: agent name and the policy version it announced, rated apart from its other versions. */
export interface Contestant {
  readonly agent: string;
  readonly version: string;
}

/**
 * What a rating is about: one game (its rated name, `gameKey`), and either
 * every tournament of that game (`tournamentId` 0) or one of them. Ratings
 * never pool games: being good at Kuhn poker says nothing of tic-tac-toe.
 */
export interface RatingScope {
  readonly game: string;
  /** 0: all the game's tournaments; else the id of one tournament. */
  readonly tournamentId: number;
}

export interface RatingRow extends Contestant, RatingScope {
  readonly mu: number;
  readonly sigma: number;
  readonly games: number;
}

export interface LiveRating extends RatingRow {
  /** mu - 3 sigma: a conservative estimate that rises as the rating firms up. */
  readonly ordinal: number;
}

/** A live rating as the API and the live page show it: the scope is the request's (or the message's). */
export type LiveRatingView = Omit<LiveRating, keyof RatingScope>;

export const ratingView = ({ game: _game, tournamentId: _tournament, ...view }: LiveRating): LiveRatingView => view;

const scopeKey = (s: RatingScope) => `${s.tournamentId}\n${s.game}`;
const keyOf = (c: Contestant) => `${c.agent}\n${c.version}`;

/**
 * OpenSkill (Plackett-Luce) ratings per agent version, updated after every
 * match, in two scopes at once: the match's game across its tournaments,
 * and its tournament alone. The live table; the official table is the
 * Bradley-Terry fit.
 */
export class LiveRatings {
  /** Rows by scope, then by agent version. */
  private readonly scopes = new Map<string, Map<string, RatingRow>>();

  constructor(rows: Iterable<RatingRow> = []) {
    this.reload(rows);
  }

  /** Replaces the table with stored rows. */
  reload(rows: Iterable<RatingRow>): void {
    this.scopes.clear();
    this.apply(rows);
  }

  private scope(s: RatingScope): Map<string, RatingRow> {
    const key = scopeKey(s);
    let table = this.scopes.get(key);
    if (!table) this.scopes.set(key, (table = new Map()));
    return table;
  }

  get(scope: RatingScope, c: Contestant): RatingRow {
    return this.scopes.get(scopeKey(scope))?.get(keyOf(c)) ?? { game: scope.game, tournamentId: scope.tournamentId, agent: c.agent, version: c.version, ...rating(), games: 0 };
  }

  /** Takes rows rated elsewhere (the store's writer thread). */
  apply(rows: Iterable<RatingRow>): void {
    for (const row of rows) this.scope(row).set(keyOf(row), row);
  }

  /**
   * Rates one match of `game` in tournament `tournamentId` from its seats'
   * scores (higher is better, equal is a draw), in the game's scope and the
   * tournament's; returns the new rows.
   */
  update(game: string, tournamentId: number, players: readonly Contestant[], scores: readonly number[]): RatingRow[] {
    const rows: RatingRow[] = [];
    const scopes = tournamentId === 0 ? [{ game, tournamentId }] : [{ game, tournamentId: 0 }, { game, tournamentId }];
    for (const scope of scopes) {
      const before = players.map((p) => this.get(scope, p));
      const after = rate(before.map((r) => [{ mu: r.mu, sigma: r.sigma }]), { score: [...scores] });
      const table = this.scope(scope);
      before.forEach((r, i) => {
        const row = { game, tournamentId: scope.tournamentId, agent: r.agent, version: r.version, mu: after[i][0].mu, sigma: after[i][0].sigma, games: r.games + 1 };
        table.set(keyOf(row), row);
        rows.push(row);
      });
    }
    return rows;
  }

  /** A scope's rows, best first. */
  rows(scope: RatingScope): LiveRating[] {
    return [...(this.scopes.get(scopeKey(scope))?.values() ?? [])].map((r) => ({ ...r, ordinal: ordinal(r) })).sort((a, b) => b.ordinal - a.ordinal);
  }

  /** Every row, of every scope. */
  all(): RatingRow[] {
    return [...this.scopes.values()].flatMap((table) => [...table.values()]);
  }

  /** The games rated so far, by name. */
  games(): string[] {
    const games = new Set<string>();
    for (const table of this.scopes.values()) for (const row of table.values()) games.add(row.game);
    return [...games].sort();
  }
}
