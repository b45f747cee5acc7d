import { Rng } from '../../core/index.ts';
import type { Contestant, ResultRow } from '../store.ts';
import { addGame, ELO_PER_LOG, emptyTable, fitBradleyTerry } from './bradley-terry.ts';

export interface OfficialRow extends Contestant {
  /** Bradley-Terry strength on the Elo scale, centred on the mean player. */
  readonly rating: number;
  /** 95% bootstrap interval of the rating. */
  readonly low: number;
  readonly high: number;
  readonly games: number;
  /** Wins plus half the draws. */
  readonly points: number;
}

export interface OfficialTable {
  /** Best first. */
  readonly rows: OfficialRow[];
  /** superiority[i][j]: the share of bootstrap fits in which rows[i] is rated above rows[j]. */
  readonly superiority: number[][];
  readonly games: number;
  readonly samples: number;
}

export interface OfficialOptions {
  readonly samples?: number;
  readonly seed?: number;
  readonly prior?: number;
}

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

const quantile = (sorted: Float64Array, q: number) => {
  const x = q * (sorted.length - 1);
  const lo = Math.floor(x);
  return lo + 1 < sorted.length ? sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (x - lo) : sorted[lo];
};

/**
 * The official leaderboard: a Bradley-Terry fit of all results, with 95%
 * intervals from a nonparametric bootstrap (games resampled with
 * replacement) and the likelihood of superiority of every player over
 * every other (the share of bootstrap fits that rank it higher).
 */
export function officialTable(results: Iterable<Pick<ResultRow, 'players' | 'returns' | 'outcome'>>, options: OfficialOptions = {}): OfficialTable {
  const samples = options.samples ?? 200;
  const prior = options.prior ?? 1;
  const { players, a, b, score } = pairwiseGames(results);
  const n = players.length;
  const m = a.length;
  const table = emptyTable(n);
  for (let k = 0; k < m; k++) addGame(table, a[k], b[k], score[k]);
  const fit = fitBradleyTerry(table, { prior });

  // Each game as its cell of the pair table and the points it gives that cell, so that resampling is two additions.
  const cell = new Int32Array(m);
  const cellPoints = new Float64Array(m);
  for (let k = 0; k < m; k++) {
    cell[k] = a[k] < b[k] ? a[k] * n + b[k] : b[k] * n + a[k];
    cellPoints[k] = a[k] < b[k] ? score[k] : 1 - score[k];
  }
  const draws = Array.from({ length: n }, () => new Float64Array(samples));
  const rng = new Rng(options.seed ?? 1);
  for (let s = 0; s < samples; s++) {
    table.games.fill(0);
    table.points.fill(0);
    for (let k = 0; k < m; k++) {
      const pick = rng.int(m);
      table.games[cell[pick]] += 1;
      table.points[cell[pick]] += cellPoints[pick];
    }
    const sample = fitBradleyTerry(table, { prior, start: fit, tolerance: 1e-6 });
    for (let i = 0; i < n; i++) draws[i][s] = sample[i];
  }

  const games = new Float64Array(n);
  const points = new Float64Array(n);
  for (let k = 0; k < m; k++) {
    games[a[k]]++;
    games[b[k]]++;
    points[a[k]] += score[k];
    points[b[k]] += 1 - score[k];
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => fit[j] - fit[i]);
  const superiority = order.map((i) =>
    order.map((j) => {
      if (i === j || samples === 0) return 0.5;
      let above = 0;
      for (let s = 0; s < samples; s++) above += draws[i][s] > draws[j][s] ? 1 : draws[i][s] === draws[j][s] ? 0.5 : 0;
      return above / samples;
    }),
  );
  const rows = order.map((i) => {
    const sorted = draws[i].slice().sort();
    return {
      ...players[i],
      rating: fit[i] * ELO_PER_LOG,
      low: samples ? quantile(sorted, 0.025) * ELO_PER_LOG : fit[i] * ELO_PER_LOG,
      high: samples ? quantile(sorted, 0.975) * ELO_PER_LOG : fit[i] * ELO_PER_LOG,
      games: games[i],
      points: points[i],
    };
  });
  return { rows, superiority, games: m, samples };
}
