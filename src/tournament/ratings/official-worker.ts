import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { readResults, scopedResults, type ResultScope } from '../store-writes.ts';
import { yieldToServing, type ThreadData } from '../../core/threads.ts';
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

/**
 * Fit the table of the results of a scope (a game's, a tournament's), unless
 * the count of those results is still `known` (the count the last table was
 * fitted from).
 */
export type OfficialRequest = { readonly id: number; readonly scope: ResultScope; readonly known?: number };
export type OfficialReply =
  | { readonly id: number; readonly unchanged: true }
  | { readonly id: number; readonly table: OfficialTable; readonly results: number; readonly tookMs: number }
  | { readonly id: number; readonly error: string };

const { path, samples } = workerData as OfficialWorkerData;
const port = parentPort!;
yieldToServing();

/** The database, opened at the first request (and at the next, if that failed) so that failing to open it is an answer too. */
function open() {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  // The count and the results it counts come from one snapshot of the database.
  return db.transaction(({ id, scope, known }: OfficialRequest): OfficialReply => {
    const started = performance.now();
    const { from, params } = scopedResults(scope);
    const results = db.prepare(`SELECT COUNT(*) ${from}`).pluck().get(params) as number;
    if (results === known) return { id, unchanged: true };
    const table = officialTable(readResults(db, scope), { samples });
    return { id, table, results, tookMs: performance.now() - started };
  });
}
let answer: ReturnType<typeof open> | undefined;

port.on('message', (request: OfficialRequest) => {
  let reply: OfficialReply;
  try {
    answer ??= open();
    reply = answer(request);
  } catch (error) {
    reply = { id: request.id, error: error instanceof Error ? error.message : String(error) };
  }
  port.postMessage(reply);
});
