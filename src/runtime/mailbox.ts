import type { Observable, Subscription } from 'rxjs';
import { ProtocolError } from '../core/index.ts';
import { parseFromAgent, type ActionMessage, type ErrorMessage } from './messages.ts';

/** What waiting for a seat's reply can give. */
export type Reply =
  | { readonly kind: 'action'; readonly message: ActionMessage; readonly ms: number }
  | { readonly kind: 'error'; readonly message: ErrorMessage }
  | { readonly kind: 'invalid'; readonly error: string; readonly ms: number }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'crashed'; readonly reason: string };

/**
 * Holds what one agent sent until the referee asks for the reply to a given
 * step. Replies for older steps (late answers after a timeout) are dropped. A
 * synchronous agent's reply is already here when the referee looks, so the
 * common case costs no timer and no promise.
 */
export class Mailbox {
  private readonly queue: unknown[] = [];
  private crashed: string | undefined;
  private waiter: (() => void) | undefined;
  private aborted: { readonly reason: unknown } | undefined;
  private abortWait: ((reason: unknown) => void) | undefined;
  private readonly subscription: Subscription;

  constructor(replies: Observable<unknown>) {
    this.subscription = replies.subscribe({
      next: (message) => {
        this.queue.push(message);
        this.waiter?.();
      },
      error: (error) => {
        this.crashed ??= `the agent failed: ${error instanceof Error ? error.message : String(error)}`;
        this.waiter?.();
      },
      complete: () => {
        this.crashed ??= 'the agent stopped (its stream completed) before the match ended';
        this.waiter?.();
      },
    });
  }

  /** Rejects the wait in progress, and any wait after it, with `reason`. */
  abort(reason: unknown): void {
    this.aborted ??= { reason };
    this.abortWait?.(reason);
  }

  /** The reply to `step` if it has arrived, else undefined. */
  take(step: number, startedAt: number): Reply | undefined {
    while (this.queue.length > 0) {
      const raw = this.queue.shift();
      let message;
      try {
        message = parseFromAgent(raw);
      } catch (error) {
        return { kind: 'invalid', error: (error as ProtocolError).message, ms: performance.now() - startedAt };
      }
      if (message.type === 'error') return { kind: 'error', message };
      if (message.step === step) return { kind: 'action', message, ms: performance.now() - startedAt };
    }
    if (this.crashed !== undefined) return { kind: 'crashed', reason: this.crashed };
    return undefined;
  }

  /** Waits up to `timeoutMs` for the reply to `step`; an abort rejects. */
  wait(step: number, startedAt: number, timeoutMs: number): Promise<Reply> {
    return new Promise((resolve, reject) => {
      if (this.aborted) return reject(this.aborted.reason);
      const settle = () => {
        clearTimeout(timer);
        this.waiter = this.abortWait = undefined;
      };
      const timer = setTimeout(() => {
        settle();
        resolve({ kind: 'timeout' });
      }, timeoutMs);
      this.abortWait = (reason) => {
        settle();
        reject(reason);
      };
      this.waiter = () => {
        const reply = this.take(step, startedAt);
        if (!reply) return;
        settle();
        resolve(reply);
      };
      this.waiter();
    });
  }

  close(): void {
    this.subscription.unsubscribe();
  }
}
