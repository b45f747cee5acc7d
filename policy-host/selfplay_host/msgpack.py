"""A small msgpack codec: the subset the training endpoints use.

Supported: nil, bool, int (every width), float32/float64, str, bin, array and
map. Extension types (timestamps included) and the reserved byte 0xc1 are
rejected with a `MsgpackError`. Decoding is bounded: nesting depth, a
container never claims more elements than bytes remain, and optionally the
number of decoded objects (`max_objects`: an allocation budget, since a
one-byte empty array becomes a Python list of about 64 bytes) and the elements
of any one array or map (`max_length`). Both are checked when a container's
header is read, before its elements are decoded.
"""

from __future__ import annotations

import struct

MAX_DEPTH = 32

_U8, _U16, _U32, _U64 = struct.Struct('>B'), struct.Struct('>H'), struct.Struct('>I'), struct.Struct('>Q')
_I8, _I16, _I32, _I64 = struct.Struct('>b'), struct.Struct('>h'), struct.Struct('>i'), struct.Struct('>q')
_F32, _F64 = struct.Struct('>f'), struct.Struct('>d')


class MsgpackError(ValueError):
    """The bytes are not msgpack this codec accepts, or a value cannot be encoded."""


class MsgpackLimitError(MsgpackError):
    """Valid msgpack, but more objects (`max_objects`) or a longer container (`max_length`) than the caller accepts."""


# ---------------------------------------------------------------- encoding

def packb(value: object) -> bytes:
    out = bytearray()
    _pack(value, out, 0)
    return bytes(out)


