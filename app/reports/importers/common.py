"""What every importer shares: reading the file, clear errors naming the key, and Measurement helpers."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from engine.results import Measurement
from engine.schema import brief


class ImportFormatError(ValueError):
    """A result file that is not what its importer reads; the message names the file and the key."""


def read_json(path: Path) -> Any:
    """The JSON value in `path`; ImportFormatError for a file that is not UTF-8 JSON text."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ImportFormatError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"{path}: not UTF-8 text (byte offset {exc.start})") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ImportFormatError(f"{path}: not JSON ({exc})") from exc
    except RecursionError:
        raise ImportFormatError(f"{path}: JSON nested too deeply") from None


def number(data: Mapping[str, Any], key: str, path: Path, where: str = "") -> float | None:
    """`data[key]` as a finite float, None if absent or null; ImportFormatError if it is not a number."""
    v = data.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ImportFormatError(f"{path}: key {where}{key!r} should be a number, got {brief(v)}")
    return float(v)


def table(data: Mapping[str, Any], key: str, path: Path, where: str = "") -> Mapping[str, Any]:
    """`data[key]` as a JSON object ({} if absent or null); ImportFormatError if it is anything else."""
    v = data.get(key)
    if v is None:
        return {}
    if not isinstance(v, Mapping):
        raise ImportFormatError(f"{path}: key {where}{key!r} should be a JSON object, got {brief(v)}")
    return v


def item(values: list[Any], index: int, key: str, path: Path) -> float | None:
    """`values[index]` of the list at `key` as a finite float (None if null); ImportFormatError if not."""
    v = values[index]
    if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)):
        raise ImportFormatError(f"{path}: {key}[{index}] should be a number, got {brief(v)}")
    return None if v is None else float(v)


def require(data: Any, keys: tuple[str, ...], path: Path, where: str = "") -> None:
    if not isinstance(data, Mapping):
        raise ImportFormatError(f"{path}: {where or 'top level'} should be a JSON object")
    for key in keys:
        if key not in data:
            raise ImportFormatError(f"{path}: missing key {where}{key!r}")


def imported(value: float, unit: str, method: str, estimated: bool = False, **kw: Any) -> Measurement:
    """An imported figure; `kw` are further Measurement fields (n, n_distinct, caveat)."""
    return (Measurement.estimated if estimated else Measurement.measured)(value, unit, method, **kw)
