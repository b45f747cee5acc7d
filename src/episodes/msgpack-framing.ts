/** valueEnd's answer when the bytes stop inside the value. */
export const INCOMPLETE = -1;

/** A msgpack type that JSON has no counterpart for (bin, ext, or the never-used 0xc1): no episode holds one. */
export class NotJsonMsgpackError extends Error {
  constructor(
    readonly position: number,
    readonly byte: number,
  ) {
    super(`0x${byte.toString(16)} at byte ${position} is a msgpack type JSON has no counterpart for (bin, ext or 0xc1)`);
  }
}

/** Reads a big-endian unsigned length of `width` bytes after the type byte at `at`, or INCOMPLETE. */
function lengthAfter(bytes: Uint8Array, at: number, width: 1 | 2 | 4): number {
  if (at + width >= bytes.length) return INCOMPLETE;
  if (width === 1) return bytes[at + 1];
  if (width === 2) return (bytes[at + 1] << 8) | bytes[at + 2];
  return bytes[at + 1] * 0x1000000 + ((bytes[at + 2] << 16) | (bytes[at + 3] << 8) | bytes[at + 4]);
}

/**
 * Where the msgpack value that starts at `start` ends, found from its headers
 * without decoding it, or INCOMPLETE if `bytes` ends first. Throws
 * NotJsonMsgpackError for a type JSON has no counterpart for.
 */
export function valueEnd(bytes: Uint8Array, start: number): number {
  let position = start;
  let pending = 1; // values still to pass, nested ones included
  while (pending > 0) {
    if (position >= bytes.length) return INCOMPLETE;
    const byte = bytes[position];
    pending--;
    if (byte <= 0x7f || byte >= 0xe0) {
      position += 1; // fixint
    } else if (byte <= 0x8f) {
      pending += 2 * (byte & 0x0f); // fixmap
      position += 1;
    } else if (byte <= 0x9f) {
      pending += byte & 0x0f; // fixarray
      position += 1;
    } else if (byte <= 0xbf) {
      position += 1 + (byte & 0x1f); // fixstr
    } else {
      let length: number;
      switch (byte) {
        case 0xc0: // nil, false, true
        case 0xc2:
        case 0xc3:
          position += 1;
          break;
        case 0xcc: // uint8, int8
        case 0xd0:
          position += 2;
          break;
        case 0xcd: // uint16, int16
        case 0xd1:
          position += 3;
          break;
        case 0xca: // float32, uint32, int32
        case 0xce:
        case 0xd2:
          position += 5;
          break;
        case 0xcb: // float64, uint64, int64
        case 0xcf:
        case 0xd3:
          position += 9;
          break;
        case 0xd9: // str8, str16, str32
        case 0xda:
        case 0xdb: {
          const width = byte === 0xd9 ? 1 : byte === 0xda ? 2 : 4;
          if ((length = lengthAfter(bytes, position, width)) === INCOMPLETE) return INCOMPLETE;
          position += 1 + width + length;
          break;
        }
        case 0xdc: // array16, array32
        case 0xdd: {
          const width = byte === 0xdc ? 2 : 4;
          if ((length = lengthAfter(bytes, position, width)) === INCOMPLETE) return INCOMPLETE;
          pending += length;
          position += 1 + width;
          break;
        }
        case 0xde: // map16, map32
        case 0xdf: {
          const width = byte === 0xde ? 2 : 4;
          if ((length = lengthAfter(bytes, position, width)) === INCOMPLETE) return INCOMPLETE;
          pending += 2 * length;
          position += 1 + width;
          break;
        }
        default:
          throw new NotJsonMsgpackError(position, byte);
      }
    }
  }
  return position <= bytes.length ? position : INCOMPLETE;
}
