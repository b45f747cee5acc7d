import type { Game } from '../core/index.ts';
import { EPISODE_SCHEMA, type Episode } from './episode.ts';

/** What a match leaves to record: the episode's fields but its schema version, with the game itself. */
export type EpisodeParts = Omit<Episode, 'schema' | 'game'> & { readonly game: Game };

/**
 * The episode record of a match. Its fields always come in this order, and
 * optional ones only when set, so the same match encodes to the same bytes
 * whoever played it (the referee, or the trainer's compiled tree).
 */
export function buildEpisode(parts: EpisodeParts): Episode {
  const { reason, offender, startedAt, durationMs } = parts;
  return {
    schema: EPISODE_SCHEMA,
    id: parts.id,
    game: { id: parts.game.id, params: parts.game.params },
    seed: parts.seed,
    players: parts.players,
    steps: parts.steps,
    history: parts.history,
    returns: [...parts.returns],
    outcome: parts.outcome,
    ...(reason ? { reason } : {}),
    ...(offender === undefined ? {} : { offender }),
    ...(startedAt === undefined ? {} : { startedAt }),
    ...(durationMs === undefined ? {} : { durationMs }),
  };
}
