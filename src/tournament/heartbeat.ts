import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';

/**
 * Pings every socket each interval; one that has not answered the previous
 * ping by then is dead (a vanished peer, a half-open TCP connection) and is
 * terminated, which fires its close handler. Only a pong that echoes the
 * ping's payload, as RFC 6455 has peers do, is an answer: unasked pongs do
 * not keep a peer that stopped reading alive.
 */
export function startHeartbeat(sockets: () => Iterable<WebSocket>, intervalMs: number): () => void {
  /** The payload of the ping each socket has not answered yet. */
  const waiting = new WeakMap<WebSocket, Buffer>();
  const seen = new WeakSet<WebSocket>();
  const timer = setInterval(() => {
    // Unpredictable, so that a peer cannot answer a ping it has not read.
    const payload = randomBytes(8);
    for (const ws of sockets()) {
      if (!seen.has(ws)) {
        seen.add(ws);
        ws.on('pong', (data) => {
          if (waiting.get(ws)?.equals(data)) waiting.delete(ws);
        });
      }
      if (waiting.has(ws)) {
        ws.terminate();
        continue;
      }
      waiting.set(ws, payload);
      ws.ping(payload);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
