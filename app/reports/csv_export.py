"""The tidy CSV: one row per run × metric, with the stored value, unit, status, method, 95% CI with what
it is (`ci_method`: "95% CI of the median (…)", or why there is none), n, distinct values and the
caveat of a percentile its samples cannot support.

A run with no metrics at all (a trial that failed before measuring) still gets one row, with empty
metric columns, so failures and their causes are never dropped. Values are the stored ones (bytes
stay bytes); spreadsheet formula prefixes in user text are neutralised.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from app.reports.model import Report
from engine.metric_names import info

COLUMNS = ("run_id", "label", "source", "engine", "model", "run_status", "failure_cause", "sweep_id", "tags",
           "metric", "metric_label", "value", "unit", "status", "method", "ci95_low", "ci95_high", "n",
           "ci_method", "n_distinct", "caveat")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(text: str) -> str:
    """User text that a spreadsheet will not run as a formula (numbers are written as numbers)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def _num(v: float | int | None) -> Any:
    return "" if v is None else repr(v) if isinstance(v, float) else v


def csv_rows(report: Report) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for d in report.runs:
        s = d.summary
        run = [s.id, _safe(report.labels[s.id]), s.source, _safe(s.engine), _safe(s.model), s.status,
               s.failure_cause or "", "" if s.sweep_id is None else s.sweep_id, _safe(";".join(s.tags))]
        if not s.metrics:
            rows.append(run + [""] * (len(COLUMNS) - len(run)))
        for name in report.metric_names:
            m = s.metrics.get(name)
            if m is not None:
                rows.append(run + [name, info(name).label, _num(m.value), m.unit, m.status, _safe(m.method),
                                   _num(m.ci95_low), _num(m.ci95_high), _num(m.n), m.ci_description or "",
                                   _num(m.n_distinct), m.caveat or ""])
    return rows


def write_csv(report: Report, path: Path) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        w.writerows(csv_rows(report))
