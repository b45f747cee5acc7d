import { Packr, Unpackr, type Options } from 'msgpackr';
import { ProtocolError } from '../core/index.ts';
import { findNonJson } from '../episodes/json-data.ts';

/** WebSocket subprotocols: JSON text frames (the default when none is asked for) or standard msgpack binary frames. */
export const SUBPROTOCOLS = { json: 'selfplay.v1.json', msgpack: 'selfplay.v1.msgpack' } as const;
export type WireFormat = keyof typeof SUBPROTOCOLS;

/** The largest frame a peer may send the server. */
export const MAX_FRAME_BYTES = 64 * 1024;

// Plain msgpack maps (no msgpackr record extension) so that any language's msgpack library reads them.
const packr = new Packr({ useRecords: false, skipValues: [undefined] } as Options & { skipValues: unknown[] });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export function formatOfSubprotocol(protocol: string): WireFormat {
  return protocol === SUBPROTOCOLS.msgpack ? 'msgpack' : 'json';
}

export function encodeFrame(message: unknown, format: WireFormat): string | Buffer {
  return format === 'msgpack' ? packr.pack(message) : JSON.stringify(message);
}

/**
 * Decodes one frame; throws ProtocolError when it is not a JSON (text) or
 * msgpack (binary) value, or when it holds something that is not JSON data
 * (msgpack binary or extension values, NaN, lone surrogates): what an agent
 * sends may end up in an episode, and episodes are JSON data.
 */
export function decodeFrame(data: Buffer, isBinary: boolean, format: WireFormat): unknown {
  const value = decodeValue(data, isBinary, format);
  const problem = findNonJson(value);
  if (problem) throw new ProtocolError(`frame holds a value that is not JSON data at ${problem.path.join('.') || 'the top'}: ${problem.message}`);
  return value;
}

/**
 * Decodes one frame from the server; throws ProtocolError when it is not a
 * JSON (text) or msgpack (binary) value. A client keeps nothing in
 * episodes, so it does not look for values that are not JSON data.
 */
export function decodeValue(data: Buffer, isBinary: boolean, format: WireFormat): unknown {
  if (format === 'msgpack') {
    if (!isBinary) throw new ProtocolError('expected a binary msgpack frame (the connection uses the msgpack subprotocol), got a text frame');
    try {
      return unpackr.unpack(data);
    } catch (error) {
      throw new ProtocolError(`frame is not valid msgpack: ${(error as Error).message}`);
    }
  }
  if (isBinary) throw new ProtocolError(`expected a JSON text frame, got a binary frame (ask for the ${SUBPROTOCOLS.msgpack} subprotocol to send msgpack)`);
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (error) {
    throw new ProtocolError(`frame is not valid JSON: ${(error as Error).message}`);
  }
}

/** ws hands over a Buffer, a list of fragments or an ArrayBuffer depending on its binaryType. */
export function frameBytes(data: Buffer | ArrayBuffer | Buffer[]): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
