"""Read one key of a GGUF file's metadata header with the standard library only.

The `gguf` package takes ~3 s to import (it pulls in mistral_common), too slow for the front door that
checks a profile or `--set` before anything runs; a key near the start of the header (`general.*` keys come
first) is found after reading a few hundred bytes. Layout (GGUF v2/v3, little-endian): magic `GGUF`,
uint32 version, uint64 tensor count, uint64 key/value count, then each pair as (string key, uint32 type,
value); a string is a uint64 length and UTF-8 bytes, an array a uint32 element type, a uint64 count and
the elements.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

# Scalar value types: type id -> struct format.
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q",
            12: "<d"}
_STRING, _ARRAY = 8, 9


class GGUFHeaderError(ValueError):
    """The file is not a GGUF v2/v3 file, or its header is cut short or malformed."""


def read_key(path: Path, key: str) -> Any:
    """The value of metadata `key` (arrays as lists), or None when the header has no such key."""
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise GGUFHeaderError(f"{path} is not a GGUF file (no GGUF magic)")
        version = _unpack(f, "<I")
        if version < 2:
            raise GGUFHeaderError(f"{path}: GGUF version {version} is not supported (v2 or later)")
        _unpack(f, "<Q")  # tensor count
        for _ in range(_unpack(f, "<Q")):
            name = _string(f)
            kind = _unpack(f, "<I")
            if name == key:
                return _value(f, kind)
            _value(f, kind)  # skipped
    return None


def _unpack(f: BinaryIO, fmt: str) -> Any:
    size = struct.calcsize(fmt)
    data = f.read(size)
    if len(data) != size:
        raise GGUFHeaderError(f"{getattr(f, 'name', 'file')}: GGUF header ends early")
    return struct.unpack(fmt, data)[0]


def _string(f: BinaryIO) -> str:
    length = _unpack(f, "<Q")
    data = f.read(length)
    if len(data) != length:
        raise GGUFHeaderError(f"{getattr(f, 'name', 'file')}: GGUF header ends early")
    return data.decode("utf-8", errors="replace")


def _value(f: BinaryIO, kind: int) -> Any:
    if kind in _SCALARS:
        return _unpack(f, _SCALARS[kind])
    if kind == _STRING:
        return _string(f)
    if kind == _ARRAY:
        item, count = _unpack(f, "<I"), _unpack(f, "<Q")
        return [_value(f, item) for _ in range(count)]
    raise GGUFHeaderError(f"{getattr(f, 'name', 'file')}: unknown GGUF value type {kind}")
