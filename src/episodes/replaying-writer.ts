import { siblingModule, startThread, threadErrorText } from '../core/threads.ts';
import type { Game } from '../core/index.ts';
import type { EpisodeFormat } from './codec.ts';
import type { Episode } from './episode.ts';
import { EpisodeError } from './errors.ts';
import { episodeWriterOf, type DirectRecords, type EpisodeWriter, type PendingRecords } from './pending-records.ts';
import { ReplayBatchBuilder, type ReplayBatch } from './replay-batch.ts';

/**
 * The game a writer's episodes come from, and how its thread gets the same
 * one: `module` (a file URL) exports `loadGame(ref)`, which must give a game
 * of the same id and parameters (src/cli/load-game.ts's does, for a built-in
 * id or a module path).
 */
export interface GameSource {
  readonly game: Game;
  readonly module: string;
  readonly ref: string;
}

/** What the writer thread (writer-thread.ts) is started with. */
export interface WriterThreadData {
  /** The file's descriptor, opened for appending by this thread, which closes it after the writer thread has ended. */
  readonly fd: number;
  readonly path: string;
  readonly format: EpisodeFormat;
  readonly maxRecordBytes: number;
  readonly module: string;
  readonly ref: string;
  readonly gameId: string;
  /** The game's parameters as JSON: the thread's game must have the same. */
  readonly params: string;
  /** One Int32: the batches whose records are in the file, counted up by the thread as it writes them. */
  readonly written: SharedArrayBuffer;
}

export type ToWriterThread = { readonly type: 'batch'; readonly batch: ReplayBatch } | { readonly type: 'end' };
/**
 * `ready`: the thread has its game. `written`: another batch is in the file (the count is in
 * WriterThreadData.written). `failed`: what stopped the thread's writing (nothing after it is written).
 */
export type FromWriterThread = { readonly type: 'ready' } | { readonly type: 'written' } | { readonly type: 'failed'; readonly message: string; readonly code?: string };

/** The thread's objects live for one batch: a small young generation holds them, and keeps the process's memory down. */
const THREAD_YOUNG_GENERATION_MB = 4;

interface ReplayingSetup {
  readonly path: string;
  readonly format: EpisodeFormat;
  readonly fd: number;
  readonly maxRecordBytes: number;
  readonly pending: PendingRecords;
  /** The plain writer's way to the file, which takes the episodes until the thread has its game. */
  readonly direct: DirectRecords;
  /** Closes the file (fsyncing it first when `sync`). */
  readonly finish: (sync: boolean) => Promise<void>;
  readonly source: GameSource;
}

/**
 * openEpisodeWriter's writer with the `replay` option: episodes go in batches
 * (ReplayBatchBuilder) to a thread that encodes them and writes them through
 * the file's descriptor. A batch goes once it holds half the pending marks,
 * or when the event loop next turns. Until the thread has loaded its game,
 * which takes a moment, episodes are encoded here and written as the plain
 * writer writes them, and the thread's first batch waits for those writes.
 */
export function replayingWriter(setup: ReplayingSetup): EpisodeWriter {
  const { path, format, pending, direct, source } = setup;
  const written = new Int32Array(new SharedArrayBuffer(4));
  const thread = startThread(siblingModule('writer-thread', import.meta.url), {
    fd: setup.fd,
    path,
    format,
    maxRecordBytes: setup.maxRecordBytes,
    module: source.module,
    ref: source.ref,
    gameId: source.game.id,
    params: JSON.stringify(source.game.params),
    written: written.buffer,
  } satisfies WriterThreadData, [], { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MB });
  let ended = false;
  let threadReady = false;
  let becameReady: () => void;
  let cannotReplay: (error: Error) => void;
  const replaying = new Promise<void>((resolve, reject) => {
    becameReady = resolve;
    cannotReplay = reject;
  });
  replaying.catch(() => undefined); // the writer's own failure is what a caller that does not ask sees
  const failed = (error: Error) => {
    pending.fail(error);
    cannotReplay(error);
    if (!ended) thread.unref();
  };
  const exited = new Promise<void>((resolve) =>
    thread.once('exit', (code) => {
      if (!ended) failed(new EpisodeError(`the writer thread of ${path} stopped (exit code ${code}) before the writer was closed`));
      resolve();
    }),
  );
  thread.on('error', (error) => failed(new EpisodeError(`the writer thread of ${path} failed: ${threadErrorText(error)}`)));

  const builder = new ReplayBatchBuilder(source.game, format, setup.maxRecordBytes);
  /** Episodes and bytes of each batch not known to be in the file yet, oldest first. */
  const unwritten: { episodes: number; bytes: number }[] = [];
  let counted = 0;
  /**
   * Counts the batches the thread has written since the last call. The count
   * is read from memory both threads share, not from the thread's messages: a
   * producer that never lets the event loop turn (an arena of synchronous
   * agents) would otherwise see no batch written until it stopped to wait.
   */
  const countWritten = () => {
    const now = Atomics.load(written, 0);
    if (counted === now) return;
    for (; counted < now; counted++) {
      const batch = unwritten.shift()!;
      pending.done(batch.episodes, batch.bytes);
    }
    // Once closing, the thread is held until it has ended (a late `written` message must not let go of it).
    if (unwritten.length === 0 && !ended) thread.unref();
  };
  const batchEpisodes = Math.max(1, Math.floor(pending.maxEpisodes / 2));
  const batchBytesMark = pending.maxBytes / 2;
  let batchBytes = 0;
  let scheduled = false;
  const post = () => {
    scheduled = false;
    if (builder.episodes === 0 || pending.failure) return;
    const directWrites = direct.drained();
    if (directWrites) {
      scheduled = true;
      void directWrites.then(post);
      return;
    }
    const batch = builder.take();
    unwritten.push({ episodes: batch.episodes, bytes: batchBytes });
    batchBytes = 0;
    // Held while the thread has work: a caller awaiting flush() must not see the process end under it.
    thread.ref();
    thread.postMessage({ type: 'batch', batch } satisfies ToWriterThread, [batch.numbers.buffer, batch.raw.buffer]);
  };
  thread.on('message', (message: FromWriterThread) => {
    if (message.type === 'ready') {
      threadReady = true;
      becameReady();
      // Held while it starts (a caller may await `replaying`), then only while it has work.
      if (unwritten.length === 0 && !ended) thread.unref();
      return;
    }
    if (message.type === 'failed') {
      failed(message.code ? Object.assign(new Error(message.message), { code: message.code }) : new EpisodeError(message.message));
      return;
    }
    countWritten();
  });

  const add = (episode: Episode) => {
    if (!threadReady) return direct.add(episode);
    countWritten();
    const bytes = builder.add(episode);
    batchBytes += bytes;
    pending.add(1, bytes);
    if (builder.episodes >= batchEpisodes || batchBytes >= batchBytesMark) post();
    else if (!scheduled) {
      scheduled = true;
      setImmediate(post);
    }
  };
  const finish = async (sync: boolean) => {
    // The thread writes through the file's descriptor: it must be gone before the file is closed.
    ended = true;
    thread.ref();
    // A thread still loading its game has been sent nothing: it need not finish loading.
    if (sync && threadReady) thread.postMessage({ type: 'end' } satisfies ToWriterThread);
    else await thread.terminate();
    await exited;
    // A failure the thread told after the last batch was counted is still this writer's.
    await setup.finish(sync && !pending.failure);
    if (pending.failure) throw pending.failure;
  };
  return episodeWriterOf(path, format, pending, add, finish, { replaying });
}
