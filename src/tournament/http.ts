import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Leaderboard } from './ratings/leaderboard.ts';
import { ratingView, type LiveRatings } from './ratings/live.ts';
import { PAGE_HTML, PAGE_SCRIPT } from './page.ts';
import type { SpectatorHub } from './spectators.ts';
import type { Store, TournamentRow } from './store.ts';

/** A tournament's matches: finished, being played, and still to play. */
export interface MatchProgress {
  readonly done: number;
  readonly running: number;
  readonly pending: number;
}

export interface ApiContext {
  readonly store: Store;
  readonly leaderboard: Leaderboard;
  readonly progress: (tournament: TournamentRow) => MatchProgress;
  readonly ratings: LiveRatings;
  readonly spectators: SpectatorHub;
  readonly log: (line: string) => void;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'",
};

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...SECURITY_HEADERS });
  res.end(body);
}

/**
 * The scope a leaderboard request names: `?tournament=NAME` (that
 * tournament's results and ratings), `?game=NAME` (every tournament of the
 * game), or nothing, which means the only game there is. Ratings never pool
 * games, so a server with several asks which.
 */
function leaderboardScope(context: ApiContext, query: URLSearchParams): { game: string | null; tournament: TournamentRow | undefined; games: string[] } {
  const { store } = context;
  const tournaments = store.tournaments();
  const games = [...new Set([...tournaments.flatMap((t) => (t.game === null ? [] : [t.game])), ...context.ratings.games()])].sort();
  const name = query.get('tournament');
  const tournament = name === null ? undefined : tournaments.find((t) => t.name === name);
  if (name !== null && !tournament) throw new HttpError(404, `no tournament named ${JSON.stringify(name)}`);
  const game = query.get('game');
  if (tournament) {
    if (game !== null && game !== tournament.game) throw new HttpError(400, `tournament ${tournament.name} plays ${JSON.stringify(tournament.game)}, not ${JSON.stringify(game)}`);
    return { game: tournament.game, tournament, games };
  }
  if (game !== null) {
    if (!games.includes(game)) throw new HttpError(404, `no game named ${JSON.stringify(game)}; games: ${games.map((g) => JSON.stringify(g)).join(', ') || 'none yet'}`);
    return { game, tournament: undefined, games };
  }
  if (games.length > 1) throw new HttpError(400, `ratings are per game and this server has ${games.length}: ask for one with ?game= (${games.map((g) => JSON.stringify(g)).join(', ')}) or ?tournament=`);
  return { game: games[0] ?? null, tournament: undefined, games };
}

const EMPTY_TABLE = { rows: [], superiority: [], games: 0, samples: 0, scoring: 'outcome' };

async function leaderboard(context: ApiContext, query: URLSearchParams): Promise<unknown> {
  const { game, tournament, games } = leaderboardScope(context, query);
  const scope = { game: game ?? '', tournamentId: tournament?.id ?? 0 };
  let official;
  try {
    official = game === null ? EMPTY_TABLE : await context.leaderboard.official(tournament ? { tournamentId: tournament.id } : { game });
  } catch (error) {
    throw new HttpError(503, (error as Error).message);
  }
  return { game, tournament: tournament?.name ?? null, games, official, live: { rows: game === null ? [] : context.ratings.rows(scope).map(ratingView) } };
}

function route(context: ApiContext, path: string, query: URLSearchParams): unknown {
  const { store } = context;
  if (path === '/api/leaderboard') return leaderboard(context, query);
  if (path === '/api/tournaments') {
    return {
      tournaments: store.tournaments().map((t) => ({
        name: t.name,
        // The game as rated: the leaderboard's ?game=.
        game: t.game ?? t.config.game,
        // Always an object with its type, even where the config gave the type alone.
        format: typeof t.config.format === 'string' ? { type: t.config.format } : t.config.format,
        agents: t.config.agents,
        status: t.status,
        matches: context.progress(t),
        createdAt: t.createdAt,
        finishedAt: t.finishedAt,
      })),
    };
  }
  if (path === '/api/matches') {
    const limit = Number(query.get('limit') ?? 20);
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) throw new HttpError(400, `limit is a whole number from 1 to 200, got ${JSON.stringify(query.get('limit'))}`);
    return { running: context.spectators.runningMatches(), recent: store.recentResults(limit) };
  }
  const match = /^\/api\/matches\/([^/]+)$/.exec(path);
  if (match) {
    let id: string;
    try {
      id = decodeURIComponent(match[1]);
    } catch {
      throw new HttpError(400, 'the match id is not valid URL encoding');
    }
    const found = store.match(id);
    if (!found) throw new HttpError(404, `no match ${JSON.stringify(id)}`);
    return found;
  }
  throw new HttpError(404, `nothing at ${path}; try /api/leaderboard, /api/tournaments, /api/matches or /api/matches/:id`);
}

/**
 * The request's target as a URL, or undefined when it is not one. Node's
 * parser lets through absolute targets (`GET http://host:99999/`) that the
 * URL class refuses.
 */
export function requestUrl(req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

export const BAD_TARGET = 'Bad Request: the request target is not a valid URL';

/** The JSON API and the live page. */
export function handleHttp(context: ApiContext, req: IncomingMessage, res: ServerResponse): void {
  const url = requestUrl(req);
  if (!url) return send(res, 400, 'application/json', JSON.stringify({ error: BAD_TARGET }));
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'application/json', JSON.stringify({ error: 'only GET' }));
  if (url.pathname === '/') return send(res, 200, 'text/html; charset=utf-8', PAGE_HTML);
  if (url.pathname === '/app.js') return send(res, 200, 'text/javascript; charset=utf-8', PAGE_SCRIPT);
  const failed = (error: unknown) => {
    try {
      if (error instanceof HttpError) return send(res, error.status, 'application/json', JSON.stringify({ error: error.message }));
      send(res, 500, 'application/json', JSON.stringify({ error: 'internal error' }));
      context.log(`GET ${url.pathname} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    } catch {
      // The response could not be sent (the client is gone): nothing is left to tell.
      res.destroy();
    }
  };
  try {
    // The leaderboard is fitted on another thread and comes later; everything else is at hand.
    void Promise.resolve(route(context, url.pathname, url.searchParams))
      .then((body) => send(res, 200, 'application/json', JSON.stringify(body)))
      .catch(failed);
  } catch (error) {
    failed(error);
  }
}
