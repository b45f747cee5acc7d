import type { Contestant, ResultRow } from '../store.ts';
import { bootstrapRatings, type RatedPlayer, type RatingOptions, type Ratings } from '../../core/bradley-terry.ts';
import { meanInterval } from '../../core/mean-interval.ts';

export type OfficialRow = Contestant &
  Omit<RatedPlayer, 'index'> & {
    /** The mean of the agent's own returns over the matches it played (its chips, in poker), and its 95% interval. */
    readonly meanReturn: number;
    readonly returnLow: number;
    readonly returnHigh: number;
  };

export interface OfficialTable extends Omit<Ratings, 'rows'> {
  /** Best first (by rating). */
  readonly rows: OfficialRow[];
  /**
   * How the scope's games are scored: `outcome` when every return is a win, draw or loss (1, 0, -1, or a
   * half point), `chips` otherwise (poker: by how much matters, and the mean return ranks better than wins).
   */
  readonly scoring: 'outcome' | 'chips';
}

/** Per agent and version: the mean of its returns and a 95% normal interval; and whether any return is more than a win or a loss. */
function meanReturns(results: Iterable<Pick<ResultRow, 'players' | 'returns' | 'outcome'>>) {
  const sums = new Map<string, { n: number; sum: number; squares: number }>();
  let chips = false;
  for (const r of results) {
    if (r.outcome === 'error') continue;
    r.players.forEach((c, s) => {
      const x = r.returns[s];
      if (x !== 0 && x !== 1 && x !== -1 && x !== 0.5) chips = true;
      const key = `${c.agent}\n${c.version}`;
      const entry = sums.get(key) ?? { n: 0, sum: 0, squares: 0 };
      entry.n++;
      entry.sum += x;
      entry.squares += x * x;
      sums.set(key, entry);
    });
  }
  const of = (c: Contestant) => {
    const e = sums.get(`${c.agent}\n${c.version}`);
    if (!e) return { meanReturn: 0, returnLow: 0, returnHigh: 0 };
    const { mean, low, high } = meanInterval(e.sum, e.squares, e.n);
    return { meanReturn: mean, returnLow: low, returnHigh: high };
  };
  return { of, scoring: chips ? ('chips' as const) : ('outcome' as const) };
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
  const list = Array.isArray(results) ? (results as Pick<ResultRow, 'players' | 'returns' | 'outcome'>[]) : [...results];
  const { players, a, b, score } = pairwiseGames(list);
  const { rows, superiority, games, samples } = bootstrapRatings({ n: players.length, a, b, score }, options);
  const returns = meanReturns(list);
  return { rows: rows.map(({ index, ...row }) => ({ ...players[index], ...row, ...returns.of(players[index]) })), superiority, games, samples, scoring: returns.scoring };
}
