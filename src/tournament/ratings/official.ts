import type { Contestant, ResultRow } from '../store.ts';
import { bootstrapRatings, type RatedPlayer, type RatingOptions, type Ratings } from '../../core/bradley-terry.ts';

export type OfficialRow = Contestant & Omit<RatedPlayer, 'index'>;

export interface OfficialTable extends Omit<Ratings, 'rows'> {
  /** Best first. */
  readonly rows: OfficialRow[];
}

export type OfficialOptions = RatingOptions;

/** Pairwise games from results: every two seats of a match are one game; matches without a result (outcome `error`) count for nothing. */
export function pairwiseGames(results: Iterable<Pick<ResultRow, 'players' | 'returns' | 'outcome'>>) {
  const index = new Map<string, number>();
  const players: Contestant[] = [];
  const a: number[] = [];
  const b: number[] = [];
  const score: number[] = [];
  const id = (c: Contestant) => {
    const key = `${c.agent}\n${c.version}`;
    let i = index.get(key);
    if (i === undefined) {
      index.set(key, (i = players.length));
      players.push({ agent: c.agent, version: c.version });
    }
    return i;
  };
  for (const r of results) {
    if (r.outcome === 'error') continue;
    const ids = r.players.map(id);
    for (let s = 0; s < ids.length; s++) {
      for (let t = s + 1; t < ids.length; t++) {
        if (ids[s] === ids[t]) continue;
        a.push(ids[s]);
        b.push(ids[t]);
        const d = r.returns[s] - r.returns[t];
        score.push(d > 0 ? 1 : d === 0 ? 0.5 : 0);
      }
    }
  }
  return { players, a: Int32Array.from(a), b: Int32Array.from(b), score: Float64Array.from(score) };
}

/**
 * The official leaderboard: a Bradley-Terry fit of all results, with 95%
 * bootstrap intervals and the likelihood of superiority (bootstrapRatings).
 */
export function officialTable(results: Iterable<Pick<ResultRow, 'players' | 'returns' | 'outcome'>>, options: OfficialOptions = {}): OfficialTable {
  const { players, a, b, score } = pairwiseGames(results);
  const { rows, superiority, games, samples } = bootstrapRatings({ n: players.length, a, b, score }, options);
  return { rows: rows.map(({ index, ...row }) => ({ ...players[index], ...row })), superiority, games, samples };
}
