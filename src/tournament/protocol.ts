import { z } from 'zod';
import { ProtocolError } from '../core/index.ts';
import { LIMITS, PROTOCOL_VERSION, type ErrorMessage } from '../runtime/messages.ts';

/**
 * Messages of the tournament server beyond the runtime's agent protocol
 * (start/turn/event/end/error and action/error, in src/runtime/messages.ts).
 * docs/protocol.md describes all of them for client authors.
 */

/** Agent names: what tokens are issued for and what leaderboards show. */
export const agentName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'an agent name is 1-64 letters, digits, "_", "." or "-", starting with a letter or digit');
export const agentVersion = z.string().regex(/^[A-Za-z0-9_.+-]{1,64}$/, 'a version is 1-64 letters, digits, "_", ".", "+" or "-"');

/** The first message on an agent connection (the token may come in the Authorization header instead). */
export const helloMessage = z.strictObject({
  type: z.literal('hello'),
  v: z.literal(PROTOCOL_VERSION),
  /** Any string: one the server never issued is refused as unauthorized, whatever its length. */
  token: z.string().optional(),
  /** When given, the server checks that the token belongs to this agent. */
  agent: agentName.optional(),
  /** The version of the agent's policy; ratings are kept per version (default "1"). */
  version: agentVersion.optional(),
});
export type HelloMessage = z.infer<typeof helloMessage>;

export const welcomeMessage = z.object({
  type: z.literal('welcome'),
  v: z.literal(PROTOCOL_VERSION),
  agent: agentName,
  version: agentVersion,
  /** The server pings this often; a connection that misses a pong is closed. */
  heartbeatMs: z.number().int().min(1),
  /** Matches in progress whose state the server resends right after this message. */
  resumed: z.array(z.string()),
});
export type WelcomeMessage = z.infer<typeof welcomeMessage>;

/** What a spectator (the live page) may send. */
export const spectatorRequest = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('watch'), matchId: z.string().min(1).max(LIMITS.id) }),
  z.strictObject({ type: z.literal('unwatch') }),
]);
export type SpectatorRequest = z.infer<typeof spectatorRequest>;

/** Codes of the server's error messages; a client may act on them, people read `message`. */
export const ERROR_CODES = {
  badFrame: 'bad-frame',
  badMessage: 'bad-message',
  unauthorized: 'unauthorized',
  alreadyConnected: 'already-connected',
  notAuthenticated: 'not-authenticated',
  unknownMatch: 'unknown-match',
  outOfOrder: 'out-of-order',
  rateLimited: 'rate-limited',
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

/** WebSocket close codes the server uses (4000-4999 are for applications). */
export const CLOSE_CODES = {
  unauthorized: 4401,
  helloTimeout: 4408,
  alreadyConnected: 4409,
  shuttingDown: 1001,
} as const;

export function errorFrame(code: ErrorCode, message: string, matchId?: string): ErrorMessage {
  return { type: 'error', v: PROTOCOL_VERSION, code, message: message.slice(0, LIMITS.text), ...(matchId ? { matchId } : {}) };
}

export function parseWith<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ');
  throw new ProtocolError(`bad ${what} (${issues})`);
}
