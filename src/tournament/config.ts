import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError, type Game, type GameParams } from '../core/index.ts';
import { parseInvalidMovePolicy } from '../runtime/invalid-moves.ts';
import { agentName } from './protocol.ts';

const formatObject = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('round-robin') }),
  /** Each challenger plays every other agent; the others do not play each other. */
  z.strictObject({ type: z.literal('gauntlet'), challengers: z.array(agentName).min(1) }),
  /** Each round pairs agents with equal or near scores who have not met yet. */
  z.strictObject({ type: z.literal('swiss'), rounds: z.number().int().min(1).max(1000) }),
  /** Runs until stopped (or maxMatches): idle agents are paired with the nearest-rated idle opponent. */
  z.strictObject({ type: z.literal('ladder'), maxMatches: z.number().int().min(1).optional() }),
]);

/** A format is an object, or its type alone: "round-robin". */
const format = z.preprocess((value) => (typeof value === 'string' ? { type: value } : value), formatObject);

export const tournamentConfigSchema = z
  .strictObject({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'a tournament name is 1-64 letters, digits, "_", "." or "-"'),
    /** The game, as the server's GameResolver reads it: `kuhn-poker`, `kuhn-poker:hands=3`, or for the CLI a module path, `./my-game.ts`. */
    game: z.string().min(1),
    params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    format,
    /** Default: every agent registered when the tournament is created. */
    agents: z.array(agentName).min(2).optional(),
    gamesPerPairing: z.number().int().min(1).max(100_000).default(2),
    /** Alternate which agent takes the first seat from game to game of a pairing. */
    swapSeats: z.boolean().default(true),
    /** Games 2k and 2k+1 of a pairing share a seed with seats swapped: the same deals from both sides. */
    pairedSeeds: z.boolean().default(false),
    /** Matches in flight at once. */
    concurrency: z.number().int().min(1).max(100_000).default(8),
    /** Matches one agent plays at once (its messages carry the match id). */
    matchesPerAgent: z.number().int().min(1).max(1000).default(1),
    /** What a turn message tells the agent it has. */
    timePerMoveMs: z.number().int().min(1).max(3_600_000).default(10_000),
    /** Extra time the server waits beyond timePerMoveMs, for the network. */
    graceMs: z.number().int().min(0).max(600_000).default(500),
    /** How long a disconnected agent may take to come back before it forfeits its matches. */
    reconnectGraceMs: z.number().int().min(0).max(3_600_000).default(15_000),
    /** spiral-train, eval, textarena, retry:N or custom:retries=R,offender=X,others=Y. */
    invalidMoves: z.string().default('eval'),
    maxTurns: z.number().int().min(1).optional(),
    seed: z.number().int().min(0).max(0xffffffff).default(0),
  })
  .superRefine((config, ctx) => {
    if (config.pairedSeeds && !config.swapSeats) ctx.addIssue({ code: 'custom', path: ['pairedSeeds'], message: 'paired seeds need swapSeats: true (each deal is played from every seat)' });
    if (config.agents && new Set(config.agents).size !== config.agents.length) ctx.addIssue({ code: 'custom', path: ['agents'], message: 'an agent is listed twice' });
    const { format } = config;
    if (format.type === 'gauntlet' && new Set(format.challengers).size !== format.challengers.length) ctx.addIssue({ code: 'custom', path: ['format', 'challengers'], message: 'a challenger is listed twice' });
  });

export type TournamentConfig = z.output<typeof tournamentConfigSchema>;
/** A config as written: defaults may be left out. */
export type TournamentConfigInput = z.input<typeof tournamentConfigSchema>;
/** A config with its agent list filled in, as stored with the tournament. */
export type ResolvedConfig = TournamentConfig & { readonly agents: string[] };

function describe(error: z.ZodError): string {
  return error.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; ');
}

/**
 * Builds the game a tournament config names, from its `game` and its
 * `params` (which the resolver must apply). Servers get their games from
 * their caller this way, never from the built-in games themselves:
 * `createGame` from selfplay/games builds those, a loader of module files
 * any other.
 */
