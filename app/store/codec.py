"""Turning results into rows and rows back into records (the one place that knows both shapes)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
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
             "ci95_high": finite_or_none(m.ci95_high), "n": m.n} for name, m in metrics.items()]


def request_rows(run_id: int, records: Iterable[RequestRecord]) -> list[dict[str, Any]]:
    return [{"run_id": run_id, "repetition": r.repetition, "idx": r.index, "input_tokens": r.input_tokens,
             "output_tokens": r.output_tokens, "start_s": r.start_s, "first_token_s": r.first_token_s,
             "end_s": r.end_s, "ok": r.ok, "error": r.error} for r in records]


def telemetry_rows(run_id: int, samples: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [{"run_id": run_id, "seq": i, "t": float(s.get("t", 0.0)), "sample_json": dumps(s)}
            for i, s in enumerate(samples)]


def measurement(row: Any) -> Measurement:
    """A Measurement from a metrics row (name, value, unit, status, method, ci95_low, ci95_high, n)."""
    return Measurement(row[1], row[2], row[3], row[4], row[5], row[6], row[7])


def request_record(row: Any) -> RequestRecord:
    return RequestRecord(repetition=row.repetition, index=row.idx, input_tokens=row.input_tokens,
                         output_tokens=row.output_tokens, start_s=row.start_s, first_token_s=row.first_token_s,
                         end_s=row.end_s, ok=bool(row.ok), error=row.error)
