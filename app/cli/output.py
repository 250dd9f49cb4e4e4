"""How the CLI prints runs: aligned text tables for people, JSON for scripts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from app.store.records import RunDetail, RunSummary
from engine.metric_names import HEADLINE_METRICS, info
from engine.results import MEDIAN_CI

DEFAULT_COLUMNS = HEADLINE_METRICS[:4]


def to_json(obj: Any) -> str:
    """Records (dataclasses) as indented JSON."""
    return json.dumps(_plain(obj), indent=2, default=str)


def _plain(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [_plain(x) for x in obj]
    if isinstance(obj, Mapping):  # a tuple key (a ratio's (a, b)) becomes "a/b": JSON keys are text
        return {"/".join(map(str, k)) if isinstance(k, tuple) else k: _plain(v) for k, v in obj.items()}
    return obj


def _when(t: float) -> str:
    return dt.datetime.fromtimestamp(t).strftime("%Y-%m-%d %H:%M")


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def runs_table(runs: Sequence[RunSummary], columns: Sequence[str] = DEFAULT_COLUMNS) -> str:
    head = ["id", "created", "engine", "model", "status", "sweep", *(f"{c} [{info(c).unit}]" for c in columns)]
    rows = [[str(r.id), _when(r.created_at), r.engine, r.model,
             r.status + (f" ({r.failure_cause})" if r.failure_cause else ""),
             "-" if r.sweep_id is None else str(r.sweep_id), *(_figure(r.value(c)) for c in columns)]
            for r in runs]
    return table([head, *rows])


def run_text(detail: RunDetail) -> str:
    s = detail.summary
    lines = [f"run {s.id}  {s.engine}  {s.model}  {s.status}" + (f" ({s.failure_cause})" if s.failure_cause else ""),
             f"created {_when(s.created_at)}  sweep {s.sweep_id}  source {s.source}"
             + (f"  tags {', '.join(s.tags)}" if s.tags else "")]
    if s.failure_message:
        lines += ["", "failure:", s.failure_message]
    lines += ["", "config:", *(f"  {k} = {v!r}" for k, v in detail.shown_config.items())]
    if s.metrics:
        rows = [["metric", "value", "unit", "status", "95% CI", "method"]]
        for name, m in s.metrics.items():
            ci = "-" if m.ci_label is None else f"{m.ci95_low:.4g}..{m.ci95_high:.4g}"
            ci += "" if m.ci_label in (None, MEDIAN_CI) else " (of the mean)"
            note = "" if m.status == "unavailable" or not m.statistics_note else f" [{m.statistics_note}]"
            rows.append([name, _figure(m.value), m.unit, m.status, ci, m.method + note])
        lines += ["", table(rows)]
    lines += ["", f"{len(detail.requests)} request records, {len(detail.telemetry)} telemetry samples"]
    if detail.notes_list:
        lines += ["", "notes:", *(f"  - {n}" for n in detail.notes_list)]
    if s.notes:
        lines += ["", "user notes:", s.notes]
    if detail.environment:
        lines += ["", "environment:", *(f"  {k}: {v}" for k, v in detail.environment.items())]
    return "\n".join(lines)
