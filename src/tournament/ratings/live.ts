import { ordinal, rate, rating } from 'openskill';

/** Who played a seat: agent name and the policy version it announced, rated apart from its other versions. */
export interface Contestant {
  readonly agent: string;
  readonly version: string;
}

export interface RatingRow extends Contestant {
  readonly mu: number;
  readonly sigma: number;
  readonly games: number;
}

export interface LiveRating extends RatingRow {
  /** mu - 3 sigma: a conservative estimate that rises as the rating firms up. */
  readonly ordinal: number;
}

const keyOf = (c: Contestant) => `${c.agent}\n${c.version}`;

/**
 * OpenSkill (Plackett-Luce) ratings per agent version, updated after every
 * match: the live table. The official table is the Bradley-Terry fit.
 */
export class LiveRatings {
  private readonly table = new Map<string, RatingRow>();

  constructor(rows: Iterable<RatingRow> = []) {
    this.reload(rows);
  }

  /** Replaces the table with stored rows. */
  reload(rows: Iterable<RatingRow>): void {
    this.table.clear();
    for (const row of rows) this.table.set(keyOf(row), row);
  }

  get(c: Contestant): RatingRow {
    return this.table.get(keyOf(c)) ?? { ...c, ...rating(), games: 0 };
  }

  /** Takes rows rated elsewhere (the store's writer thread). */
  apply(rows: Iterable<RatingRow>): void {
    for (const row of rows) this.table.set(keyOf(row), row);
  }

  /** Rates one match from its seats' scores (higher is better, equal is a draw); returns the new rows. */
  update(players: readonly Contestant[], scores: readonly number[]): RatingRow[] {
    const before = players.map((p) => this.get(p));
    const after = rate(before.map((r) => [{ mu: r.mu, sigma: r.sigma }]), { score: [...scores] });
    const rows = before.map((r, i) => ({ agent: r.agent, version: r.version, mu: after[i][0].mu, sigma: after[i][0].sigma, games: r.games + 1 }));
    for (const row of rows) this.table.set(keyOf(row), row);
    return rows;
  }

  rows(): LiveRating[] {
    return [...this.table.values()].map((r) => ({ ...r, ordinal: ordinal(r) })).sort((a, b) => b.ordinal - a.ordinal);
  }
}
