import type { ChildProcess } from 'node:child_process';
import { afterEach } from 'vitest';
import { startNats } from './nats-server.ts';

/**
 * For a test file whose tests start a NATS server and processes: `start()`
 * starts the test's server, and `children` takes the processes to kill. Both
 * are stopped after each test, even one that timed out (a test's own
 * `finally` would wait for what timed out).
 */
export function natsPerTest() {
  const children: ChildProcess[] = [];
  let server: Awaited<ReturnType<typeof startNats>> | undefined;
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill('SIGKILL');
    await server?.stop();
    server = undefined;
  });
  return { children, start: async () => (server = await startNats()) };
}
