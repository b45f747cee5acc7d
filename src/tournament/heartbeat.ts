import type { WebSocket } from 'ws';

/**
 * Pings every socket each interval; one that has not answered the previous
 * ping by then is dead (a vanished peer, a half-open TCP connection) and is
 * terminated, which fires its close handler.
 */
export function startHeartbeat(sockets: () => Iterable<WebSocket>, intervalMs: number): () => void {
  const waiting = new WeakSet<WebSocket>();
  const seen = new WeakSet<WebSocket>();
  const timer = setInterval(() => {
    for (const ws of sockets()) {
      if (!seen.has(ws)) {
        seen.add(ws);
        ws.on('pong', () => waiting.delete(ws));
      }
      if (waiting.has(ws)) {
        ws.terminate();
        continue;
      }
      waiting.add(ws);
      ws.ping();
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
