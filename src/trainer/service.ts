import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { listenError } from '../core/index.ts';
import { msgpackPackr, msgpackUnpackr } from '../episodes/codec.ts';
import { episodeProblem, type Episode } from '../episodes/index.ts';
import type { EpisodeTrainer } from './episode-trainer.ts';

/**
 * The trainer as a service: arenas in other processes or machines stream
 * episodes over a WebSocket (binary frames of standard msgpack) and fetch the
 * latest policy. Every frame is validated; a bad one gets an `error` reply and
 * the connection goes on. Each episode gets an `ack` (accepted, or why not,
 * and the current version); clients bound what they send unacknowledged, which
 * is the backpressure. Every new version is pushed to every client.
 *
 * client -> server: {type: 'episode', episode} | {type: 'policy'}
 * server -> client: {type: 'ack', id, accepted, reason?, version} | {type: 'policy', version, policy}
 *                   | {type: 'version', version, samples, entropy} | {type: 'error', message}
 */
const request = z.discriminatedUnion('type', [z.object({ type: z.literal('episode'), episode: z.unknown() }), z.object({ type: z.literal('policy') })]);

export interface TrainerService {
  readonly url: string;
  close(): Promise<void>;
}

export async function startTrainerService(trainer: EpisodeTrainer, options: { port?: number; host?: string; maxPayload?: number } = {}): Promise<TrainerService> {
  const server = new WebSocketServer({ port: options.port ?? 0, host: options.host ?? '127.0.0.1', maxPayload: options.maxPayload ?? 4 * 1024 * 1024 });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (error) => reject(listenError(options.host ?? '127.0.0.1', options.port ?? 0, error)));
  });
  const send = (socket: WebSocket, message: unknown) => {
    if (socket.readyState === socket.OPEN) socket.send(msgpackPackr.pack(message));
  };
  const versions = trainer.versions$.subscribe((m) => {
    for (const client of server.clients) send(client, { ...m, type: 'version' });
  });

  server.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => {
      let message: z.infer<typeof request>;
      try {
        if (!isBinary) throw new Error('frames are binary msgpack');
        message = request.parse(msgpackUnpackr.unpack(data as Buffer));
      } catch (error) {
        return send(socket, { type: 'error', message: `bad frame: ${(error as Error).message.slice(0, 300)}; expected msgpack {type: "episode", episode} or {type: "policy"}` });
      }
      if (message.type === 'policy') return send(socket, { type: 'policy', version: trainer.version, policy: trainer.backend.policy() });
      const problem = episodeProblem(message.episode);
      if (problem) return send(socket, { type: 'error', message: `bad episode: ${problem}` });
      const episode = message.episode as Episode;
      if (episode.game.id !== trainer.game.id) return send(socket, { type: 'error', message: `this trainer learns ${trainer.game.id}, not ${episode.game.id}` });
      const ack = trainer.ingest(episode);
      send(socket, { type: 'ack', id: episode.id, ...ack });
    });
  });

  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://${options.host ?? '127.0.0.1'}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        versions.unsubscribe();
        for (const client of server.clients) client.terminate();
        server.close(() => resolve());
      }),
  };
}
