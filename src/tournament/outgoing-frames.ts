import type { WireFormat } from './wire.ts';

/** A message encoded for the wire, with its size in bytes. */
export interface Payload {
  readonly data: string | Buffer;
  readonly bytes: number;
}

export function payloadOf(data: string | Buffer): Payload {
  return { data, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.length };
}

/** The bytes a payload takes as a server frame: its header (RFC 6455, section 5.2; server frames are not masked) and itself. */
export function framedBytes({ bytes }: Payload): number {
  return (bytes < 126 ? 2 : bytes < 65_536 ? 4 : 10) + bytes;
}

/**
 * Payloads back to back as final, unmasked WebSocket frames (text for JSON,
 * binary for msgpack) in one buffer. ws would build each frame apart (a
 * header buffer, a copy of the payload, two stream writes); a flush of
 * several messages costs one buffer and one write this way.
 */
export function serverFrames(payloads: readonly Payload[], format: WireFormat): Buffer {
  let total = 0;
  for (const payload of payloads) total += framedBytes(payload);
  const out = Buffer.allocUnsafe(total);
  const opcode = format === 'msgpack' ? 0x82 : 0x81;
  let at = 0;
  for (const { data, bytes } of payloads) {
    out[at++] = opcode;
    if (bytes < 126) out[at++] = bytes;
    else if (bytes < 65_536) {
      out[at++] = 126;
      at = out.writeUInt16BE(bytes, at);
    } else {
      out[at++] = 127;
      at = out.writeBigUInt64BE(BigInt(bytes), at);
    }
    at += typeof data === 'string' ? out.write(data, at, 'utf8') : data.copy(out, at);
  }
  return out;
}
