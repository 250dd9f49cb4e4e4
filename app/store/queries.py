"""Read queries: filtered, sorted, paged run listings with their summary metrics and tags.

Sorting accepts a run column (`created_at`, `engine`, `model`, `status`, `id`, `source`), a trial
option as `config.NAME` (e.g. `config.batch_size`), or any metric name; a leading `-` sorts descending.
Runs without the metric or option sort last either way. Environment conditions (`app.store.env_fields`)
filter in SQL on the stored environment record.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from app.store.codec import decode_metric_values
from app.store.env_fields import Condition
from app.store.records import MetricDetails, RunSummary, StoredMetrics
from app.store.schema import metrics, run_tags, runs
from engine.results import Measurement

CONFIG_PREFIX = "config."
CHUNK = 500  # ids bound per IN (...) query
TAG_SEPARATOR = "\x1f"  # ASCII unit separator: joins a run's tags in one column; never typed in a tag
_decode_json = json.JSONDecoder().raw_decode  # the store's own compact JSON: skips loads()' whitespace checks
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
    environment: tuple[Condition, ...] = ()  # every one must hold (`app.store.env_fields`)

    def where(self, dialect: str) -> list[sa.ColumnElement[bool]]:
        clauses: list[sa.ColumnElement[bool]] = [c.clause(dialect) for c in self.environment]
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
    return conn.execute(sa.select(sa.func.count()).select_from(runs).where(*flt.where(conn.dialect.name))).scalar_one()


def _order(sort: str | None, dialect: str) -> tuple[list[Any], Any]:
    """ORDER BY clauses and an optional outer join for a metric sort key."""
    key = sort or "-id"
    descending = key.startswith("-")
    name = key.lstrip("-+")
    join = None
    if name in SORT_COLUMNS:
        col: Any = runs.c[name]
    elif name.startswith(CONFIG_PREFIX):
        col = _config_value(name.removeprefix(CONFIG_PREFIX), dialect)
    else:
        sort_metric = metrics.alias("sort_metric")
        join = (sort_metric, sa.and_(sort_metric.c.run_id == runs.c.id, sort_metric.c.name == name))
        col = sort_metric.c.value
    primary = col.desc().nulls_last() if descending else col.asc().nulls_last()
    return [primary, runs.c.id.desc() if descending else runs.c.id.asc()], join


def _config_value(option: str, dialect: str) -> sa.ColumnElement[Any]:
    """A trial option read from the stored config JSON, ordered by value: numbers numerically, text
    lexically (PostgreSQL's jsonb ordering; SQLite's json_extract returns native values)."""
    if dialect == "postgresql":
        return sa.cast(runs.c.config_json, postgresql.JSONB)[option]
    return sa.func.json_extract(runs.c.config_json, f'$."{option}"')


def list_runs(conn: sa.Connection, flt: RunFilter, *, sort: str | None, limit: int | None,
              offset: int, details_now: bool = False) -> list[RunSummary]:
    """Runs matching `flt`, sorted and paged, each with its summary metric values and tags. The full
    Measurements are read on first use (one query for the whole listing), or now with `details_now`."""
    order, join = _order(sort, conn.dialect.name)
    source: Any = runs if join is None else runs.outerjoin(*join)
    tags = (sa.select(sa.func.aggregate_strings(run_tags.c.tag, TAG_SEPARATOR))
            .where(run_tags.c.run_id == runs.c.id).scalar_subquery())
    query = (sa.select(runs.c.id, runs.c.created_at, runs.c.engine, runs.c.model, runs.c.status,
                       runs.c.failure_cause, runs.c.failure_message, runs.c.sweep_id, runs.c.source,
                       runs.c.config_json, runs.c.metric_names, runs.c.metric_values, tags, runs.c.notes)
             .select_from(source).where(*flt.where(conn.dialect.name)).order_by(*order).offset(offset))
    if limit is not None:
        query = query.limit(limit)
    rows = conn.execute(query).all()
    ids = [r[0] for r in rows]
    if details_now:
        by_run = measurements(conn, ids)
        details = MetricDetails(lambda: by_run)
    else:
        engine = conn.engine
        details = MetricDetails(lambda: _measurements_later(engine, ids))
    return [RunSummary(run_id, created_at, engine_name, model, status, cause, message, sweep_id, source,
                       _decode_json(config)[0], StoredMetrics(run_id, decode_metric_values(names, values), details),
                       tuple(sorted(tag_text.split(TAG_SEPARATOR))) if tag_text else (), notes)
            for (run_id, created_at, engine_name, model, status, cause, message, sweep_id, source, config, names,
                 values, tag_text, notes) in rows]


def measurements(conn: sa.Connection, ids: Sequence[int]) -> dict[int, dict[str, Measurement]]:
    """The full summary Measurements of the runs `ids`, by run id."""
    out: dict[int, dict[str, Measurement]] = {}
    for i in range(0, len(ids), CHUNK):
        query = (sa.select(metrics.c.run_id, metrics.c.name, metrics.c.value, metrics.c.unit, metrics.c.status,
                           metrics.c.method, metrics.c.ci95_low, metrics.c.ci95_high, metrics.c.n,
                           metrics.c.ci_method, metrics.c.n_distinct, metrics.c.caveat)
                 .where(metrics.c.run_id.in_(ids[i:i + CHUNK])))
        for run_id, name, *fields in conn.execute(query):
            out.setdefault(run_id, {})[name] = Measurement(*fields)
    return out


def _measurements_later(engine: sa.Engine, ids: Sequence[int]) -> dict[int, dict[str, Measurement]]:
    with engine.connect() as conn:
        return measurements(conn, ids)
