import { z } from 'zod';
import { ProtocolError } from '../core/index.ts';
import { OUTCOMES } from '../episodes/episode.ts';
import { findNonJson } from '../episodes/json-data.ts';

/**
 * The messages between a referee and an agent. The same shapes travel over
 * in-process RxJS streams and, as JSON or msgpack, over sockets; anything an
 * agent sends is validated against these schemas before the referee uses it.
 */
export const PROTOCOL_VERSION = 1;

/** Limits on what crosses a boundary; replies from language models are long but not unbounded. */
export const LIMITS = {
  text: 64 * 1024,
  id: 256,
  legalActions: 10_000,
  metaBytes: 256 * 1024,
  /** How deep meta may nest: an episode keeps it a few levels down, within what episodes allow. */
  metaDepth: 64,
} as const;

const text = z.string().max(LIMITS.text);
const id = z.string().min(1).max(LIMITS.id);
const seat = z.number().int().min(0).max(1023);
const jsonValue: z.ZodType<unknown> = z.unknown();

/** Sent once when a match starts: who the agent is and the rules it plays by. */
export const startMessage = z.object({
  type: z.literal('start'),
  v: z.literal(PROTOCOL_VERSION),
  matchId: id,
  game: id,
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  seat,
  seats: z.number().int().min(1).max(1024),
  /** A seed for the agent's own randomness in this match. */
  seed: z.number().int().min(0).max(0xffffffff),
  rules: text,
});

/** The seat must act: what it sees, what it may do, and until when. */
export const turnMessage = z.object({
  type: z.literal('turn'),
  v: z.literal(PROTOCOL_VERSION),
  matchId: id,
  /** Counts the seat's turns in the match, retries included; the reply echoes it. */
  step: z.number().int().min(0),
  seat,
  observation: text,
  /** The legal actions as text, in the game's order; a reply is one of these (or free text that contains one). */
  legal: z.array(text).max(LIMITS.legalActions),
  /** Structured data the seat may see: its observation, information-state key, and for perfect-information games the history. */
  view: z.object({ observation: jsonValue, infoKey: z.string(), history: z.array(jsonValue).optional() }),
  /** Milliseconds the seat has to answer. */
  timeoutMs: z.number().int().min(0),
  /** Set when the previous reply was invalid and the policy allows another try. */
  retry: z.object({ attempt: z.number().int().min(1), error: text, reply: text }).optional(),
});

/** Public news of the match, for every seat and for spectators. */
export const eventMessage = z.object({
  type: z.literal('event'),
  v: z.literal(PROTOCOL_VERSION),
  matchId: id,
  /** The seat that acted, or 'chance' (whose outcome stays hidden). */
  actor: z.union([seat, z.literal('chance')]),
  action: text.optional(),
});

// The episode's vocabulary, named here too: the end message carries it.
export { OUTCOMES, type Outcome } from '../episodes/episode.ts';

export const endMessage = z.object({
  type: z.literal('end'),
  v: z.literal(PROTOCOL_VERSION),
  matchId: id,
  returns: z.array(z.number()),
  outcome: z.enum(OUTCOMES),
  reason: text.optional(),
});

export const errorMessage = z.object({
  type: z.literal('error'),
  v: z.literal(PROTOCOL_VERSION),
  matchId: id.optional(),
  /** From an agent: it cannot go on (a model endpoint is down, say). The match ends with outcome `error`. */
  message: text,
  code: z.string().max(64).optional(),
});

/** An agent's answer to a turn. `meta` carries model data (prompt, completion, token ids, logprobs, usage). */
export const actionMessage = z.object({
  type: z.literal('action'),
  v: z.literal(PROTOCOL_VERSION),
  matchId: id,
  step: z.number().int().min(0),
  action: text,
  meta: z.record(z.string(), jsonValue).optional(),
});

export const toAgentMessage = z.discriminatedUnion('type', [startMessage, turnMessage, eventMessage, endMessage, errorMessage]);
export const fromAgentMessage = z.discriminatedUnion('type', [actionMessage, errorMessage]);

export type StartMessage = z.infer<typeof startMessage>;
export type TurnMessage = z.infer<typeof turnMessage>;
export type EventMessage = z.infer<typeof eventMessage>;
export type EndMessage = z.infer<typeof endMessage>;
export type ErrorMessage = z.infer<typeof errorMessage>;
export type ActionMessage = z.infer<typeof actionMessage>;
export type ToAgent = z.infer<typeof toAgentMessage>;
export type FromAgent = z.infer<typeof fromAgentMessage>;

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`)
    .join('; ');
}

function metaSize(meta: unknown): number {
  try {
    return JSON.stringify(meta)?.length ?? 0;
  } catch {
    return Infinity;
  }
}

/**
 * Marks what parseFromAgent returned, so that a message crossing two
 * checkpoints (a server's socket, then the referee) is validated once. A
 * hidden property rather than a WeakSet: the set's table, grown and shrunk
 * with every message, would outlive the messages and burden the collector.
 */
const VALIDATED = Symbol('validated');

/** Validates a message from an agent; throws ProtocolError saying what was wrong and what was expected. */
export function parseFromAgent(data: unknown): FromAgent {
  if (typeof data === 'object' && data !== null && Object.hasOwn(data, VALIDATED)) return data as FromAgent;
  const result = fromAgentMessage.safeParse(data);
  if (!result.success) {
    throw new ProtocolError(`bad message from agent (${describeIssues(result.error)}); expected {type: "action", v: ${PROTOCOL_VERSION}, matchId, step, action} or {type: "error", v: ${PROTOCOL_VERSION}, message}`);
  }
  if (result.data.type === 'action' && result.data.meta !== undefined) {
    if (metaSize(result.data.meta) > LIMITS.metaBytes) throw new ProtocolError(`bad message from agent: meta is larger than ${LIMITS.metaBytes} bytes of JSON`);
    // The episode must be able to keep it: JSON data, nested within the limit.
    const found = findNonJson(result.data.meta, LIMITS.metaDepth);
    if (found) throw new ProtocolError(`bad message from agent: meta${found.path.map((key) => `.${key}`).join('')}: ${found.message}`);
  }
  Object.defineProperty(result.data, VALIDATED, { value: true });
  return result.data;
}

/** Validates a message to an agent (what a remote client receives). */
export function parseToAgent(data: unknown): ToAgent {
  const result = toAgentMessage.safeParse(data);
  if (!result.success) throw new ProtocolError(`bad message to agent (${describeIssues(result.error)})`);
  return result.data;
}
