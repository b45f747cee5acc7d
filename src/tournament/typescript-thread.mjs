// The entry of the server's worker threads (the database writer, the official
// ratings). Worker threads do not inherit the module hooks that run
// TypeScript, so this registers them before loading the thread's own module,
// which workerData.entry names (a file URL).
import { register } from 'node:module';
import { workerData } from 'node:worker_threads';

register('../../bin/ts-hooks.mjs', import.meta.url);
await import(workerData.entry);
