import type { Game, Turn } from '../core/index.ts';
import { appendEpisode, type EpisodeFormat } from './codec.ts';
import { EPISODE_SCHEMA, type Episode, type EpisodePlayer, type EpisodeStep } from './episode.ts';
import { EpisodeError, recordTooLong } from './errors.ts';
import { appendArrayHeader, appendJson, encodeJson, type ByteSink } from './msgpack-encoder.ts';

/**
 * Episodes on their way to a writer thread. Encoding an episode costs about
 * as much as handing it to another thread (both walk every step), so most go
 * as the little that rebuilds them: a match that ended normally, every step a
 * valid move with nothing an agent added (no meta, no timing, no role), and
 * numbers for actions is its id, seed, players' names, each step's seat and
 * action, and returns; the thread replays the actions through the game to
 * get back each step's texts and encodes what the referee would have built,
 * byte for byte. Any other episode is encoded here and goes as its bytes.
 * Entries keep their order.
 */
export interface ReplayBatch {
  readonly episodes: number;
  /**
   * Per entry: RAW and the record's length; or REPLAY, the id's length and
   * its UTF-16 units, the seed, the number of players and their names'
   * indices, the number of steps and each step's seat (CHANCE for chance) and
   * action, the number of returns and the returns.
   */
  readonly numbers: Float64Array<ArrayBuffer>;
  /** Players' names first seen in this batch; a name's index counts from the builder's first batch. */
  readonly names: readonly string[];
  /** The RAW entries' records, back to back. */
  readonly raw: Uint8Array<ArrayBuffer>;
}

/** Longer ids go as bytes (RAW). */
const MAX_ID_LENGTH = 1024;
const RAW = 0;
const REPLAY = 1;
/** A chance step's seat in `numbers`. */
const CHANCE = -1;

/** Turns episodes into batches for a writer thread (ReplayBatchWriter's); one builder per file. */
export class ReplayBatchBuilder {
  #numbers = new Float64Array(4096);
  #length = 0;
  #names: string[] = [];
  #nameIndex = new Map<string, number>();
  #raw: ByteSink = { bytes: Buffer.allocUnsafe(0), length: 0 };
  #episodes = 0;

  constructor(
    private readonly game: Game,
    private readonly format: EpisodeFormat,
    private readonly maxRecordBytes: number,
  ) {}

  get episodes(): number {
    return this.#episodes;
  }

