import { Observable, Subject } from 'rxjs';
import WebSocket from 'ws';
import { ProtocolError, type TabularPolicy } from '../core/index.ts';
import { msgpackPackr, msgpackUnpackr } from '../episodes/codec.ts';
import type { Episode } from '../episodes/episode.ts';
import type { IngestResult } from './episode-trainer.ts';

export type Ack = IngestResult & { readonly id: string };

export interface TrainerClient {
  /** Sends an episode; resolves with the trainer's acknowledgement. */
  send(episode: Episode): Promise<Ack>;
  /** The trainer's current policy and its version. */
  policy(): Promise<{ version: number; policy: TabularPolicy }>;
  /** Each new version the trainer publishes. */
  readonly versions$: Observable<{ version: number; samples: number; [metric: string]: unknown }>;
  close(): void;
}

/** Connects to `selfplay trainer serve`. Replies come in request order, so each request awaits its own. */
export async function connectTrainer(url: string): Promise<TrainerClient> {
  const socket = new WebSocket(url);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  const waiting: { resolve: (value: unknown) => void; reject: (error: Error) => void }[] = [];
  const versions$ = new Subject<{ version: number; samples: number; [metric: string]: unknown }>();
  socket.on('message', (data) => {
    const message = msgpackUnpackr.unpack(data as Buffer);
    if (message.type === 'version') return versions$.next(message);
    const next = waiting.shift();
    if (!next) return;
    if (message.type === 'error') next.reject(new ProtocolError(message.message));
    else next.resolve(message);
  });
  socket.on('close', () => {
    versions$.complete();
    for (const w of waiting.splice(0)) w.reject(new ProtocolError('the trainer closed the connection'));
  });
  const ask = <T>(message: unknown) =>
    new Promise<T>((resolve, reject) => {
      waiting.push({ resolve: resolve as (value: unknown) => void, reject });
      socket.send(msgpackPackr.pack(message));
    });
  return {
    send: (episode) => ask<{ type: 'ack' } & Ack>({ type: 'episode', episode }),
    policy: () => ask<{ type: 'policy'; version: number; policy: TabularPolicy }>({ type: 'policy' }),
    versions$: versions$.asObservable(),
    close: () => socket.close(),
  };
}
