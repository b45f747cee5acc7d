import { Observable } from 'rxjs';

/**
 * What a consumer of episodes tells their producer: whether it can take
 * another match's episode now. An arena asks before it starts each match, so
 * it runs no further ahead than the consumer (an episode file, a trainer)
 * can take. An `EpisodeWriter` is one.
 */
export interface Backpressure {
  /** Undefined when another match may start now; else a promise that resolves (or rejects, which stops the run) when one may. */
  ready(): Promise<void> | undefined;
}

/**
 * Plays `matches` matches, at most `concurrency` at once, and emits each
 * result as its match ends. A match starts only when the previous ones have
 * left room (concurrency) and `backpressure` says the consumer can take
 * more: nothing is buffered ahead, so memory stays bounded for any number of
 * matches. Unsubscribing (or an error) aborts the signal given to the
 * matches in flight.
 */
export function pacedMatches<T>(matches: number, concurrency: number, play: (index: number, signal: AbortSignal) => Promise<T>, backpressure: Backpressure | undefined, stopReason: string): Observable<T> {
  if (!(concurrency >= 1)) throw new RangeError(`concurrency must be at least 1, not ${concurrency}`);
  return new Observable<T>((subscriber) => {
    const controller = new AbortController();
    let next = 0;
    let active = 0;
    let waiting = false;
    const pump = (): void => {
      while (!subscriber.closed && active < concurrency && next < matches) {
        // The gate being waited for calls pump when it opens: asking again meanwhile (each match that
        // ends does) would only make the consumer hand out another promise.
        if (waiting) return;
        let gate: Promise<void> | undefined;
        try {
          gate = backpressure?.ready();
        } catch (error) {
          return subscriber.error(error);
        }
        if (gate) {
          waiting = true;
          gate.then(
            () => {
              waiting = false;
              pump();
            },
            (error: unknown) => subscriber.error(error),
          );
          return;
        }
        const index = next++;
        active++;
        let played: Promise<T>;
        try {
          played = play(index, controller.signal);
        } catch (error) {
          return subscriber.error(error);
        }
        played.then(
          (value) => {
            active--;
            if (subscriber.closed) return;
            subscriber.next(value);
            pump();
          },
          (error: unknown) => subscriber.error(error),
        );
      }
      if (next >= matches && active === 0) subscriber.complete();
    };
    pump();
    return () => controller.abort(new Error(stopReason));
  });
}
