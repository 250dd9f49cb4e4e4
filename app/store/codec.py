"""Turning results into rows and rows back into records (the one place that knows both shapes)."""

from __future__ import annotations

import functools
import hashlib
import json
import math
import sys
from array import array
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from engine.results import Measurement, RequestRecord


def dumps(obj: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON; non-finite floats become null (PostgreSQL and strict readers refuse NaN)."""
    return json.dumps(_finite(obj), separators=(",", ":"), sort_keys=sort_keys, default=str)


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Mapping):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def config_key(config: Mapping[str, Any]) -> str:
    """Stable digest of a flat config: equal configs (any key order) get equal keys."""
    return hashlib.sha256(dumps(config, sort_keys=True).encode()).hexdigest()


def finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def metric_rows(run_id: int, metrics: Mapping[str, Measurement]) -> list[dict[str, Any]]:
    return [{"run_id": run_id, "name": name, "value": finite_or_none(m.value), "unit": m.unit,
             "status": m.status, "method": m.method, "ci95_low": finite_or_none(m.ci95_low),
             "ci95_high": finite_or_none(m.ci95_high), "n": m.n, "ci_method": m.ci_method,
             "n_distinct": m.n_distinct, "caveat": m.caveat} for name, m in metrics.items()]


def metric_values(metrics: Mapping[str, Measurement]) -> dict[str, Any]:
    """The listing copy of a run's summary values, as the two `runs` columns: `metric_names` (a JSON
    array) and `metric_values` (the values in that order, little-endian float64, NaN = unavailable)."""
    names = list(metrics)
    values = array("d", [math.nan if (v := finite_or_none(metrics[n].value)) is None else v for n in names])
    if sys.byteorder == "big":
        values.byteswap()
    return {"metric_names": dumps(names), "metric_values": values.tobytes() if names else None}


def decode_metric_values(names_text: str, blob: bytes | None) -> dict[str, float]:
    """`{name: value}` from the two listing columns, NaN where unavailable (the inverse of
    `metric_values`; built in C, no Python step per value)."""
    if not blob:
        return {}
    values = array("d")
    values.frombytes(blob)
    if sys.byteorder == "big":
        values.byteswap()
    return dict(zip(_metric_names(names_text), values, strict=True))


@functools.lru_cache(maxsize=1024)
def _metric_names(text: str) -> tuple[str, ...]:
    """Parsed once per distinct metric set: runs of one engine share it, so a listing parses a few."""
    return tuple(json.loads(text))


def request_rows(run_id: int, records: Iterable[RequestRecord]) -> list[dict[str, Any]]:
    return [{"run_id": run_id, "repetition": r.repetition, "idx": r.index, "input_tokens": r.input_tokens,
             "output_tokens": r.output_tokens, "start_s": r.start_s, "first_token_s": r.first_token_s,
             "end_s": r.end_s, "ok": r.ok, "error": r.error} for r in records]


def telemetry_json(samples: Sequence[Mapping[str, Any]]) -> str:
    """A run's telemetry samples (engine.telemetry sample dicts, in time order) as one JSON array."""
    return dumps(samples)


def request_record(row: Any) -> RequestRecord:
    return RequestRecord(repetition=row.repetition, index=row.idx, input_tokens=row.input_tokens,
                         output_tokens=row.output_tokens, start_s=row.start_s, first_token_s=row.first_token_s,
                         end_s=row.end_s, ok=bool(row.ok), error=row.error)
