import { meanInterval } from '../core/mean-interval.ts';
import type { Episode } from '../episodes/episode.ts';

export interface AgentRecord {
  readonly agent: string;
  readonly matches: number;
  readonly wins: number;
  readonly draws: number;
  readonly losses: number;
  /** Matches that ended with outcome `error` (no result). */
  readonly errors: number;
  /** (wins + draws / 2) / decided matches. */
  readonly score: number;
  /** 95% Wilson interval of the score. */
  readonly interval: readonly [number, number];
  readonly meanReturn: number;
}

/** 95% Wilson score interval for a proportion `p` observed over `n` trials. */
export function wilsonInterval(p: number, n: number, z = 1.959964): [number, number] {
  if (n === 0) return [0, 1];
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * Wins, draws and losses of each named agent over a set of episodes. A seat
 * wins with the strictly highest return, draws when it ties for the highest,
 * and loses otherwise; `error` outcomes count apart.
 */
export function summarize(episodes: Iterable<Episode>, agents: readonly string[]): AgentRecord[] {
  const tally = new ResultTally(agents);
  for (const episode of episodes) tally.add(episode);
  return tally.records();
}

/** summarize() one episode at a time: a run that streams its episodes keeps the counts, not the episodes. */
export class ResultTally {
  private readonly tally: Map<string, { matches: number; wins: number; draws: number; losses: number; errors: number; returns: number }>;
  /** Episodes added. */
  count = 0;

  constructor(private readonly agents: readonly string[]) {
    this.tally = new Map(agents.map((name) => [name, { matches: 0, wins: 0, draws: 0, losses: 0, errors: 0, returns: 0 }]));
  }

  add(episode: Episode): void {
    const { tally } = this;
    this.count++;
    const best = Math.max(...episode.returns);
    const leaders = episode.returns.filter((r) => r === best).length;
    for (const player of episode.players) {
      const t = tally.get(player.name);
      if (!t) continue;
      t.matches++;
      if (episode.outcome === 'error') {
        t.errors++;
        continue;
      }
      const mine = episode.returns[player.seat];
      t.returns += mine;
      if (mine < best) t.losses++;
      else if (leaders > 1) t.draws++;
      else t.wins++;
    }
  }

  records(): AgentRecord[] {
    const { tally, agents } = this;
    return agents.map((agent) => {
      const t = tally.get(agent)!;
      const decided = t.matches - t.errors;
      const score = decided === 0 ? 0 : (t.wins + t.draws / 2) / decided;
      return {
        agent,
        matches: t.matches,
        wins: t.wins,
        draws: t.draws,
        losses: t.losses,
        errors: t.errors,
        score,
        interval: wilsonInterval(score, decided),
        meanReturn: decided === 0 ? 0 : t.returns / decided,
      };
    });
  }
}

export interface RoleRecord {
  readonly role: string;
  /** Seats of this role that acted (a solver seat after an invalid task did not). */
  readonly turns: number;
  readonly meanReturn: number;
  /** 95% interval of the mean return (normal approximation; the mean itself below two turns). */
  readonly interval: readonly [number, number];
  readonly minReturn: number;
  readonly maxReturn: number;
}

/** Rewards per role over environment episodes, counting only the seats that acted in each match. */
export function summarizeRoles(episodes: Iterable<Episode>): RoleRecord[] {
  const tally = new RoleTally();
  for (const episode of episodes) tally.add(episode);
  return tally.records();
}

/** summarizeRoles() one episode at a time, with the count of each outcome. */
export class RoleTally {
  private readonly tally = new Map<string, { turns: number; sum: number; squares: number; min: number; max: number }>();
  /** Episodes added. */
  count = 0;
  /** Episodes of each outcome. */
  readonly outcomes: Record<string, number> = {};

  add(episode: Episode): void {
    this.count++;
    this.outcomes[episode.outcome] = (this.outcomes[episode.outcome] ?? 0) + 1;
    const acted = new Set(episode.steps.map((s) => s.seat));
    for (const player of episode.players) {
      if (!player.role || !acted.has(player.seat)) continue;
      const r = episode.returns[player.seat];
      const t = this.tally.get(player.role) ?? { turns: 0, sum: 0, squares: 0, min: Infinity, max: -Infinity };
      this.tally.set(player.role, { turns: t.turns + 1, sum: t.sum + r, squares: t.squares + r * r, min: Math.min(t.min, r), max: Math.max(t.max, r) });
    }
  }

  records(): RoleRecord[] {
    return [...this.tally].map(([role, t]) => {
      const { mean, low, high } = meanInterval(t.sum, t.squares, t.turns);
      return { role, turns: t.turns, meanReturn: mean, interval: [low, high] as const, minReturn: t.min, maxReturn: t.max };
    });
  }
}
