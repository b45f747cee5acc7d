import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './run-cli.ts';

// What a user can get wrong on the command line is one line on stderr and exit status 2, never a stack trace.
describe('usage errors', () => {
  let taken: Server;
  let port: number;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    port = (taken.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => taken.close(() => resolve())));

  it('replay of a file that is not there', async () => {
    const { code, err } = await runCli('replay', 'test/.tmp/no-such-file.msgpack');
    expect(code).toBe(2);
    expect(err).toMatch(/^error: no such file: .*no-such-file\.msgpack$/);
  });

  it('llm-stub and trainer serve on a port in use', async () => {
    for (const args of [['llm-stub', '--port', String(port)], ['trainer', 'serve', 'kuhn-poker', '--port', String(port)]]) {
      const { code, err } = await runCli(...args);
      expect(code, args.join(' ')).toBe(2);
      expect(err).toBe(`error: cannot listen on 127.0.0.1:${port}: the address is in use (another server? pick another --port, or 0 for any free one)`);
    }
  });
});
