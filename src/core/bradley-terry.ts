import { Rng } from './rng.ts';

/**
 * Bradley-Terry strengths, P(i beats j) = 1 / (1 + exp(theta_j - theta_i)),
 * fitted by maximum likelihood with Newton's method (the log-likelihood is
 * concave, so a damped Newton step always makes progress and converges in a
 * handful of iterations). Draws count as half a win for each side.
 */

/** Games and points between every pair of n players i < j, at index i * n + j (the rest is unused). */
export interface PairTable {
  readonly n: number;
  /** games[i * n + j]: games between i and j. */
  readonly games: Float64Array;
  /** points[i * n + j]: what i scored against j (a win 1, a draw 0.5). */
  readonly points: Float64Array;
}

export function emptyTable(n: number): PairTable {
  return { n, games: new Float64Array(n * n), points: new Float64Array(n * n) };
}

/** Adds one game between a and b in which a scored `score` (1, 0.5 or 0). */
export function addGame(table: PairTable, a: number, b: number, score: number): void {
  const { n, games, points } = table;
  const cell = a < b ? a * n + b : b * n + a;
  games[cell] += 1;
  points[cell] += a < b ? score : 1 - score;
}

export interface FitOptions {
  /**
   * Virtual games (as draws) each player plays against a reference player of
   * strength 0. Keeps strengths finite for a player that won or lost every
   * game; 0 gives the plain maximum-likelihood fit.
   */
  readonly prior?: number;
  /** Stop when no strength moves by more than this. */
  readonly tolerance?: number;
  readonly maxIterations?: number;
  /** Strengths to start from. */
  readonly start?: Float64Array;
}

const logistic = (x: number) => 1 / (1 + Math.exp(-x));
/** log(1 + e^x) without overflow. */
const softplus = (x: number) => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

function logLikelihood(table: PairTable, theta: Float64Array, prior: number): number {
  const { n, games, points } = table;
  let ll = 0;
  for (let i = 0; i < n; i++) {
    ll += prior * (theta[i] / 2 - softplus(theta[i]));
    for (let j = i + 1; j < n; j++) {
      const g = games[i * n + j];
      if (g === 0) continue;
      const d = theta[i] - theta[j];
      ll += points[i * n + j] * d - g * softplus(d);
    }
  }
  return ll;
}

/** Solves A x = b for a symmetric positive definite A (size m, row-major) in place by Cholesky; A and b are overwritten. */
function solveCholesky(A: Float64Array, b: Float64Array, m: number): void {
  for (let j = 0; j < m; j++) {
    let d = A[j * m + j];
    for (let k = 0; k < j; k++) d -= A[j * m + k] * A[j * m + k];
    // Players with no games at all (or a component cut off from the rest without a prior) leave the matrix singular: hold them still.
    const ljj = Math.sqrt(Math.max(d, 1e-12));
    A[j * m + j] = ljj;
    for (let i = j + 1; i < m; i++) {
      let s = A[i * m + j];
      for (let k = 0; k < j; k++) s -= A[i * m + k] * A[j * m + k];
      A[i * m + j] = s / ljj;
    }
  }
  for (let i = 0; i < m; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= A[i * m + k] * b[k];
    b[i] = s / A[i * m + i];
  }
  for (let i = m - 1; i >= 0; i--) {
    let s = b[i];
    for (let k = i + 1; k < m; k++) s -= A[k * m + i] * b[k];
    b[i] = s / A[i * m + i];
  }
}

