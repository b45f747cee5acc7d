import { EMPTY, Observable } from 'rxjs';
import { policyAgent, type Agent, type Player, type Policy } from '../../src/runtime/index.ts';

export const player = (name: string, agent: Agent): Player => ({ name, agent });

/** An agent that plays the given replies in order, then the first legal action. */
export const scripted = (...replies: string[]): Agent => {
  let k = 0;
  return policyAgent((turn) => replies[k++] ?? turn.legal[0]);
};

export const firstLegal: Agent = policyAgent((turn) => turn.legal[0]);

/** An agent that answers after `ms` milliseconds. */
export const slow = (ms: number): Agent => policyAgent((turn) => new Promise((resolve) => setTimeout(() => resolve(turn.legal[0]), ms)));

/** An agent that never answers. */
export const silent: Agent = () => new Observable(() => undefined);

/** An agent whose stream completes at once. */
export const quitter: Agent = () => EMPTY;

export const throwing = (message: string): Agent => policyAgent((() => {
  throw new Error(message);
}) as Policy);

/** An agent that emits whatever raw value it is given on its first turn, then plays legally. */
export const raw = (value: unknown): Agent => (inbox) =>
  new Observable((subscriber) => {
    let sent = false;
    return inbox.subscribe((message) => {
      if (message.type !== 'turn') return;
      if (!sent) {
        sent = true;
        subscriber.next(value as never);
      } else subscriber.next({ type: 'action', v: 1, matchId: message.matchId, step: message.step, action: message.legal[0] });
    });
  });
