import { ConfigError, type Rng } from '../core/index.ts';

/**
 * Where a learner's training games find their opponents: itself (`self`),
 * one of its past versions in the league (`pfsp`, `uniform`, `recent`), or
 * a fixed agent (any agent spec: `random`, `mcts:iterations=200`...).
 */
export type OpponentSource =
  | { readonly kind: 'self' }
  | { readonly kind: 'pfsp' | 'uniform' | 'recent' }
  | { readonly kind: 'agent'; readonly spec: string };

export interface OpponentShare {
  /** How the share is named in options, metrics and reports (`self`, `pfsp`, `random`...). */
  readonly label: string;
  readonly source: OpponentSource;
  /** The share of each batch's games (the shares sum to 1). */
  readonly weight: number;
}

const LEAGUE_KINDS = ['pfsp', 'uniform', 'recent'] as const;

/**
 * `self:0.6,pfsp:0.3,random:0.1`: the share of games against each source;
 * a bare `self` is all self-play. A share's weight is its last `:number`, so
 * agent specs keep their own `:` options (`mcts:iterations=200:0.2`).
 * Weights need not sum to 1; they are normalised.
 */
export function parseOpponents(text: string): OpponentShare[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.some((part) => part === '')) throw new ConfigError(`--opponents "${text}": an empty entry; write e.g. self:0.6,pfsp:0.3,random:0.1`);
  const shares = parts.map((part) => {
    const match = /^(.*):([^:=]*)$/.exec(part);
    const weightText = match && /^[0-9.eE+-]+$/.test(match[2]) ? match[2] : undefined;
    const label = weightText === undefined ? part : match![1];
    const weight = weightText === undefined ? 1 : Number(weightText);
    if (!(weight > 0) || !Number.isFinite(weight)) throw new ConfigError(`--opponents: the share of "${label}" must be a number > 0, got "${weightText}"`);
    const source: OpponentSource =
      label === 'self' ? { kind: 'self' } : (LEAGUE_KINDS as readonly string[]).includes(label) ? { kind: label as (typeof LEAGUE_KINDS)[number] } : { kind: 'agent', spec: label };
    return { label, source, weight };
  });
  const labels = shares.map((share) => share.label);
  const twice = labels.find((label, i) => labels.indexOf(label) !== i);
  if (twice !== undefined) throw new ConfigError(`--opponents names "${twice}" twice`);
  const total = shares.reduce((sum, share) => sum + share.weight, 0);
  return shares.map((share) => ({ ...share, weight: share.weight / total }));
}

/** Splits `games` among the shares in proportion to their weights (largest remainders), each count whole. */
export function splitGames(games: number, weights: readonly number[]): number[] {
  const exact = weights.map((w) => w * games);
  const counts = exact.map(Math.floor);
  const order = exact.map((x, i) => [x - counts[i], i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0, left = games - counts.reduce((a, b) => a + b, 0); k < left; k++) counts[order[k % order.length][1]]++;
  return counts;
}

/** A past version of the learner kept to play against, and how the learner has fared against it. */
export interface LeagueMember {
  /** The exact model name (`tiny@20`). */
  readonly model: string;
  readonly version: number;
  /** Games the learner played against it, and its points in them (a win 1, a draw 1/2). */
  games: number;
  points: number;
}

export type LeagueState = { readonly members: readonly LeagueMember[] };

/**
 * The league: the learner's past versions and its results against each.
 * Prioritized fictitious self-play (AlphaStar) draws the members that still
 * beat the learner most often: weight (1 - p)^2, where p is the learner's
 * win rate against the member, from the results so far (a member never
 * played counts as even, p = 1/2).
 */
export class League {
  readonly members: LeagueMember[];

  constructor(state: LeagueState = { members: [] }) {
    this.members = state.members.map((member) => ({ ...member }));
  }

  add(model: string, version: number): void {
    if (!this.members.some((member) => member.version === version)) this.members.push({ model, version, games: 0, points: 0 });
  }

  /** The learner's win rate against a member, with one even game as a prior so that few games do not decide it. */
  winRate(member: LeagueMember): number {
    return (member.points + 0.5) / (member.games + 1);
  }

  /** The probability of drawing each member under a matchmaking kind. */
  weights(kind: 'pfsp' | 'uniform' | 'recent'): number[] {
    const n = this.members.length;
    const raw =
      kind === 'uniform' ? this.members.map(() => 1) : kind === 'recent' ? this.members.map((_, i) => i + 1) : this.members.map((member) => (1 - this.winRate(member)) ** 2 + 1e-6);
    const total = raw.reduce((a, b) => a + b, 0);
    return n === 0 ? [] : raw.map((w) => w / total);
  }

  /** Draws a member for each of `games` games; none when the league is empty. */
  draw(kind: 'pfsp' | 'uniform' | 'recent', games: number, rng: Rng): LeagueMember[] {
    const weights = this.weights(kind);
    if (weights.length === 0) return [];
    return Array.from({ length: games }, () => this.members[rng.weighted(weights)]);
  }

  /** Records the learner's points (a win 1, a draw 1/2) in games against a member. */
  record(version: number, games: number, points: number): void {
    const member = this.members.find((m) => m.version === version);
    if (!member) throw new Error(`version ${version} is not in the league`);
    member.games += games;
    member.points += points;
  }

  toJSON(): LeagueState {
    return { members: this.members.map((member) => ({ ...member })) };
  }
}
