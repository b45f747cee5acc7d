import { MAX_JSON_DEPTH } from './json-data.ts';

/**
 * A msgpack encoder for JSON data that checks while it encodes. It writes
 * the very bytes `msgpackPackr.pack` writes (standard msgpack: the smallest
 * header for each string, array and map, integers of 32 bits or less in the
 * smallest integer type, -0 as 0, every other number as float64, undefined
 * object properties left out) in one walk of the value, where checking the
 * value (findNonJson) and packing it cost two; and it writes into a buffer
 * of the caller's, so that episodes bound for a file need no copy of their
 * own. Anything that is not JSON data (what findNonJson refuses) stops the
 * encoding (appendJson returns false), and the caller asks findNonJson
 * where and why.
 */

/** Bytes written so far: `bytes` holds `length` of them, and is replaced by a larger copy when it runs out of room. */
export interface ByteSink {
  bytes: Buffer;
  length: number;
}

const EMPTY = Buffer.allocUnsafe(0);
/** The buffer being written (the sink's, during appendJson); replaced by a larger copy when it runs out of room. */
let target: Buffer = EMPTY;
/** Thrown (no Error, no stack) when the value is not JSON data. */
const notJson = { notJson: true };

/** Makes room for `bytes` more bytes at `at`, keeping the bytes before it; returns the buffer to write. */
function grow(at: number, bytes: number): Buffer {
  const grown = Buffer.allocUnsafe(Math.max(target.length * 2, at + bytes, 256));
  grown.set(target.subarray(0, at));
  return (target = grown);
}

/**
 * Appends `value` to `sink` as one msgpack value and returns true, or returns
 * false if `value` is not JSON data (findNonJson says where and why), leaving
 * the sink's bytes as they were.
 */
export function appendJson(sink: ByteSink, value: unknown): boolean {
  target = sink.bytes;
  let end: number;
  try {
    end = pack(value, sink.length, 0);
  } catch (error) {
    if (error === notJson) return false;
    throw error;
  } finally {
    // A larger copy holds the same bytes before sink.length.
    sink.bytes = target;
    target = EMPTY;
  }
  sink.length = end;
  return true;
}

/** Appends the header of an array of `length` items to `sink` (its items to follow). */
export function appendArrayHeader(sink: ByteSink, length: number): void {
  target = sink.bytes;
  try {
    sink.length = header(length, 0x90, 0xdc, sink.length);
  } finally {
    sink.bytes = target;
    target = EMPTY;
  }
}

/** One JSON value as msgpack, in a buffer of its own, or undefined if it is not JSON data. */
export function encodeJson(value: unknown): Buffer | undefined {
  const sink = { bytes: Buffer.allocUnsafe(256), length: 0 };
  return appendJson(sink, value) ? sink.bytes.subarray(0, sink.length) : undefined;
}

function pack(value: unknown, at: number, depth: number): number {
  switch (typeof value) {
    case 'string':
      return packString(value, at);
    case 'number':
      return packNumber(value, at);
    case 'boolean': {
      const t = at < target.length ? target : grow(at, 1);
      t[at] = value ? 0xc3 : 0xc2;
      return at + 1;
    }
    case 'object': {
      if (value === null) {
        const t = at < target.length ? target : grow(at, 1);
        t[at] = 0xc0;
        return at + 1;
      }
      if (depth >= MAX_JSON_DEPTH) throw notJson;
      if (Array.isArray(value)) return packArray(value, at, depth);
      return packObject(value as Record<string, unknown>, at, depth);
    }
    default:
      throw notJson;
  }
}

function packArray(array: readonly unknown[], at: number, depth: number): number {
  const length = array.length;
  let end = header(length, 0x90, 0xdc, at);
  for (let i = 0; i < length; i++) {
    const item = array[i];
    if (item === undefined) throw notJson;
    end = pack(item, end, depth + 1);
  }
  return end;
}

function packObject(object: Record<string, unknown>, at: number, depth: number): number {
  const prototype = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) throw notJson;
  // msgpackr decodes a "__proto__" key as "__proto_".
  if (Object.hasOwn(object, '__proto__')) throw notJson;
  // The size is known once undefined properties are left out: one byte is kept for
  // the header (fewer than 16 entries, the usual), the entries moved if it must be longer.
  let end = at + 1;
  let size = 0;
  for (const key in object) {
    const item = object[key];
    if (item === undefined || !Object.hasOwn(object, key)) continue;
    end = pack(item, packString(key, end), depth + 1);
    size++;
  }
  if (size < 0x10) {
    // at < end: the entries' bytes are in the buffer, or none and there is room for one.
    const t = at < target.length ? target : grow(at, 1);
    t[at] = 0x80 | size;
    return end;
  }
  const extra = size < 0x10000 ? 2 : 4;
  const t = end + extra <= target.length ? target : grow(end, extra);
  t.copyWithin(at + 1 + extra, at + 1, end);
  header(size, 0x80, 0xde, at);
  return end + extra;
}

