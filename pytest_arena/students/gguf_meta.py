"""Reading a GGUF file's metadata (architecture, name, trained context) without loading weights."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

# GGUF value types: (struct format, size) for scalars; 8 = string, 9 = array.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9


class GGUFError(ValueError):
    pass


# What read_metadata keeps: scalars and strings (arrays are skipped).
Scalar = int | float | bool | str


def _read(handle: BinaryIO, fmt: str) -> int | float | bool:
    size = struct.calcsize(fmt)
    data = handle.read(size)
    if len(data) != size:
        raise GGUFError("file ends inside the metadata")
    value: int | float | bool = struct.unpack(fmt, data)[0]
    return value


def _int(handle: BinaryIO, fmt: str) -> int:
    """A count, length, type or offset: an unsigned integer field."""
    return int(_read(handle, fmt))


def _string(handle: BinaryIO) -> str:
    length = _int(handle, "<Q")
    if length > 1 << 26:
        raise GGUFError("implausible string length")
    data = handle.read(length)
    if len(data) != length:
        raise GGUFError("file ends inside the metadata")
    return data.decode("utf-8", errors="replace")


def _value(handle: BinaryIO, kind: int) -> Scalar | None:
    if kind in _SCALARS:
        return _read(handle, _SCALARS[kind])
    if kind == STRING:
        return _string(handle)
    if kind == ARRAY:
        item_kind, count = _int(handle, "<I"), _int(handle, "<Q")
        if item_kind in _SCALARS:  # skipped, not decoded: token tables are large
            handle.seek(struct.calcsize(_SCALARS[item_kind]) * count, 1)
        else:
            for _ in range(count):
                _value(handle, item_kind)
        return None
    raise GGUFError(f"unknown metadata value type {kind}")


def read_metadata(path: Path) -> dict[str, Scalar]:
    """Scalar and string metadata of a GGUF file (arrays are skipped)."""
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise GGUFError(f"{path} is not a GGUF file")
        version = _int(handle, "<I")
        if version < 2:
            raise GGUFError(f"{path}: GGUF version {version} is too old")
        _int(handle, "<Q")  # tensor count
        count = _int(handle, "<Q")
        meta: dict[str, Scalar] = {}
        for _ in range(count):
            key = _string(handle)
            value = _value(handle, _int(handle, "<I"))
            if value is not None:
                meta[key] = value
        return meta


def trained_context(meta: dict[str, Scalar]) -> int | None:
    value = meta.get(f"{meta.get('general.architecture', '')}.context_length")
    return int(value) if value else None


# ggml tensor types: (elements per block, bytes per block); types not listed are sized by offset only.
_BLOCKS = {
    0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 9: (32, 36),
    10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210), 15: (256, 292),
    24: (1, 1), 25: (1, 2), 26: (1, 4), 27: (1, 8), 28: (1, 8), 30: (1, 2),
}  # fmt: skip


def declared_size(path: Path) -> int:
    """The file size a GGUF's header implies: the data section's start plus the end of its last
    tensor. A download cut short is smaller than this; GGUFError when the header itself is cut."""
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise GGUFError(f"{path} is not a GGUF file")
        _int(handle, "<I")
        tensors, count = _int(handle, "<Q"), _int(handle, "<Q")
        alignment = 32
        for _ in range(count):
            key = _string(handle)
            value = _value(handle, _int(handle, "<I"))
            if key == "general.alignment" and isinstance(value, int) and value > 0:
                alignment = value
        end = 0
        for _ in range(tensors):
            _string(handle)
            dims = [_int(handle, "<Q") for _ in range(_int(handle, "<I"))]
            kind, offset = _int(handle, "<I"), _int(handle, "<Q")
            elements = 1
            for dim in dims:
                elements *= dim
            block, size = _BLOCKS.get(kind, (1, 0))
            end = max(end, offset + elements // block * size)
        data_start = -(-handle.tell() // alignment) * alignment
        return data_start + end


def completeness_problem(path: Path) -> str | None:
    """Why ``path`` is not a whole GGUF file (cut short), or None when its size adds up."""
    try:
        expected = declared_size(path)
    except GGUFError as exc:
        return f"not a complete GGUF file: {exc}"
    actual = path.stat().st_size
    if actual < expected:
        return (
            f"not a complete GGUF file: it has {actual} bytes but its header declares at least {expected} "
            "(a download or copy cut short?)"
        )
    return None
