import { LlmError } from './errors.ts';

export interface RetryPolicy {
  /** Attempts after the first one. */
  readonly retries: number;
  /** The first wait; each retry doubles it, up to `maxBackoffMs`. */
  readonly backoffMs: number;
  readonly maxBackoffMs: number;
}

/**
 * How long to wait before retry number `retry` (1-based): exponential with
 * "equal jitter" (between half and all of the step, so waits never collapse to
 * zero), and at least what the server asked for in Retry-After, within the cap.
 */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number, retryAfterMs?: number): number {
  const step = Math.min(policy.maxBackoffMs, policy.backoffMs * 2 ** (retry - 1));
  const jittered = step / 2 + random() * (step / 2);
  return retryAfterMs === undefined ? jittered : Math.max(jittered, Math.min(retryAfterMs, policy.maxBackoffMs));
}

export interface Retried<T> {
  readonly value: T;
  /** Calls made, the successful one included. */
  readonly attempts: number;
  /** Why each earlier attempt failed. */
  readonly failures: readonly string[];
}

export interface RetryOptions {
  /** performance.now() time after which no attempt starts. */
  readonly deadline?: number;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const sleepFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Calls `attempt` until it succeeds, retrying LlmErrors marked retryable with
 * backoff. Gives up at once on other errors, after `policy.retries` retries, or
 * when the next wait would pass the deadline; the final error says how many
 * attempts were made.
 */
export async function withRetries<T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy, options: RetryOptions = {}): Promise<Retried<T>> {
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? sleepFor;
  const failures: string[] = [];
  for (let n = 1; ; n++) {
    try {
      return { value: await attempt(n), attempts: n, failures };
    } catch (error) {
      if (!(error instanceof LlmError) || !error.retryable) throw error;
      failures.push(error.message);
      const gaveUp = (why: string) => new LlmError(error.failure, `${error.message} (gave up after ${n} attempt${n === 1 ? '' : 's'}${why})`, false);
      if (n > policy.retries) throw gaveUp('');
      const wait = backoffDelay(policy, n, random, error.retryAfterMs);
      if (options.deadline !== undefined && performance.now() + wait >= options.deadline) throw gaveUp(': the turn has no time left for another');
      await sleep(wait);
    }
  }
}