export type GameResolver = (ref: string, params: GameParams) => Game | Promise<Game>;

/** Checks a tournament config, its game included (resolved with `resolveGame`); returns it with its defaults filled in. */
export async function parseTournamentConfig(value: unknown, resolveGame: GameResolver, source = 'tournament config'): Promise<TournamentConfig> {
  const result = tournamentConfigSchema.safeParse(value);
  if (!result.success) throw new ConfigError(`${source}: ${describe(result.error)}`);
  try {
    parseInvalidMovePolicy(result.data.invalidMoves);
    await tournamentGame(result.data, resolveGame);
  } catch (error) {
    // Say which file: a server may be given several.
    if (error instanceof ConfigError) throw new ConfigError(`${source}: ${error.message}`);
    throw error;
  }
  return result.data;
}

export async function loadTournamentConfig(path: string, resolveGame: GameResolver): Promise<TournamentConfig> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read tournament config ${path}: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`tournament config ${path} is not JSON: ${(error as Error).message}`);
  }
  return parseTournamentConfig(value, resolveGame, path);
}

/**
 * The game a tournament plays, which must seat two or more: each match seats
 * as many agents as the game has seats. With paired seeds, a pairing's games
 * come in groups of that many (one rotation of the
 * seats), so games per pairing (and a ladder's maxMatches) must divide by
 * it (be even with two).
 */
export async function tournamentGame(config: TournamentConfig, resolveGame: GameResolver): Promise<Game> {
  const game = await resolveGame(config.game, config.params);
  if (!Number.isInteger(game.seats) || game.seats < 2) throw new ConfigError(`tournament ${config.name}: ${game.id} has ${game.seats} seats; a tournament match seats two or more agents`);
  // Paired seeds: each deal is played once from every seat, so games come in groups of `seats`.
  const { seats } = game;
  const multiple = seats === 2 ? 'even' : `a multiple of ${seats} (${game.id} has ${seats} seats)`;
  if (config.pairedSeeds && config.gamesPerPairing % seats !== 0) throw new ConfigError(`tournament ${config.name}: gamesPerPairing: with paired seeds, games per pairing must be ${multiple}`);
  if (config.pairedSeeds && config.format.type === 'ladder' && config.format.maxMatches !== undefined && config.format.maxMatches % seats !== 0) {
    throw new ConfigError(`tournament ${config.name}: format.maxMatches: with paired seeds, maxMatches must be ${multiple} (games come in groups with the same deal, one from each seat)`);
  }
  return game;
}

/**
 * Fills in the agent list and checks that every agent named is registered,
 * and that there are enough for the game's `seats` (parseTournamentConfig has
 * checked the game).
 */
export function resolveConfig(config: TournamentConfig, registered: readonly string[], seats = 2): ResolvedConfig {
  const agents = config.agents ?? [...registered].sort();
  if (agents.length < Math.max(2, seats)) throw new ConfigError(`tournament ${config.name}: needs at least ${Math.max(2, seats)} agents, one a seat (${config.agents ? 'listed' : 'registered'}: ${agents.length})`);
  const known = new Set(registered);
  const missing = agents.filter((a) => !known.has(a));
  if (missing.length) throw new ConfigError(`tournament ${config.name}: unknown agent ${missing.join(', ')}; add it with \`selfplay agents add <name>\``);
  if (config.format.type === 'gauntlet') {
    const outside = config.format.challengers.filter((c) => !agents.includes(c));
    if (outside.length) throw new ConfigError(`tournament ${config.name}: challenger ${outside.join(', ')} is not among the tournament's agents`);
    if (config.format.challengers.length === agents.length) throw new ConfigError(`tournament ${config.name}: a gauntlet needs at least one agent that is not a challenger`);
    const field = agents.length - config.format.challengers.length;
    if (field < seats - 1) throw new ConfigError(`tournament ${config.name}: a gauntlet of a ${seats}-seat game needs at least ${seats - 1} agents that are not challengers (has ${field})`);
  }
  return { ...config, agents };
}
