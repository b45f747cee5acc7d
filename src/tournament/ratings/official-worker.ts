import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { readResults } from '../store-writes.ts';
import { yieldToServing, type ThreadData } from '../worker-threads.ts';
import { officialTable, type OfficialTable } from './official.ts';

/**
 * The thread that fits the official table: it reads the stored results on
 * a read-only connection of its own (WAL readers never wait on the writer)
 * and runs the Bradley-Terry fit and its bootstrap, seconds of work for
 * 100,000 games that must not hold up the thread that serves the agents.
 */

export interface OfficialWorkerData extends ThreadData {
  readonly path: string;
  readonly samples: number;
}

/** Fit the table of all results, or of one tournament's. */
export type OfficialRequest = { readonly id: number; readonly tournamentId?: number };
export type OfficialReply = { readonly id: number; readonly table: OfficialTable } | { readonly id: number; readonly error: string };

const { path, samples } = workerData as OfficialWorkerData;
const port = parentPort!;
yieldToServing();
const db = new Database(path, { readonly: true, fileMustExist: true });

port.on('message', ({ id, tournamentId }: OfficialRequest) => {
  let reply: OfficialReply;
  try {
    reply = { id, table: officialTable(readResults(db, tournamentId), { samples }) };
  } catch (error) {
    reply = { id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
