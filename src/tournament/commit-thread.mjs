// The entry of the store's writer thread. Worker threads do not inherit the
// module hooks that run TypeScript, so it registers them before loading the
// writer itself (commit-worker.ts).
import { register } from 'node:module';

register('../../bin/ts-hooks.mjs', import.meta.url);
await import('./commit-worker.ts');
