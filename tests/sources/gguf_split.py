"""Split a GGUF file in llama.cpp's split format (what `llama-gguf-split --split` writes): every part is a
GGUF file of its own, named PREFIX-0000N-of-0000M.gguf; the first carries all the metadata, each carries
`split.no`, `split.count` and `split.tensors.count`, and the tensors are shared out between them."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

_SCALARS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}  # GGUF value type -> size
_STRING, _ARRAY, _UINT16, _UINT32, _INT32 = 8, 9, 2, 4, 5


@dataclass
class _Tensor:
    info: bytes  # name, dims and type, as in the file, without the offset
    offset: int
    size: int = 0


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return int(value)

    def string(self) -> bytes:
        size = self.take("Q")
        self.pos += size
        return self.data[self.pos - size:self.pos]

    def skip_value(self, kind: int) -> None:
        if kind == _STRING:
            self.string()
        elif kind == _ARRAY:
            item, count = self.take("I"), self.take("Q")
            if item in _SCALARS:
                self.pos += _SCALARS[item] * count
            else:
                for _ in range(count):
                    self.skip_value(item)
        else:
            self.pos += _SCALARS[kind]


def _kv(key: str, kind: int, fmt: str, value: int) -> bytes:
    return struct.pack("<Q", len(key)) + key.encode() + struct.pack("<I" + fmt, kind, value)


def split_gguf(source: Path, folder: Path, parts: int = 2) -> list[Path]:
    """Write `source` as `parts` split files in `folder`; their paths, the first one first."""
    data = source.read_bytes()
    reader = _Reader(data)
    assert data[:4] == b"GGUF", "not a GGUF file"
    reader.pos = 4
    version, n_tensors, n_kv = reader.take("I"), reader.take("Q"), reader.take("Q")
    kvs, alignment_kv, alignment = [], b"", 32
    for _ in range(n_kv):
        start = reader.pos
        key = reader.string().decode()
        kind = reader.take("I")
        if key == "general.alignment":
            alignment = struct.unpack_from("<I", data, reader.pos)[0]
        reader.skip_value(kind)
        kvs.append(data[start:reader.pos])
        if key == "general.alignment":
            alignment_kv = kvs[-1]
    tensors = []
    for _ in range(n_tensors):
        start = reader.pos
        reader.string()
        dims = reader.take("I")
        reader.pos += 8 * dims + 4
        info = data[start:reader.pos]
        tensors.append(_Tensor(info, reader.take("Q")))
    data_start = -(-reader.pos // alignment) * alignment
    ends = [*sorted(t.offset for t in tensors)[1:], len(data) - data_start]
    for tensor, end in zip(sorted(tensors, key=lambda t: t.offset), ends, strict=True):
        tensor.size = end - tensor.offset
    stem = source.name.removesuffix(".gguf")
    share = -(-len(tensors) // parts)
    paths = []
    for index in range(parts):
        mine = tensors[index * share:(index + 1) * share]
        meta = list(kvs) if index == 0 else ([alignment_kv] if alignment_kv else [])
        meta += [_kv("split.no", _UINT16, "H", index), _kv("split.count", _UINT16, "H", parts),
                 _kv("split.tensors.count", _INT32, "i", len(tensors))]
        head = b"GGUF" + struct.pack("<IQQ", version, len(mine), len(meta)) + b"".join(meta)
        offset, body = 0, []
        for tensor in mine:
            head += tensor.info + struct.pack("<Q", offset)
            chunk = data[data_start + tensor.offset:data_start + tensor.offset + tensor.size]
            chunk += b"\x00" * (-len(chunk) % alignment)
            body.append(chunk)
            offset += len(chunk)
        head += b"\x00" * (-len(head) % alignment)
        path = folder / f"{stem}-{index + 1:05d}-of-{parts:05d}.gguf"
        path.write_bytes(head + b"".join(body))
        paths.append(path)
    return paths
