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

/**
 * Each seat's score from the returns: one point for every other seat it beat,
 * half a point for every seat it tied with. With two seats that is 1 for a
 * win, 0.5 for a draw and 0 for a loss; with more, the seats' finishing order
 * (what OpenSkill's multi-player update rates, and swiss points add up).
 */
export function seatScores(returns: readonly number[]): number[] {
  return returns.map((r, s) => returns.reduce((points, other, t) => (t === s ? points : other < r ? points + 1 : other === r ? points + 0.5 : points), 0));
}

/** Every way of choosing `size` of `items`, each in the items' order, in lexicographic order. */
export function combinations<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  const pick = (start: number, chosen: T[]) => {
    if (chosen.length === size) return void out.push(chosen);
    for (let i = start; i <= items.length - (size - chosen.length); i++) pick(i + 1, [...chosen, items[i]]);
  };
  pick(0, []);
  return out;
}

/**
 * The games of one pairing (with more than two seats, one group of agents,
 * as many as the game seats). With swapSeats, game g rotates the seats by g:
 * with two, odd games put the second agent first; with N, every agent sits in
 * every seat once in N games. With pairedSeeds, each N consecutive games
 * (games 2k and 2k+1 with two seats) share a seed, so every agent gets the
 * same deals from every seat.
 */
export function pairingMatches(config: ResolvedConfig, pairKey: string, round: number, group: readonly string[]): PlannedMatch[] {
  const root = new Rng(config.seed);
  const n = group.length;
  return Array.from({ length: config.gamesPerPairing }, (_, g) => {
    const shift = config.swapSeats ? g % n : 0;
    return {
      key: `${pairKey}:${g}`,
      round,
      seats: [...group.slice(shift), ...group.slice(0, shift)],
      seed: root.split(`${pairKey}:${config.pairedSeeds ? Math.floor(g / n) : g}`).nextUint32(),
    };
  });
}

/** Every group of `seats` agents (every pair with two seats), in the config's order. */
function roundRobin(config: ResolvedConfig, seats: number): PlannedMatch[] {
  return combinations(config.agents, seats).flatMap((group) => pairingMatches(config, group.join(':'), 0, group));
}

/** Each challenger with every group of seats - 1 agents of the field (every field agent with two seats). */
function gauntlet(config: ResolvedConfig, challengers: readonly string[], seats: number): PlannedMatch[] {
  const field = config.agents.filter((a) => !challengers.includes(a));
  return challengers.flatMap((c) => combinations(field, seats - 1).flatMap((others) => pairingMatches(config, [c, ...others].join(':'), 0, [c, ...others])));
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
function swiss(config: ResolvedConfig, rounds: number, planned: readonly PlannedMatch[], finished: ReadonlyMap<string, FinishedMatch>, seats: number): Schedule {
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
  const round = current + 1;
  if (seats > 2) {
    // Groups of `seats` in rank order; the agents left over sit out (the lowest ranked among those with
    // the fewest byes). Rematches are not avoided.
    const out = new Set([...ranked].reverse().sort((a, b) => byes.get(a)! - byes.get(b)!).slice(0, ranked.length % seats));
    const playing = ranked.filter((a) => !out.has(a));
    const groups = Array.from({ length: playing.length / seats }, (_, g) => playing.slice(g * seats, (g + 1) * seats));
    const next = groups.flatMap((group) => pairingMatches(config, `r${round}:${group.join(':')}`, round, group));
    return { matches: [...planned, ...next], final: round === rounds };
  }
  const byeCandidates = ranked.length % 2 === 0 ? [undefined] : [...ranked].reverse().sort((a, b) => byes.get(a)! - byes.get(b)!);
  let pairs: [string, string][] | undefined;
  for (const bye of byeCandidates) {
    pairs = pairWithoutRematches(ranked.filter((a) => a !== bye), met);
    if (pairs) break;
  }
  pairs ??= pairGreedily(ranked.filter((a) => a !== byeCandidates[0]), met);
  const next = pairs.flatMap(([a, b]) => pairingMatches(config, `r${round}:${a}:${b}`, round, [a, b]));
  return { matches: [...planned, ...next], final: round === rounds };
}

/**
 * Every match of a fixed-schedule format that can be planned now, given the
 * matches planned and finished so far. The ladder has no fixed schedule; see
 * ladderPairing.
 */
export function plan(config: ResolvedConfig, planned: readonly PlannedMatch[], finished: ReadonlyMap<string, FinishedMatch>, seats = 2): Schedule {
  switch (config.format.type) {
    case 'round-robin':
      return { matches: roundRobin(config, seats), final: true };
    case 'gauntlet':
      return { matches: gauntlet(config, config.format.challengers, seats), final: true };
    case 'swiss':
      return swiss(config, config.format.rounds, planned, finished, seats);
    case 'ladder':
      return { matches: planned, final: false };
  }
}

/**
 * The ladder's next pairing among the idle agents: a random one of them
 * against the idle agent rated nearest to it (with more than two seats, the
 * seats - 1 idle agents rated nearest to it, nearest first).
 */
export function ladderPairing(config: ResolvedConfig, sequence: number, idle: readonly string[], rating: (agent: string) => number, seats = 2): PlannedMatch[] | undefined {
  if (idle.length < seats) return undefined;
  const rng = new Rng(config.seed).split(`ladder:${sequence}`);
  const a = idle[rng.int(idle.length)];
  const group = [a];
  while (group.length < seats) {
    let b: string | undefined;
    let gap = Infinity;
    for (const other of idle) {
      const d = Math.abs(rating(other) - rating(a));
      if (!group.includes(other) && (d < gap || (d === gap && rng.next() < 0.5))) [b, gap] = [other, d];
    }
    group.push(b!);
  }
  return pairingMatches(config, `L${sequence}:${group.join(':')}`, sequence, group);
}
