import { Observable } from 'rxjs';
import { Rng } from '../core/index.ts';
import { PROTOCOL_VERSION, type FromAgent, type StartMessage, type ToAgent, type TurnMessage } from './messages.ts';

/**
 * An agent is a reactive actor: it maps the stream of messages addressed to it
 * in one match to the stream of its replies. It is called once per match, so a
 * closure inside it is per-match state.
 */
export type Agent = (inbox: Observable<ToAgent>) => Observable<FromAgent>;

/** Which policy, at which version, an agent plays: recorded in every episode. */
export interface PolicyRef {
  readonly id: string;
  readonly version: string | number;
}

/** An agent with the name it plays under (its spec, e.g. `mcts:iterations=500`). */
export interface Player {
  readonly name: string;
  readonly agent: Agent;
  readonly role?: string;
  readonly policy?: PolicyRef;
}

/** A policy's answer: the action as text, and optionally model data for the episode. */
export interface Decision {
  readonly action: string;
  readonly meta?: Record<string, unknown>;
}

export interface PolicyContext {
  readonly start: StartMessage;
  /** The agent's own generator for this match, seeded by the referee. */
  readonly rng: Rng;
}

export type Policy = (turn: TurnMessage, context: PolicyContext) => string | Decision | Promise<string | Decision>;

const isPromise = <T>(value: unknown): value is Promise<T> => typeof (value as Promise<T>)?.then === 'function';

/**
 * Turns a policy function into an agent. Synchronous policies answer within the
 * same call (no scheduling cost per move); asynchronous ones are answered in the
 * order the turns came. A policy that throws or rejects makes the agent fail,
 * which the referee records as a forfeit.
 */
export function policyAgent(policy: Policy): Agent {
  return (inbox) =>
    new Observable<FromAgent>((subscriber) => {
      let context: PolicyContext | undefined;
      let queue: Promise<void> = Promise.resolve();
      let pending = 0;
      const reply = (turn: TurnMessage, decision: string | Decision) => {
        const { action, meta } = typeof decision === 'string' ? { action: decision, meta: undefined } : decision;
        subscriber.next({ type: 'action', v: PROTOCOL_VERSION, matchId: turn.matchId, step: turn.step, action, ...(meta ? { meta } : {}) });
      };
      const subscription = inbox.subscribe({
        next: (message) => {
          if (message.type === 'start') {
            context = { start: message, rng: new Rng(message.seed) };
            return;
          }
          if (message.type !== 'turn') return;
          if (!context) {
            subscriber.error(new Error(`turn ${message.step} arrived before the start message`));
            return;
          }
          const ctx = context;
          if (pending === 0) {
            let result: string | Decision | Promise<string | Decision>;
            try {
              result = policy(message, ctx);
            } catch (error) {
              subscriber.error(error);
              return;
            }
            if (!isPromise(result)) {
              reply(message, result);
              return;
            }
            pending++;
            queue = result.then((d) => reply(message, d), (error) => subscriber.error(error)).finally(() => pending--);
            return;
          }
          pending++;
          queue = queue
            .then(() => policy(message, ctx))
            .then((d) => reply(message, d), (error) => subscriber.error(error))
            .finally(() => pending--);
        },
        error: (error) => subscriber.error(error),
        complete: () => {
          queue.then(() => subscriber.complete());
        },
      });
      return () => subscription.unsubscribe();
    });
}
