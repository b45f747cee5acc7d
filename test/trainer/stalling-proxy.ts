import { createConnection, createServer, type Socket } from 'node:net';

export interface StallingProxy {
  /** Where clients connect: `nats://127.0.0.1:port`. */
  readonly url: string;
  /** Stalls begun so far. */
  readonly stalls: number;
  close(): Promise<void>;
}

/**
 * A loopback TCP proxy to the NATS server at `target` that, the first time a
 * client sends `trigger` (a subject, say), stops passing the server's bytes
 * to that client for `stallMs`: a server that takes that long to answer,
 * as a busy or overloaded one does. Nothing is lost; the answers arrive late.
 */
export async function stallingProxy(target: string, trigger: string, stallMs: number): Promise<StallingProxy> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let stalls = 0;
  let triggered = false;
  const server = createServer((client) => {
    const upstream = createConnection({ host: hostname, port: Number(port) });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    let tail = '';
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      const seen = tail + chunk.toString('latin1');
      tail = seen.slice(-trigger.length);
      if (triggered || !seen.includes(trigger)) return;
      triggered = true;
      stalls++;
      upstream.pause();
      const timer = setTimeout(() => {
        timers.delete(timer);
        upstream.resume();
      }, stallMs);
      timers.add(timer);
    });
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('the proxy has no port');
  return {
    url: `nats://127.0.0.1:${address.port}`,
    get stalls() {
      return stalls;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
