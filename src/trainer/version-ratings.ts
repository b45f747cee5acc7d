import { lastValueFrom, toArray } from 'rxjs';
import { bootstrapRatings } from '../core/bradley-terry.ts';
import type { Game } from '../core/index.ts';
import { meanIntervalOf } from '../core/mean-interval.ts';
import { runArena, type Player } from '../runtime/index.ts';
import { modelPlayer, type HostedSampling } from './model-player.ts';

export interface VersionRating {
  /** The model version (`tiny@20`) or the anchor's name. */
  readonly name: string;
  /** Bradley-Terry strength on the Elo scale, centred on the mean entrant, with its 95% bootstrap interval. */
  readonly rating: number;
  readonly low: number;
  readonly high: number;
  readonly games: number;
  /** Wins plus half the draws. */
  readonly points: number;
  /**
   * Mean return a game against the field, with its 95% interval over the deals played from both seats (each
   * deal's two games averaged, which cancels most of the cards' luck): in chip games the measure that tells
   * versions apart, where the winner of a single hand says little.
   */
  readonly meanReturn: number;
  readonly returnLow: number;
  readonly returnHigh: number;
}

export interface RateVersionsOptions {
  readonly sampling: HostedSampling;
  /** The policy id recorded for the versions' seats. */
  readonly policyId: string;
  /** Fixed agents rated with the versions (random, mcts...). */
  readonly anchors?: readonly Player[];
  /** Games between every two entrants (rounded up to even: seats swapped on the same deal). */
  readonly gamesPerPair: number;
  readonly seed?: number;
  readonly concurrency?: number;
  /** Bootstrap fits (default 200). */
  readonly samples?: number;
}

/**
 * A round robin among versions of a hosted model and fixed anchors: every
 * pair plays the same deals from both seats (paired seeds), and a
 * Bradley-Terry fit with bootstrap intervals says whether a later version
 * really beats an earlier one. Best first.
 */
export async function rateVersions(game: Game, versions: readonly { readonly model: string; readonly version: number }[], options: RateVersionsOptions): Promise<VersionRating[]> {
  if (game.seats !== 2) throw new RangeError(`version ratings pair two players; ${game.id} has ${game.seats} seats`);
  const models = versions.map((v) => modelPlayer(v.model, v.model, { id: options.policyId, version: v.version }, options.sampling));
  const entrants = [...models.map((m) => m.player), ...(options.anchors ?? [])];
  const games = 2 * Math.ceil(options.gamesPerPair / 2);
  const a: number[] = [];
  const b: number[] = [];
  const score: number[] = [];
  /** Each entrant's returns by deal: the two games of a pair that played it. */
  const dealReturns = entrants.map(() => new Map<string, number[]>());
  try {
    for (let i = 0; i < entrants.length; i++) {
      for (let j = i + 1; j < entrants.length; j++) {
        const episodes = await lastValueFrom(
          runArena({ game, players: [entrants[i], entrants[j]], matches: games, seed: (options.seed ?? 0) * 7919 + i * entrants.length + j, runId: `rate-${i}-${j}`, seats: 'rotate', pairedSeeds: true, concurrency: options.concurrency ?? 32 }).pipe(toArray()),
        );
        for (const episode of episodes) {
          if (episode.outcome === 'error') continue;
          const seatOf = (name: string) => episode.players.find((p) => p.name === name)!.seat;
          const [ri, rj] = [episode.returns[seatOf(entrants[i].name)], episode.returns[seatOf(entrants[j].name)]];
          a.push(i);
          b.push(j);
          score.push(ri > rj ? 1 : ri === rj ? 0.5 : 0);
          // The two matches of a deal share its seed (paired seeds).
          const deal = `${i}-${j}-${episode.seed}`;
          for (const [entrant, r] of [[i, ri], [j, rj]]) {
            const list = dealReturns[entrant].get(deal);
            if (list) list.push(r);
            else dealReturns[entrant].set(deal, [r]);
          }
        }
      }
    }
  } finally {
    for (const m of models) m.close();
  }
  const fitted = bootstrapRatings({ n: entrants.length, a: Int32Array.from(a), b: Int32Array.from(b), score: Float64Array.from(score) }, { samples: options.samples, seed: options.seed });
  return fitted.rows.map(({ index, ...row }) => {
    const { mean, low, high } = meanIntervalOf([...dealReturns[index].values()].map((r) => r.reduce((x, y) => x + y, 0) / r.length));
    return { name: entrants[index].name, ...row, meanReturn: mean, returnLow: low, returnHigh: high };
  });
}