/** Writes the header of an array (fix 0x90, 16-bit 0xdc) or map (fix 0x80, 16-bit 0xde) of `length` items at `at`; the 32-bit form is the 16-bit one plus one. */
function header(length: number, fix: number, sixteen: number, at: number): number {
  const t = at + 5 <= target.length ? target : grow(at, 5);
  if (length < 0x10) {
    t[at] = fix | length;
    return at + 1;
  }
  if (length < 0x10000) {
    t[at] = sixteen;
    t[at + 1] = length >> 8;
    t[at + 2] = length & 0xff;
    return at + 3;
  }
  t[at] = sixteen + 1;
  t.writeUInt32BE(length, at + 1);
  return at + 5;
}

function packNumber(value: number, at: number): number {
  const t = at + 9 <= target.length ? target : grow(at, 9);
  if (value >>> 0 === value) {
    // 0 to 2^32 - 1, and -0 (written as 0)
    if (value < 0x80) {
      t[at] = value;
      return at + 1;
    }
    if (value < 0x100) {
      t[at] = 0xcc;
      t[at + 1] = value;
      return at + 2;
    }
    if (value < 0x10000) {
      t[at] = 0xcd;
      t[at + 1] = value >> 8;
      t[at + 2] = value & 0xff;
      return at + 3;
    }
    t[at] = 0xce;
    t.writeUInt32BE(value, at + 1);
    return at + 5;
  }
  if (value >> 0 === value) {
    // -2^31 to -1
    if (value >= -0x20) {
      t[at] = 0x100 + value;
      return at + 1;
    }
    if (value >= -0x80) {
      t[at] = 0xd0;
      t[at + 1] = value + 0x100;
      return at + 2;
    }
    if (value >= -0x8000) {
      t[at] = 0xd1;
      t.writeInt16BE(value, at + 1);
      return at + 3;
    }
    t[at] = 0xd2;
    t.writeInt32BE(value, at + 1);
    return at + 5;
  }
  if (!Number.isFinite(value)) throw notJson;
  t[at] = 0xcb;
  t.writeDoubleBE(value, at + 1);
  return at + 9;
}

function packString(value: string, at: number): number {
  const length = value.length;
  // At most 3 bytes per UTF-16 unit (a surrogate pair is 4 bytes for 2 units), and a header of up to 5.
  const t = at + 5 + 3 * length <= target.length ? target : grow(at, 5 + 3 * length);
  if (length < 0x20) {
    // Keys, cards, actions: behind a one-byte header, moved if the bytes are 32 or more (a str8 header).
    const end = utf8(value, length, t, at + 1);
    const bytes = end - at - 1;
    if (bytes < 0x20) {
      t[at] = 0xa0 | bytes;
      return end;
    }
    t.copyWithin(at + 2, at + 1, end);
    t[at] = 0xd9;
    t[at + 1] = bytes;
    return end + 1;
  }
  if (length < 0x40) {
    // 32 to 189 bytes: a str8 header.
    const end = utf8(value, length, t, at + 2);
    t[at] = 0xd9;
    t[at + 1] = end - at - 2;
    return end;
  }
  if (!value.isWellFormed()) throw notJson;
  // Longer strings: room for the header the most bytes they can take would need, the bytes moved if they take fewer.
  const room = length < 0x100 / 3 ? 2 : 3 * length < 0x10000 ? 3 : 5;
  const bytes = t.write(value, at + room);
  const headerBytes = bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5;
  if (headerBytes !== room) t.copyWithin(at + headerBytes, at + room, at + room + bytes);
  if (headerBytes === 2) {
    t[at] = 0xd9;
    t[at + 1] = bytes;
  } else if (headerBytes === 3) {
    t[at] = 0xda;
    t[at + 1] = bytes >> 8;
    t[at + 2] = bytes & 0xff;
  } else {
    t[at] = 0xdb;
    t.writeUInt32BE(bytes, at + 1);
  }
  return at + headerBytes + bytes;
}

/** Writes the UTF-8 bytes of a string at `at` (room checked); returns where they end. Throws notJson at a lone surrogate. */
function utf8(value: string, length: number, t: Buffer, at: number): number {
  let end = at;
  for (let i = 0; i < length; i++) {
    let c = value.charCodeAt(i);
    if (c < 0x80) {
      t[end++] = c;
    } else if (c < 0x800) {
      t[end++] = (c >> 6) | 0xc0;
      t[end++] = (c & 0x3f) | 0x80;
    } else if ((c & 0xf800) !== 0xd800) {
      t[end++] = (c >> 12) | 0xe0;
      t[end++] = ((c >> 6) & 0x3f) | 0x80;
      t[end++] = (c & 0x3f) | 0x80;
    } else {
      const low = value.charCodeAt(i + 1);
      // A lone surrogate: UTF-8 cannot carry it.
      if (c > 0xdbff || (low & 0xfc00) !== 0xdc00) throw notJson;
      c = 0x10000 + ((c & 0x3ff) << 10) + (low & 0x3ff);
      i++;
      t[end++] = (c >> 18) | 0xf0;
      t[end++] = ((c >> 12) & 0x3f) | 0x80;
      t[end++] = ((c >> 6) & 0x3f) | 0x80;
      t[end++] = (c & 0x3f) | 0x80;
    }
  }
  return end;
}
