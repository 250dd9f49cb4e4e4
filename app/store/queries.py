"""Read queries: filtered, sorted, paged run listings with their summary metrics, in two SELECTs.

Sorting accepts a run column (`created_at`, `engine`, `model`, `status`, `id`, `source`) or any metric
name; a leading `-` sorts descending. Runs without the metric sort last either way.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from app.store.records import RunSummary
from app.store.schema import metrics, run_tags, runs
from engine.results import Measurement

SORT_COLUMNS = ("id", "created_at", "engine", "model", "status", "source", "sweep_id", "failure_cause")


@dataclasses.dataclass(frozen=True)
class RunFilter:
    """The filters every listing accepts; None means no filter on that field."""

    status: str | None = None
    engine: str | None = None
    model: str | None = None
    sweep_id: int | None = None
    tag: str | None = None
    text: str | None = None
    ids: tuple[int, ...] | None = None

    def where(self) -> list[sa.ColumnElement[bool]]:
        clauses: list[sa.ColumnElement[bool]] = []
        for name in ("status", "engine", "model", "sweep_id"):
            value = getattr(self, name)
            if value is not None:
                clauses.append(runs.c[name] == value)
        if self.ids is not None:
            clauses.append(runs.c.id.in_(self.ids))
        if self.tag is not None:
            clauses.append(sa.exists().where(run_tags.c.run_id == runs.c.id, run_tags.c.tag == self.tag))
        if self.text:
            pattern = f"%{self.text.lower()}%"
            clauses.append(sa.or_(*(sa.func.lower(runs.c[c]).like(pattern)
                                    for c in ("model", "engine", "notes", "config_json", "failure_message"))))
        return clauses


def count(conn: sa.Connection, flt: RunFilter) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(runs).where(*flt.where())).scalar_one()


def _order(sort: str | None) -> tuple[list[Any], Any]:
    """ORDER BY clauses and an optional outer join for a metric sort key."""
    key = sort or "-id"
    descending = key.startswith("-")
    name = key.lstrip("-+")
    if name in SORT_COLUMNS:
        col: Any = runs.c[name]
        join = None
    else:
        sort_metric = metrics.alias("sort_metric")
        join = (sort_metric, sa.and_(sort_metric.c.run_id == runs.c.id, sort_metric.c.name == name))
        col = sort_metric.c.value
    primary = col.desc().nulls_last() if descending else col.asc().nulls_last()
    return [primary, runs.c.id.desc() if descending else runs.c.id.asc()], join


def list_runs(conn: sa.Connection, flt: RunFilter, *, sort: str | None, limit: int | None,
              offset: int, metric_names: Sequence[str] | None = None) -> list[RunSummary]:
    """Runs matching `flt`, sorted and paged, each with its summary metrics (all, or only
    `metric_names`) and tags."""
    order, join = _order(sort)
    source: Any = runs if join is None else runs.outerjoin(*join)
    query = (sa.select(runs.c.id, runs.c.created_at, runs.c.engine, runs.c.model, runs.c.status,
                       runs.c.failure_cause, runs.c.failure_message, runs.c.sweep_id, runs.c.source,
                       runs.c.config_json, runs.c.notes)
             .select_from(source).where(*flt.where()).order_by(*order).offset(offset))
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    per_run = _metrics_for(conn, ids, flt, limit is None and offset == 0, metric_names)
    tags = _tags_for(conn, ids)
    return [RunSummary(r.id, r.created_at, r.engine, r.model, r.status, r.failure_cause, r.failure_message,
                       r.sweep_id, r.source, json.loads(r.config_json), per_run[r.id],
                       tags.get(r.id, ()), r.notes) for r in rows]


def _metrics_for(conn: sa.Connection, ids: Sequence[int], flt: RunFilter, whole: bool,
                 names: Sequence[str] | None) -> dict[int, dict[str, Measurement]]:
    cols = (metrics.c.run_id, metrics.c.name, metrics.c.value, metrics.c.unit, metrics.c.status,
            metrics.c.method, metrics.c.ci95_low, metrics.c.ci95_high, metrics.c.n)
    only = [] if names is None else [metrics.c.name.in_(list(names))]
    if whole:
        # The whole filtered set: a subquery beats binding thousands of ids.
        queries = [sa.select(*cols).where(metrics.c.run_id.in_(sa.select(runs.c.id).where(*flt.where())), *only)]
    else:
        queries = [sa.select(*cols).where(metrics.c.run_id.in_(ids[i:i + 500]), *only)
                   for i in range(0, len(ids), 500)]
    out: dict[int, dict[str, Measurement]] = {run_id: {} for run_id in ids}
    for query in queries:
        for run_id, name, value, unit, status, method, low, high, n in conn.execute(query).all():
            if run_id in out:
                out[run_id][name] = Measurement(value, unit, status, method, low, high, n)
    return out


def _tags_for(conn: sa.Connection, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
    out: dict[int, list[str]] = {}
    for i in range(0, len(ids), 500):
        query = (sa.select(run_tags.c.run_id, run_tags.c.tag).where(run_tags.c.run_id.in_(ids[i:i + 500]))
                 .order_by(run_tags.c.tag))
        for run_id, tag in conn.execute(query):
            out.setdefault(run_id, []).append(tag)
    return {k: tuple(v) for k, v in out.items()}
