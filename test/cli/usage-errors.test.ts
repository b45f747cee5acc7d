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

  it('play whose every match ends in error says why, and exits 1', async () => {
    // A port nothing listens on (free a moment ago): each match ends in error as the llm agent gives up.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const free = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const spec = `llm:model=x,base=http://127.0.0.1:${free}/v1,retries=0`;
    const { code, err } = await runCli('play', 'kuhn-poker', '--matches', '4', '--agent', spec, '--agent', 'random');
    expect(code).toBe(1);
    expect(err).toMatch(/^4 of 4 matches ended in error:\n  2 x seat 0 .* reported an error: .*\n  2 x seat 1 /);
  });

  it("play's help lists every agent kind and one default for --agent", async () => {
    const { out } = await runCli('play', '--help');
    const help = out.replace(/\s+/g, ' ');
    for (const kind of ['random', 'mcts', 'tabular:policy=FILE', 'llm:model=NAME', 'human']) expect(help).toContain(kind);
    expect(help).not.toContain('(default: [])');
  });
});
