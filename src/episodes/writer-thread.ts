// The thread of an episode writer with the `replay` option (replaying-writer.ts):
// it loads the game, then rebuilds, encodes and appends each batch it is sent,
// in order, answering each once its records are in the file.
import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { SelfplayError, type Game } from '../core/index.ts';
import { yieldToServing } from '../core/threads.ts';
import { EpisodeError } from './errors.ts';
import type { ByteSink } from './msgpack-encoder.ts';
import { ReplayBatchWriter } from './replay-batch.ts';
import type { FromWriterThread, ToWriterThread, WriterThreadData } from './replaying-writer.ts';

const data = workerData as WriterThreadData;
const written = new Int32Array(data.written);
const port = parentPort!;
let failed = false;

const fail = (error: unknown) => {
  failed = true;
  const { message, code } = error as { message?: unknown; code?: unknown };
  port.postMessage({
    type: 'failed',
    message: typeof message === 'string' ? message : String(error),
    // The system's errors keep their code (ENOSPC...); ours are episode errors on the other side.
    ...(typeof code === 'string' && !(error instanceof SelfplayError) ? { code } : {}),
  } satisfies FromWriterThread);
};

/** The game the episodes are replayed through, or undefined (and a failure sent) if it cannot be had. */
async function loadGame(): Promise<Game | undefined> {
  try {
    const { loadGame: load } = (await import(data.module)) as { loadGame: (ref: string) => Promise<Game> };
    const game = await load(data.ref);
    const params = JSON.stringify(game.params);
    if (game.id !== data.gameId || params !== data.params) {
      throw new EpisodeError(`the writer thread of ${data.path} loaded ${game.id} ${params} from ${data.ref}, not the writer's ${data.gameId} ${data.params}`);
    }
    return game;
  } catch (error) {
    fail(error);
    return undefined;
  }
}

function writeAll(sink: ByteSink): void {
  for (let written = 0; written < sink.length; ) written += writeSync(data.fd, sink.bytes, written, sink.length - written);
}

yieldToServing();
const game = await loadGame();
const writer = game && new ReplayBatchWriter(game, data.format, data.maxRecordBytes);
if (writer) port.postMessage({ type: 'ready' } satisfies FromWriterThread);
const sink: ByteSink = { bytes: Buffer.allocUnsafe(64 * 1024), length: 0 };
port.on('message', (message: ToWriterThread) => {
  if (message.type === 'end') return port.close();
  if (failed || !writer) return;
  sink.length = 0;
  try {
    writer.append(message.batch, sink);
  } catch (error) {
    // The records before the one that failed are whole: they go to the file before the failure is told.
    try {
      writeAll(sink);
    } catch {
      // The failure to tell is the first one.
    }
    return fail(error);
  }
  try {
    writeAll(sink);
    Atomics.add(written, 0, 1);
    port.postMessage({ type: 'written' } satisfies FromWriterThread);
  } catch (error) {
    fail(error);
  }
});