def _pack(value: object, out: bytearray, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise MsgpackError(f'nesting deeper than {MAX_DEPTH} levels')
    if value is None:
        out.append(0xC0)
    elif value is True:
        out.append(0xC3)
    elif value is False:
        out.append(0xC2)
    elif isinstance(value, int):
        _pack_int(value, out)
    elif isinstance(value, float):
        out.append(0xCB)
        out += _F64.pack(value)
    elif isinstance(value, str):
        data = value.encode('utf-8')
        if len(data) < 32:
            out.append(0xA0 | len(data))
        else:
            _pack_length(len(data), (0xD9, 0xDA, 0xDB), 'string', out)
        out += data
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        _pack_length(len(data), (0xC4, 0xC5, 0xC6), 'binary', out)
        out += data
    elif isinstance(value, (list, tuple)):
        _pack_header(len(value), 0x90, 0xDC, 0xDD, out)
        for item in value:
            _pack(item, out, depth + 1)
    elif isinstance(value, dict):
        _pack_header(len(value), 0x80, 0xDE, 0xDF, out)
        for key, item in value.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise MsgpackError(f'map keys must be str or int, not {type(key).__name__}')
            _pack(key, out, depth + 1)
            _pack(item, out, depth + 1)
    else:
        raise MsgpackError(f'cannot encode a value of type {type(value).__name__}')


def _pack_length(n: int, markers: tuple[int, int, int], what: str, out: bytearray) -> None:
    """A str or bin length with the marker for its 8-, 16- or 32-bit width."""
    if n < 0x100:
        out.append(markers[0])
        out += _U8.pack(n)
    elif n < 0x10000:
        out.append(markers[1])
        out += _U16.pack(n)
    elif n < 0x100000000:
        out.append(markers[2])
        out += _U32.pack(n)
    else:
        raise MsgpackError(f'{what} longer than 2^32 - 1 bytes')


def _pack_int(value: int, out: bytearray) -> None:
    if 0 <= value < 0x80:
        out.append(value)
    elif -32 <= value < 0:
        out.append(value & 0xFF)
    elif value >= 0:
        if value < 0x100:
            out += b'\xcc' + _U8.pack(value)
        elif value < 0x10000:
            out += b'\xcd' + _U16.pack(value)
        elif value < 0x100000000:
            out += b'\xce' + _U32.pack(value)
        elif value < 0x10000000000000000:
            out += b'\xcf' + _U64.pack(value)
        else:
            raise MsgpackError(f'integer {value} does not fit in 64 bits')
    elif value >= -0x80:
        out += b'\xd0' + _I8.pack(value)
    elif value >= -0x8000:
        out += b'\xd1' + _I16.pack(value)
    elif value >= -0x80000000:
        out += b'\xd2' + _I32.pack(value)
    elif value >= -0x8000000000000000:
        out += b'\xd3' + _I64.pack(value)
    else:
        raise MsgpackError(f'integer {value} does not fit in 64 bits')


def _pack_header(n: int, fix: int, b16: int, b32: int, out: bytearray) -> None:
    if n < 16:
        out.append(fix | n)
    elif n < 0x10000:
        out.append(b16)
        out += _U16.pack(n)
    elif n < 0x100000000:
        out.append(b32)
        out += _U32.pack(n)
    else:
        raise MsgpackError('container with more than 2^32 - 1 elements')


# ---------------------------------------------------------------- decoding

# Fixed-width scalars: first byte -> (struct, size).
_SCALARS = {
    0xCA: _F32, 0xCB: _F64,
    0xCC: _U8, 0xCD: _U16, 0xCE: _U32, 0xCF: _U64,
    0xD0: _I8, 0xD1: _I16, 0xD2: _I32, 0xD3: _I64,
}
_EXT = {0xC7, 0xC8, 0xC9, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8}


def unpackb(data: bytes, max_depth: int = MAX_DEPTH, max_objects: int | None = None, max_length: int | None = None) -> object:
    """Decodes exactly one value; trailing bytes are an error.

    `max_objects` bounds the values decoded, counting every one: the top-level
    value and each element of every array, each key and each value of every map.
    `max_length` bounds the elements (map entries) of any one container.
    """
    view = memoryview(data)
    value, pos = _Decoder(view, max_depth, max_objects, max_length).decode(0, 0)
    if pos != len(view):
        raise MsgpackError(f'{len(view) - pos} trailing bytes after the value')
    return value


class _Decoder:
    def __init__(self, data: memoryview, max_depth: int, max_objects: int | None, max_length: int | None):
        self.data = data
        self.end = len(data)
        self.max_depth = max_depth
        self.max_objects = max_objects
        self.max_length = max_length
        self.objects = 1  # the top-level value

    def need(self, pos: int, n: int) -> None:
        if pos + n > self.end:
            raise MsgpackError(f'truncated: needs {n} bytes at offset {pos}, {self.end - pos} left')

    def length(self, st: struct.Struct, pos: int) -> tuple[int, int]:
        self.need(pos, st.size)
        return st.unpack_from(self.data, pos)[0], pos + st.size

    def raw(self, pos: int, n: int) -> tuple[bytes, int]:
        self.need(pos, n)
        return bytes(self.data[pos:pos + n]), pos + n

    def text(self, pos: int, n: int) -> tuple[str, int]:
        raw, pos = self.raw(pos, n)
        try:
            return raw.decode('utf-8'), pos
        except UnicodeDecodeError as error:
            raise MsgpackError(f'str at offset {pos - n} is not UTF-8: {error.reason}') from None

    def decode(self, pos: int, depth: int) -> tuple[object, int]:
        self.need(pos, 1)
        b = self.data[pos]
        pos += 1
        if b <= 0x7F:
            return b, pos
        if b >= 0xE0:
            return b - 0x100, pos
        if 0xA0 <= b <= 0xBF:
            return self.text(pos, b & 0x1F)
        if 0x90 <= b <= 0x9F:
            return self.array(pos, b & 0x0F, depth)
        if 0x80 <= b <= 0x8F:
            return self.map(pos, b & 0x0F, depth)
        if b == 0xC0:
            return None, pos
        if b == 0xC2:
            return False, pos
        if b == 0xC3:
            return True, pos
        st = _SCALARS.get(b)
        if st is not None:
            self.need(pos, st.size)
            return st.unpack_from(self.data, pos)[0], pos + st.size
        if b in (0xD9, 0xDA, 0xDB):
            n, pos = self.length((_U8, _U16, _U32)[b - 0xD9], pos)
            return self.text(pos, n)
        if b in (0xC4, 0xC5, 0xC6):
            n, pos = self.length((_U8, _U16, _U32)[b - 0xC4], pos)
            return self.raw(pos, n)
        if b in (0xDC, 0xDD):
            n, pos = self.length(_U16 if b == 0xDC else _U32, pos)
            return self.array(pos, n, depth)
        if b in (0xDE, 0xDF):
            n, pos = self.length(_U16 if b == 0xDE else _U32, pos)
            return self.map(pos, n, depth)
        if b in _EXT:
            raise MsgpackError(f'extension types are not supported (byte 0x{b:02x} at offset {pos - 1})')
        raise MsgpackError(f'byte 0x{b:02x} at offset {pos - 1} is not a msgpack type')

    def enter(self, pos: int, n: int, per_item: int, depth: int) -> None:
        if depth + 1 > self.max_depth:
            raise MsgpackError(f'nesting deeper than {self.max_depth} levels')
        # Every element takes at least one byte: a header cannot make us allocate more than the input.
        if n * per_item > self.end - pos:
            raise MsgpackError(f'container at offset {pos} claims {n} elements but only {self.end - pos} bytes remain')
        if self.max_length is not None and n > self.max_length:
            raise MsgpackLimitError(f'{"map" if per_item == 2 else "array"} at offset {pos} has {n} elements; at most {self.max_length} are accepted')
        # Its elements are counted before any is decoded, so the budget bounds what is allocated.
        self.objects += n * per_item
        if self.max_objects is not None and self.objects > self.max_objects:
            raise MsgpackLimitError(f'more than {self.max_objects} objects, the most accepted here (every array, map, key and '
                                    f'scalar counts; the container at offset {pos} brings the count to {self.objects})')

    def array(self, pos: int, n: int, depth: int) -> tuple[list, int]:
        self.enter(pos, n, 1, depth)
        items = []
        append = items.append
        data = self.data
        for _ in range(n):
            # Inline the most common case (small ints, e.g. token ids) for speed.
            if pos < self.end and data[pos] <= 0x7F:
                append(data[pos])
                pos += 1
                continue
            value, pos = self.decode(pos, depth + 1)
            append(value)
        return items, pos

    def map(self, pos: int, n: int, depth: int) -> tuple[dict, int]:
        self.enter(pos, n, 2, depth)
        result: dict = {}
        for _ in range(n):
            key_at = pos
            key, pos = self.decode(pos, depth + 1)
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise MsgpackError(f'map key at offset {key_at} is a {type(key).__name__}; only str and int keys are accepted')
            if key in result:
                raise MsgpackError(f'duplicate map key {key!r} at offset {key_at}')
            result[key], pos = self.decode(pos, depth + 1)
        return result, pos
