"""Reading a GGUF file's metadata (architecture, name, trained context) without loading weights."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

# GGUF value types: (struct format, size) for scalars; 8 = string, 9 = array.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9


class GGUFError(ValueError):
    pass


def _read(handle: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = handle.read(size)
    if len(data) != size:
        raise GGUFError("file ends inside the metadata")
    return struct.unpack(fmt, data)[0]


def _string(handle: BinaryIO) -> str:
    length = _read(handle, "<Q")
    if length > 1 << 26:
        raise GGUFError("implausible string length")
    return handle.read(length).decode("utf-8", errors="replace")


def _value(handle: BinaryIO, kind: int) -> Any:
    if kind in _SCALARS:
        return _read(handle, _SCALARS[kind])
    if kind == STRING:
        return _string(handle)
    if kind == ARRAY:
        item_kind, count = _read(handle, "<I"), _read(handle, "<Q")
        if item_kind in _SCALARS:  # skipped, not decoded: token tables are large
            handle.seek(struct.calcsize(_SCALARS[item_kind]) * count, 1)
        else:
            for _ in range(count):
                _value(handle, item_kind)
        return None
    raise GGUFError(f"unknown metadata value type {kind}")


def read_metadata(path: Path) -> dict[str, Any]:
    """Scalar and string metadata of a GGUF file (arrays are skipped)."""
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise GGUFError(f"{path} is not a GGUF file")
        version = _read(handle, "<I")
        if version < 2:
            raise GGUFError(f"{path}: GGUF version {version} is too old")
        _read(handle, "<Q")  # tensor count
        count = _read(handle, "<Q")
        meta: dict[str, Any] = {}
        for _ in range(count):
            key = _string(handle)
            value = _value(handle, _read(handle, "<I"))
            if value is not None:
                meta[key] = value
        return meta


def trained_context(meta: dict[str, Any]) -> int | None:
    value = meta.get(f"{meta.get('general.architecture', '')}.context_length")
    return int(value) if value else None
