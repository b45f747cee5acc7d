import { Packr, Unpackr, type Options } from 'msgpackr';
import { ProtocolError } from '../core/index.ts';
import { findNonJson, MAX_JSON_DEPTH } from '../episodes/json-data.ts';

/** WebSocket subprotocols: JSON text frames (the default when none is asked for) or standard msgpack binary frames. */
export const SUBPROTOCOLS = { json: 'selfplay.v1.json', msgpack: 'selfplay.v1.msgpack' } as const;
export type WireFormat = keyof typeof SUBPROTOCOLS;

/** The largest frame a peer may send the server. */
export const MAX_FRAME_BYTES = 64 * 1024;

// Plain msgpack maps (no msgpackr record extension) so that any language's msgpack library reads them.
const packr = new Packr({ useRecords: false, skipValues: [undefined] } as Options & { skipValues: unknown[] });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });
// What the server reads: maps as Maps, so that a key that is not a string is seen (decoded as an object, 1 would become "1").
const mapUnpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: 'number' });

const at = (path: readonly (string | number)[]) => path.join('.') || 'the top';

/**
 * A decoded msgpack value with its maps as plain objects; ProtocolError for
 * a map key that is not a string (JSON objects have only string keys, and an
 * agent's data must read the same in both encodings) and for data nested
 * deeper than episodes may hold. Values that are not JSON data otherwise
 * (binary, extensions) are left for findNonJson.
 */
function plainMaps(value: unknown, path: (string | number)[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (path.length >= MAX_JSON_DEPTH) throw new ProtocolError(`frame holds data nested more than ${MAX_JSON_DEPTH} levels deep at ${at(path.slice(0, 8))}…`);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      path.push(i);
      value[i] = plainMaps(value[i], path);
      path.pop();
    }
    return value;
  }
  if (!(value instanceof Map)) return value;
  const object: Record<string, unknown> = {};
  for (const [key, item] of value) {
    if (typeof key !== 'string') {
      throw new ProtocolError(`frame holds a map key that is not a string at ${at(path)}: ${typeof key === 'number' ? key : typeof key} (msgpack maps must have string keys, as JSON objects do)`);
    }
    if (key === '__proto__') throw new ProtocolError(`frame holds the key "__proto__" at ${at(path)}, which is not allowed`);
    path.push(key);
    object[key] = plainMaps(item, path);
    path.pop();
  }
  return object;
}

export function formatOfSubprotocol(protocol: string): WireFormat {
  return protocol === SUBPROTOCOLS.msgpack ? 'msgpack' : 'json';
}

export function encodeFrame(message: unknown, format: WireFormat): string | Buffer {
  return format === 'msgpack' ? packr.pack(message) : JSON.stringify(message);
}

/**
 * Decodes one frame; throws ProtocolError when it is not a JSON (text) or
 * msgpack (binary) value, or when it holds something that is not JSON data
 * (msgpack binary or extension values, map keys that are not strings, NaN,
 * lone surrogates): what an agent sends may end up in an episode, and
 * episodes are JSON data.
 */
export function decodeFrame(data: Buffer, isBinary: boolean, format: WireFormat): unknown {
  const value = format === 'msgpack' && isBinary ? plainMaps(unpackMaps(data), []) : decodeValue(data, isBinary, format);
  const problem = findNonJson(value);
  if (problem) throw new ProtocolError(`frame holds a value that is not JSON data at ${problem.path.join('.') || 'the top'}: ${problem.message}`);
  return value;
}

function unpackMaps(data: Buffer): unknown {
  try {
    return mapUnpackr.unpack(data);
  } catch (error) {
    throw new ProtocolError(`frame is not valid msgpack: ${(error as Error).message}`);
  }
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
