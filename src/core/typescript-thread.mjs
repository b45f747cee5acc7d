// The entry of our worker threads (the tournament's database writer and
// official ratings, the episode writer's thread). Worker threads do not
// inherit the module hooks that run TypeScript, so when the thread's own
// module (workerData.entry, a file URL) is TypeScript, as in a checkout, this
// registers them before loading it; the build's modules are JavaScript and
// need none.
import { register } from 'node:module';
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) register('../../bin/ts-hooks.mjs', import.meta.url, { data: { source: true } });
await import(workerData.entry);