  /**
   * Adds one episode a referee built; returns the bytes it holds here until the
   * batch is taken. Throws EpisodeError for what the writer refuses (checked
   * here for the episodes encoded here; a replayed one is the referee's own
   * record, which the thread's replay checks against its seats and returns).
   */
  add(episode: Episode): number {
    const start = this.#length;
    if (this.#addReplay(episode)) {
      this.#episodes++;
      return 8 * (this.#length - start);
    }
    this.#length = start;
    const length = appendEpisode(this.#raw, episode, this.format, true);
    if (length > this.maxRecordBytes) {
      this.#raw.length -= length;
      throw recordTooLong(episode.id, length, this.maxRecordBytes);
    }
    this.#room(2);
    this.#numbers[this.#length++] = RAW;
    this.#numbers[this.#length++] = length;
    this.#episodes++;
    return length;
  }

  /** The entries added since the last take, in arrays of their own (transferable), and a fresh start. */
  take(): ReplayBatch {
    const batch: ReplayBatch = {
      episodes: this.#episodes,
      numbers: this.#numbers.slice(0, this.#length),
      names: this.#names,
      raw: new Uint8Array(this.#raw.bytes.subarray(0, this.#raw.length)),
    };
    this.#length = 0;
    this.#names = [];
    this.#raw.length = 0;
    this.#episodes = 0;
    return batch;
  }

  /** Writes the episode as REPLAY and returns true, or returns false (leaving #length for add to reset) if it is not one. */
  #addReplay(episode: Episode): boolean {
    const { steps, history, players, returns } = episode;
    if (
      episode.outcome !== 'normal' ||
      episode.reason !== undefined ||
      episode.offender !== undefined ||
      episode.startedAt !== undefined ||
      episode.durationMs !== undefined ||
      episode.game.id !== this.game.id ||
      episode.game.params !== this.game.params ||
      steps.length !== history.length ||
      episode.id.length > MAX_ID_LENGTH
    ) {
      return false;
    }
    const { id } = episode;
    this.#room(6 + id.length + players.length + 2 * steps.length + returns.length);
    const numbers = this.#numbers;
    let at = this.#length;
    numbers[at++] = REPLAY;
    // The id's UTF-16 units: a string built per episode would outlive the young generation while its batch fills.
    numbers[at++] = id.length;
    for (let i = 0; i < id.length; i++) numbers[at++] = id.charCodeAt(i);
    numbers[at++] = episode.seed;
    numbers[at++] = players.length;
    for (let seat = 0; seat < players.length; seat++) {
      const player = players[seat];
      if (player.seat !== seat || player.role !== undefined || player.policy !== undefined) return false;
      let index = this.#nameIndex.get(player.name);
      if (index === undefined) {
        index = this.#nameIndex.size;
        this.#nameIndex.set(player.name, index);
        this.#names.push(player.name);
      }
      numbers[at++] = index;
    }
    numbers[at++] = steps.length;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const action = history[i];
      if (
        typeof action !== 'number' ||
        !Number.isFinite(action) ||
        step.parsed !== action ||
        step.valid !== true ||
        step.error !== undefined ||
        step.meta !== undefined ||
        step.ms !== undefined ||
        step.role !== undefined
      ) {
        return false;
      }
      numbers[at++] = step.seat === 'chance' ? CHANCE : step.seat;
      numbers[at++] = action;
    }
    numbers[at++] = returns.length;
    for (let i = 0; i < returns.length; i++) numbers[at++] = returns[i];
    this.#length = at;
    return true;
  }

  /** Makes room for `count` more numbers. */
  #room(count: number): void {
    if (this.#length + count <= this.#numbers.length) return;
    const grown = new Float64Array(Math.max(2 * this.#numbers.length, this.#length + count));
    grown.set(this.#numbers.subarray(0, this.#length));
    this.#numbers = grown;
  }
}

/** The states a ReplayBatchWriter keeps (a few MB): small games' trees whole, the first part of a large game's. */
const MAX_REPLAY_NODES = 50_000;

/** A state matches went through, and what its steps record. */
interface ReplayNode {
  readonly state: unknown;
  readonly turn: Turn;
  readonly children: Map<number, ReplayEdge>;
}

/** A move from a state: the state it leads to, and its step and its action as the record holds them, encoded. */
interface ReplayEdge {
  readonly node: ReplayNode;
  readonly step: Buffer;
  readonly action: Buffer;
}

/**
 * Writes a builder's batches as records, in order: the thread's side of
 * ReplayBatchBuilder. One per file. It keeps the states that matches went
 * through as a tree from the initial one, with each move's step already
 * encoded: states are values, so the same actions give the same step, and a
 * replayed match is mostly copies of bytes encoded once.
 */
export class ReplayBatchWriter {
  readonly #names: string[] = [];
  readonly #root: ReplayNode;
  #nodes = 0;
  /** The game's record as its episodes hold it, encoded. */
  readonly #gameRecord: Buffer;
  /** The players' records met so far, by their names' indices. */
  readonly #playerRecords = new Map<string, Buffer>();
  /** The edges of the match being written (#walk's). */
  readonly #edges: ReplayEdge[] = [];

  constructor(
    private readonly game: Game,
    private readonly format: EpisodeFormat,
    private readonly maxRecordBytes: number,
  ) {
    this.#root = this.#node(game.initial());
    this.#gameRecord = this.#encode({ id: game.id, params: game.params });
  }

  /** Appends the batch's records to `sink`. Throws EpisodeError where a replay does not give the match it was sent. */
  append(batch: ReplayBatch, sink: ByteSink): void {
    this.#names.push(...batch.names);
    const { numbers, raw } = batch;
    let at = 0;
    let rawAt = 0;
    while (at < numbers.length) {
      if (numbers[at++] === RAW) {
        const length = numbers[at++];
        copyInto(sink, raw.subarray(rawAt, rawAt + length));
        rawAt += length;
        continue;
      }
      const idLength = numbers[at++];
      const id = String.fromCharCode.apply(null, numbers.subarray(at, at + idLength) as unknown as number[]);
      at += idLength;
      const seed = numbers[at++];
      const players = this.#players(numbers, at);
      at += 1 + numbers[at];
      const moves = numbers[at++];
      const edges = this.#walk(id, numbers, at, moves);
      at += 2 * moves;
      const seats = numbers[at++];
      const returns = numbers.subarray(at, at + seats);
      at += seats;
      const node = moves === 0 ? this.#root : edges[moves - 1].node;
      if (node.turn !== 'terminal') throw this.#diverged(id, 'does not end the game');
      const replayed = this.game.returns(node.state);
      if (replayed.length !== seats || replayed.some((r, seat) => r !== returns[seat])) {
        throw this.#diverged(id, `gives returns ${JSON.stringify(replayed)}, where the match had ${JSON.stringify(Array.from(returns))}`);
      }
      const start = sink.length;
      if (this.format === 'msgpack') this.#appendMsgpack(sink, id, seed, players, edges, moves, returns);
      else copyInto(sink, Buffer.from(this.#jsonLine(id, seed, players, edges, moves, returns)));
      const length = sink.length - start;
      if (length > this.maxRecordBytes) {
        sink.length = start;
        throw recordTooLong(id, length, this.maxRecordBytes);
      }
    }
  }

  /** The encoded players of a match, from their count and name indices at numbers[at]. */
  #players(numbers: Float64Array, at: number): Buffer {
    const seats = numbers[at];
    let key = '';
    for (let seat = 0; seat < seats; seat++) key += `${numbers[at + 1 + seat]},`;
    let record = this.#playerRecords.get(key);
    if (record === undefined) {
      const players: EpisodePlayer[] = [];
      for (let seat = 0; seat < seats; seat++) players.push({ seat, name: this.#names[numbers[at + 1 + seat]] });
      record = this.#encode(players);
      this.#playerRecords.set(key, record);
    }
    return record;
  }

  /** The moves of a match (`moves` pairs of seat and action at numbers[at]), through the tree; checks each turn. Fills and returns #edges. */
  #walk(id: string, numbers: Float64Array, at: number, moves: number): ReplayEdge[] {
    const edges = this.#edges;
    let node = this.#root;
    for (let i = 0; i < moves; i++) {
      const seat = numbers[at + 2 * i];
      const action = numbers[at + 2 * i + 1];
      if (node.turn !== (seat === CHANCE ? 'chance' : seat)) throw this.#diverged(id, `gives turn ${node.turn} at step ${i}, where the match had ${seat === CHANCE ? 'chance' : `seat ${seat}`}`);
      const edge = node.children.get(action) ?? this.#edge(node, action);
      edges[i] = edge;
      node = edge.node;
    }
    return edges;
  }

  /**
   * The record buildEpisode's object for this match encodes to, in the same
   * bytes: a map of its fields in their order, each value encoded as the
   * object's would be.
   */
  #appendMsgpack(sink: ByteSink, id: string, seed: number, players: Buffer, edges: readonly ReplayEdge[], moves: number, returns: Float64Array): void {
    copyInto(sink, MSGPACK.head);
    this.#json(sink, id);
    copyInto(sink, MSGPACK.game);
    copyInto(sink, this.#gameRecord);
    copyInto(sink, MSGPACK.seed);
    this.#json(sink, seed);
    copyInto(sink, MSGPACK.players);
    copyInto(sink, players);
    copyInto(sink, MSGPACK.steps);
    appendArrayHeader(sink, moves);
    for (let i = 0; i < moves; i++) copyInto(sink, edges[i].step);
    copyInto(sink, MSGPACK.history);
    appendArrayHeader(sink, moves);
    for (let i = 0; i < moves; i++) copyInto(sink, edges[i].action);
    copyInto(sink, MSGPACK.returns);
    appendArrayHeader(sink, returns.length);
    for (let i = 0; i < returns.length; i++) this.#json(sink, returns[i]);
    copyInto(sink, MSGPACK.tail);
  }

  /** The JSON line of buildEpisode's object for this match. */
  #jsonLine(id: string, seed: number, players: Buffer, edges: readonly ReplayEdge[], moves: number, returns: Float64Array): string {
    let steps = '';
    let history = '';
    for (let i = 0; i < moves; i++) {
      steps += (i === 0 ? '' : ',') + edges[i].step.toString();
      history += (i === 0 ? '' : ',') + edges[i].action.toString();
    }
    return `{"schema":${EPISODE_SCHEMA},"id":${JSON.stringify(id)},"game":${this.#gameRecord.toString()},"seed":${JSON.stringify(seed)},"players":${players.toString()},"steps":[${steps}],"history":[${history}],"returns":${JSON.stringify(Array.from(returns))},"outcome":"normal"}\n`;
  }

  /** Appends a value of the record in msgpack; values a referee records are JSON data, but a number sent here may not be (NaN). */
  #json(sink: ByteSink, value: unknown): void {
    if (!appendJson(sink, value)) throw new EpisodeError(`cannot encode ${JSON.stringify(value)}: it is not JSON data`);
  }

  /** A value of the record, alone, in the writer's format (msgpack, or JSON text). */
  #encode(value: unknown): Buffer {
    if (this.format === 'jsonl') return Buffer.from(JSON.stringify(value));
    const bytes = encodeJson(value);
    if (bytes === undefined) throw new EpisodeError(`cannot encode ${JSON.stringify(value)}: it is not JSON data`);
    return bytes;
  }

  #node(state: unknown): ReplayNode {
    this.#nodes++;
    return { state, turn: this.game.turn(state), children: new Map() };
  }

  /** The move from `node` by `action`, as playMatch records it; kept for the next match that makes it while the tree is under its bound. */
  #edge(node: ReplayNode, action: number): ReplayEdge {
    const { game } = this;
    const { state, turn } = node;
    const actionText = game.actionText(state, action);
    const step: EpisodeStep =
      turn === 'chance'
        ? { seat: 'chance', action: actionText, parsed: action, valid: true }
        : { seat: turn as number, observation: game.observationText(state, turn as number), infoKey: game.infoKey(state, turn as number), action: actionText, parsed: action, valid: true };
    const edge = { node: this.#node(game.apply(state, action)), step: this.#encode(step), action: this.#encode(action) };
    if (this.#nodes <= MAX_REPLAY_NODES) node.children.set(action, edge);
    return edge;
  }

  #diverged(id: string, what: string): EpisodeError {
    return new EpisodeError(`cannot write episode ${JSON.stringify(id)}: replaying its actions through ${this.game.id} ${what}`);
  }
}

/** The msgpack bytes between an episode's values: its map's header, and each field's key. */
const MSGPACK = {
  head: Buffer.concat([Buffer.of(0x89), encodeJson('schema')!, encodeJson(EPISODE_SCHEMA)!, encodeJson('id')!]),
  game: encodeJson('game')!,
  seed: encodeJson('seed')!,
  players: encodeJson('players')!,
  steps: encodeJson('steps')!,
  history: encodeJson('history')!,
  returns: encodeJson('returns')!,
  tail: Buffer.concat([encodeJson('outcome')!, encodeJson('normal')!]),
};

/** Appends `bytes` to the sink, growing its buffer if needed. */
function copyInto(sink: ByteSink, bytes: Uint8Array): void {
  const end = sink.length + bytes.length;
  if (end > sink.bytes.length) {
    const grown = Buffer.allocUnsafe(Math.max(2 * sink.bytes.length, end));
    sink.bytes.copy(grown, 0, 0, sink.length);
    sink.bytes = grown;
  }
  if (bytes.length < 64) for (let i = 0; i < bytes.length; i++) sink.bytes[sink.length + i] = bytes[i];
  else sink.bytes.set(bytes, sink.length);
  sink.length = end;
}
