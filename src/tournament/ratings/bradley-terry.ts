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
