import type { AddressInfo, Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { payloadOf, serverFrames } from '../../src/tournament/outgoing-frames.ts';
import type { WireFormat } from '../../src/tournament/wire.ts';

/**
 * The frames go through a real ws connection on loopback: the server writes
 * them straight to its socket, and the ws client, an independent reader of
 * RFC 6455, must read back the same messages in the same order.
 */
describe('server frames written back to back', () => {
  let server: WebSocketServer;
  let url: string;
  /** The next batch to write, for the connection the test opens. */
  let batch: { payloads: (string | Buffer)[]; format: WireFormat };

  beforeAll(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('connection', (ws) => {
      (ws as unknown as { _socket: Socket })._socket.write(serverFrames(batch.payloads.map(payloadOf), batch.format));
    });
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  /** What a ws client receives for the batch: text as strings, binary as buffers. */
  const receive = (payloads: (string | Buffer)[], format: WireFormat) =>
    new Promise<(string | Buffer)[]>((resolve, reject) => {
      batch = { payloads, format };
      const got: (string | Buffer)[] = [];
      const client = new WebSocket(url, { maxPayload: 1 << 20 });
      client.on('message', (data, isBinary) => {
        got.push(isBinary ? (data as Buffer) : (data as Buffer).toString('utf8'));
        if (got.length === payloads.length) {
          client.close();
          resolve(got);
        }
      });
      client.on('error', reject);
    });

  it('reads every payload length class (7-bit, 16-bit and 64-bit lengths) and multi-byte text', async () => {
    const lengths = [0, 1, 125, 126, 127, 65_535, 65_536, 70_000];
    const texts = [...lengths.map((n) => 'x'.repeat(n)), 'é', '日本語 🂡 texte accentué', `${'é'.repeat(62)}a`, 'é'.repeat(32_768)];
    expect(await receive(texts, 'json')).toEqual(texts);
    const bytes = lengths.map((n) => Buffer.alloc(n, n % 251));
    expect(await receive(bytes, 'msgpack')).toEqual(bytes);
  });

  it('reads random batches of random text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme', maxLength: 300 }), { minLength: 1, maxLength: 8 }), async (texts) => {
        expect(await receive(texts, 'json')).toEqual(texts);
      }),
      { numRuns: 40 },
    );
  });
});
