import { Rng } from '../core/index.ts';
import type { ResolvedConfig } from './config.ts';

/** A match the schedule calls for: who sits where, and its seed. */
export interface PlannedMatch {
  /** Unique within the tournament; the match id is `<tournament>:<key>`. */
  readonly key: string;
  /** Swiss round, ladder pairing number; 0 for formats without rounds. */
  readonly round: number;
  readonly seats: readonly string[];
  readonly seed: number;
}

/** A finished match as formats see it: each seat's score (1 win, 0.5 draw, 0 loss). */
export interface FinishedMatch {
  readonly key: string;
  readonly round: number;
  readonly seats: readonly string[];
  readonly scores: readonly number[];
}

export interface Schedule {
  readonly matches: readonly PlannedMatch[];
  /** No further matches will be planned (a swiss tournament's last round is out). */
  readonly final: boolean;
}

/** 1 for the strictly best return, 0.5 for a shared best, 0 otherwise. */
export function seatScores(returns: readonly number[]): number[] {
  const best = Math.max(...returns);
  const leaders = returns.filter((r) => r === best).length;
  return returns.map((r) => (r < best ? 0 : leaders > 1 ? 0.5 : 1));
}

/**
 * The games of one pairing. With swapSeats, odd games put `b` first; with
 * pairedSeeds, games 2k and 2k+1 share a seed, so both agents get the same
 * deals from both seats.
 */
export function pairingMatches(config: ResolvedConfig, pairKey: string, round: number, a: string, b: string): PlannedMatch[] {
  const root = new Rng(config.seed);
  return Array.from({ length: config.gamesPerPairing }, (_, g) => ({
    key: `${pairKey}:${g}`,
    round,
    seats: config.swapSeats && g % 2 === 1 ? [b, a] : [a, b],
    seed: root.split(`${pairKey}:${config.pairedSeeds ? Math.floor(g / 2) : g}`).nextUint32(),
  }));
}

function roundRobin(config: ResolvedConfig): PlannedMatch[] {
  const { agents } = config;
  return agents.flatMap((a, i) => agents.slice(i + 1).flatMap((b) => pairingMatches(config, `${a}:${b}`, 0, a, b)));
}

function gauntlet(config: ResolvedConfig, challengers: readonly string[]): PlannedMatch[] {
  const field = config.agents.filter((a) => !challengers.includes(a));
  return challengers.flatMap((c) => field.flatMap((f) => pairingMatches(config, `${c}:${f}`, 0, c, f)));
}

/** Search steps allowed to find a round without rematches before settling for the greedy pairing. */
const SWISS_SEARCH_STEPS = 100_000;

/**
 * Pairs ranked agents from the top, each with the highest-ranked agent it has
 * not met, backtracking when that leaves someone without a new opponent.
 * Undefined if no such pairing was found within the step budget.
 */
function pairWithoutRematches(ranked: readonly string[], met: (a: string, b: string) => boolean): [string, string][] | undefined {
  let steps = 0;
  const search = (rest: readonly string[]): [string, string][] | undefined => {
    if (rest.length === 0) return [];
    if (++steps > SWISS_SEARCH_STEPS) return undefined;
    const [a, ...others] = rest;
    for (let i = 0; i < others.length; i++) {
      if (met(a, others[i])) continue;
      const tail = search(others.filter((_, k) => k !== i));
      if (tail) return [[a, others[i]], ...tail];
    }
    return undefined;
  };
  return search(ranked);
}

/** Pairs in rank order, accepting rematches. */
function pairGreedily(ranked: readonly string[], met: (a: string, b: string) => boolean): [string, string][] {
  const rest = [...ranked];
  const pairs: [string, string][] = [];
  while (rest.length > 1) {
    const a = rest.shift()!;
    const [b] = rest.splice(Math.max(0, rest.findIndex((b) => !met(a, b))), 1);
    pairs.push([a, b]);
  }
  return pairs;
}

/**
 * Pairs the next swiss round once every match of the current one is finished:
 * agents ranked by points (then name); with an odd count one sits out (the
 * lowest ranked among those with the fewest byes, as long as the others can
 * then be paired without rematches); the rest are paired from the top, each
 * with the highest-ranked agent it has not met (a rematch only when no
 * pairing avoids one).
 */
function swiss(config: ResolvedConfig, rounds: number, planned: readonly PlannedMatch[], finished: ReadonlyMap<string, FinishedMatch>): Schedule {
  const current = planned.reduce((r, m) => Math.max(r, m.round), 0);
  if (current === rounds || planned.some((m) => !finished.has(m.key))) return { matches: planned, final: current === rounds };

  const points = new Map(config.agents.map((a) => [a, 0]));
  const byes = new Map(config.agents.map((a) => [a, 0]));
  for (const match of finished.values()) match.seats.forEach((agent, seat) => points.set(agent, points.get(agent)! + match.scores[seat]));
  for (let round = 1; round <= current; round++) {
    const playing = new Set(planned.filter((m) => m.round === round).flatMap((m) => m.seats));
    for (const agent of config.agents) if (!playing.has(agent)) byes.set(agent, byes.get(agent)! + 1);
  }
  const metPairs = new Set(planned.map((m) => [...m.seats].sort().join('\n')));
  const met = (a: string, b: string) => metPairs.has([a, b].sort().join('\n'));

  const ranked = [...config.agents].sort((a, b) => points.get(b)! - points.get(a)! || (a < b ? -1 : 1));
  const byeCandidates = ranked.length % 2 === 0 ? [undefined] : [...ranked].reverse().sort((a, b) => byes.get(a)! - byes.get(b)!);
  let pairs: [string, string][] | undefined;
  for (const bye of byeCandidates) {
    pairs = pairWithoutRematches(ranked.filter((a) => a !== bye), met);
    if (pairs) break;
  }
  pairs ??= pairGreedily(ranked.filter((a) => a !== byeCandidates[0]), met);
  const round = current + 1;
  const next = pairs.flatMap(([a, b]) => pairingMatches(config, `r${round}:${a}:${b}`, round, a, b));
  return { matches: [...planned, ...next], final: round === rounds };
}

/**
 * Every match of a fixed-schedule format that can be planned now, given the
 * matches planned and finished so far. The ladder has no fixed schedule; see
 * ladderPairing.
 */
export function plan(config: ResolvedConfig, planned: readonly PlannedMatch[], finished: ReadonlyMap<string, FinishedMatch>): Schedule {
  switch (config.format.type) {
    case 'round-robin':
      return { matches: roundRobin(config), final: true };
    case 'gauntlet':
      return { matches: gauntlet(config, config.format.challengers), final: true };
    case 'swiss':
      return swiss(config, config.format.rounds, planned, finished);
    case 'ladder':
      return { matches: planned, final: false };
  }
}

/**
 * The ladder's next pairing among the idle agents: a random one of them
 * against the idle agent rated nearest to it.
 */
export function ladderPairing(config: ResolvedConfig, sequence: number, idle: readonly string[], rating: (agent: string) => number): PlannedMatch[] | undefined {
  if (idle.length < 2) return undefined;
  const rng = new Rng(config.seed).split(`ladder:${sequence}`);
  const a = idle[rng.int(idle.length)];
  let b: string | undefined;
  let gap = Infinity;
  for (const other of idle) {
    const d = Math.abs(rating(other) - rating(a));
    if (other !== a && (d < gap || (d === gap && rng.next() < 0.5))) [b, gap] = [other, d];
  }
  return pairingMatches(config, `L${sequence}:${a}:${b}`, sequence, a, b!);
}