/** Natural-log strengths, centred on mean 0. Multiply by ELO_PER_LOG for the Elo scale. */
export function fitBradleyTerry(table: PairTable, options: FitOptions = {}): Float64Array {
  const { n, games, points } = table;
  const prior = options.prior ?? 1;
  const tolerance = options.tolerance ?? 1e-10;
  const maxIterations = options.maxIterations ?? 200;
  const theta = options.start ? Float64Array.from(options.start) : new Float64Array(n);
  // Without the reference player the likelihood ignores a common shift: pin the last player at 0 and centre afterwards.
  const m = prior > 0 ? n : n - 1;
  if (prior === 0 && n > 0) theta.fill(0, n - 1);
  const hessian = new Float64Array(m * m);
  const step = new Float64Array(m);
  const trial = new Float64Array(n);
  let ll = logLikelihood(table, theta, prior);

  for (let iteration = 0; iteration < maxIterations && m > 0; iteration++) {
    hessian.fill(0);
    for (let i = 0; i < m; i++) {
      const s = logistic(theta[i]);
      step[i] = prior * (0.5 - s);
      hessian[i * m + i] = prior * s * (1 - s);
    }
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const g = games[i * n + j];
        if (g === 0) continue;
        const p = logistic(theta[i] - theta[j]);
        const residual = points[i * n + j] - g * p;
        const w = g * p * (1 - p);
        if (i < m) {
          step[i] += residual;
          hessian[i * m + i] += w;
        }
        if (j < m) {
          step[j] -= residual;
          hessian[j * m + j] += w;
        }
        if (i < m && j < m) {
          hessian[i * m + j] -= w;
          hessian[j * m + i] -= w;
        }
      }
    }
    solveCholesky(hessian, step, m);
    // Damped step: halve it until the likelihood does not fall.
    let t = 1;
    let next = ll;
    for (; t > 1e-6; t /= 2) {
      trial.set(theta);
      for (let i = 0; i < m; i++) trial[i] += t * step[i];
      next = logLikelihood(table, trial, prior);
      if (next >= ll - 1e-12 * Math.abs(ll)) break;
    }
    let change = 0;
    for (let i = 0; i < m; i++) change = Math.max(change, Math.abs(t * step[i]));
    theta.set(trial);
    ll = next;
    if (change < tolerance) break;
  }
  let mean = 0;
  for (let i = 0; i < n; i++) mean += theta[i] / n;
  for (let i = 0; i < n; i++) theta[i] -= mean;
  return theta;
}

export const ELO_PER_LOG = 400 / Math.LN10;

/** Pairwise games among n players: game k between a[k] and b[k], in which a[k] scored score[k] (1, 0.5 or 0). */
export interface PairwiseGames {
  readonly n: number;
  readonly a: Int32Array;
  readonly b: Int32Array;
  readonly score: Float64Array;
}

export interface RatedPlayer {
  /** The player's index in the games. */
  readonly index: number;
  /** Bradley-Terry strength on the Elo scale, centred on the mean player. */
  readonly rating: number;
  /** 95% bootstrap interval of the rating. */
  readonly low: number;
  readonly high: number;
  readonly games: number;
  /** Wins plus half the draws. */
  readonly points: number;
}

export interface Ratings {
  /** Best first. */
  readonly rows: RatedPlayer[];
  /** superiority[i][j]: the share of bootstrap fits in which rows[i] is rated above rows[j]. */
  readonly superiority: number[][];
  readonly games: number;
  readonly samples: number;
}

export interface RatingOptions {
  /** Bootstrap fits (default 200; 0: no intervals). */
  readonly samples?: number;
  readonly seed?: number;
  /** See FitOptions.prior (default 1). */
  readonly prior?: number;
}

const quantile = (sorted: Float64Array, q: number) => {
  const x = q * (sorted.length - 1);
  const lo = Math.floor(x);
  return lo + 1 < sorted.length ? sorted[lo] + (sorted[lo + 1] - sorted[lo]) * (x - lo) : sorted[lo];
};

/**
 * A Bradley-Terry fit of pairwise games, with 95% intervals from a
 * nonparametric bootstrap (games resampled with replacement) and the
 * likelihood of superiority of every player over every other (the share of
 * bootstrap fits that rank it higher).
 */
export function bootstrapRatings(pairs: PairwiseGames, options: RatingOptions = {}): Ratings {
  const samples = options.samples ?? 200;
  const prior = options.prior ?? 1;
  const { n, a, b, score } = pairs;
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
      index: i,
      rating: fit[i] * ELO_PER_LOG,
      low: samples ? quantile(sorted, 0.025) * ELO_PER_LOG : fit[i] * ELO_PER_LOG,
      high: samples ? quantile(sorted, 0.975) * ELO_PER_LOG : fit[i] * ELO_PER_LOG,
      games: games[i],
      points: points[i],
    };
  });
  return { rows, superiority, games: m, samples };
}
