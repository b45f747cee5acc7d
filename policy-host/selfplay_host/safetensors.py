"""The safetensors file format (huggingface/safetensors), float32 tensors only: an 8-byte little-endian header
length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}} padded with spaces to a multiple
of 8 bytes, then the tensors' bytes. Debian packages no safetensors module, and this much needs none.
"""

from __future__ import annotations

import json
import struct

import torch

DTYPE = 'F32'


def dumps(tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None) -> bytes:
    header: dict = {'__metadata__': metadata} if metadata else {}
    blobs, offset = [], 0
    for name in sorted(tensors):
        data = tensors[name].detach().to('cpu', torch.float32).contiguous().numpy().astype('<f4').tobytes()
        header[name] = {'dtype': DTYPE, 'shape': list(tensors[name].shape), 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * (-len(text) % 8)
    return struct.pack('<Q', len(text)) + text + b''.join(blobs)


def loads(raw: bytes) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata; a ValueError names what is wrong with a malformed file."""
    if len(raw) < 8:
        raise ValueError('shorter than its 8-byte header length')
    (size,) = struct.unpack('<Q', raw[:8])
    if size > len(raw) - 8:
        raise ValueError(f'its header length ({size}) runs past the end of the file')
    try:
        header = json.loads(raw[8:8 + size])
    except ValueError as error:
        raise ValueError(f'its header is not JSON: {error}') from None
    data = raw[8 + size:]
    metadata = header.pop('__metadata__', None) or {}
    tensors = {}
    for name, entry in header.items():
        if entry.get('dtype') != DTYPE:
            raise ValueError(f'{name}: dtype {entry.get("dtype")!r}; only {DTYPE} is read here')
        start, end = entry['data_offsets']
        shape = entry['shape']
        if not 0 <= start <= end <= len(data) or end - start != 4 * int(torch.tensor(shape).prod()):
            raise ValueError(f'{name}: data_offsets {entry["data_offsets"]} do not hold a {shape} float32 tensor')
        tensors[name] = torch.frombuffer(bytearray(data[start:end]), dtype=torch.float32).reshape(shape).clone()
    return tensors, metadata
