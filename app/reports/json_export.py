"""The JSON report (schema in docs/report-schema.md and `app.reports.json_schema.SCHEMA`).

Each run carries its stored record as is: config, environment, every Measurement (value, unit,
status, method, CI and what it is, n, distinct values,
percentile caveat), failure cause, source; per-request records and telemetry samples stay in the
store (the report gives their counts).
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

from app.reports.json_schema import SCHEMA_VERSION
from app.reports.model import Report
from app.store.records import RunDetail
from engine.metric_names import info


def report_dict(report: Report) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": report.generator,
        "generated_at": report.generated_at,
        "title": report.title,
        "notes": report.notes,
        "options": {"names": report.option_names, "differing": report.differing_options},
        "metrics": [_metric_info(n) for n in report.metric_names],
        "runs": [run_dict(d, report.labels[d.summary.id]) for d in report.runs],
    }


def run_dict(d: RunDetail, label: str) -> dict[str, Any]:
    s = d.summary
    return {
        "id": s.id, "label": label, "source": s.source, "engine": s.engine, "model": s.model,
        "status": s.status, "failure_cause": s.failure_cause, "failure_message": s.failure_message,
        "sweep_id": s.sweep_id, "created_at": s.created_at, "started_at": d.started_at,
        "finished_at": d.finished_at, "tags": list(s.tags), "notes": s.notes,
        "config": s.config, "environment": d.environment,
        "metrics": {name: _finite({**m.to_dict(), "ci_method": m.ci_description}) for name, m in s.metrics.items()},
        "result_notes": list(d.notes_list), "request_count": len(d.requests),
        "telemetry_sample_count": len(d.telemetry),
    }


def _metric_info(name: str) -> dict[str, Any]:
    return dataclasses.asdict(info(name))


def _finite(d: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN/inf: such values become null (the status still says what the figure is)."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}


def write_json(report: Report, path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        json.dump(report_dict(report), f, indent=1, ensure_ascii=False, default=str, allow_nan=False)
        f.write("\n")
