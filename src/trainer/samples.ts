/** One agent turn as the trainer learns from it. */
export interface Sample {
  readonly episodeId: string;
  readonly policy: { readonly id: string; readonly version: string | number };
  readonly seat: number;
  readonly role: string;
  /** The information-state key (tabular policies) and the observation text (language models). */
  readonly infoKey?: string;
  readonly observation?: string;
  readonly action: string;
  readonly probability?: number;
  readonly logprob?: number;
  readonly reward: number;
  readonly advantage: number;
  /** A model's turn: its prompt and completion token ids and the completion's sampling logprobs (what a policy host trains on). */
  readonly tokens?: { readonly prompt: readonly number[]; readonly completion: readonly number[]; readonly logprobs: readonly number[] };
}

/**
 * Samples of many episodes as flat arrays, for in-process learners that take
 * millions a second: `slot` is the compiled game's action slot, and samples
 * of one episode are contiguous.
 */
export class SampleBatch {
  slot: Int32Array;
  seat: Int8Array;
  episode: Int32Array;
  advantage: Float64Array;
  length = 0;
  /** Per episode and seat (`e * seats + seat`): the return. */
  returns: Float64Array;
  episodes = 0;

  constructor(
    readonly seats: number,
    capacity = 1024,
  ) {
    this.slot = new Int32Array(capacity);
    this.seat = new Int8Array(capacity);
    this.episode = new Int32Array(capacity);
    this.advantage = new Float64Array(capacity);
    this.returns = new Float64Array(capacity * seats);
  }

  clear(): void {
    this.length = 0;
    this.episodes = 0;
  }

  push(slot: number, seat: number, episode: number): void {
    if (this.length === this.slot.length) this.grow();
    const i = this.length++;
    this.slot[i] = slot;
    this.seat[i] = seat;
    this.episode[i] = episode;
  }

  /** Room for the returns of `episodes` episodes. */
  reserveEpisodes(episodes: number): void {
    if (episodes * this.seats > this.returns.length) {
      const next = new Float64Array(episodes * this.seats * 2);
      next.set(this.returns);
      this.returns = next;
    }
  }

  private grow(): void {
    const size = this.slot.length * 2;
    const widen = <T extends Int32Array | Int8Array | Float64Array>(old: T, make: (n: number) => T): T => {
      const next = make(size);
      next.set(old);
      return next;
    };
    this.slot = widen(this.slot, (n) => new Int32Array(n));
    this.seat = widen(this.seat, (n) => new Int8Array(n));
    this.episode = widen(this.episode, (n) => new Int32Array(n));
    this.advantage = widen(this.advantage, (n) => new Float64Array(n));
  }
}
