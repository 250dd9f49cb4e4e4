"""`Store`: the results database the GUI, the CLI, sweeps and reports share.

Open it with any SQLAlchemy URL (None: the default SQLite file in the data dir); migrations run at
open. Each run is written in one transaction, so a reader (or a process killed mid-write) sees a run
whole or not at all. Safe to share between threads: every call checks out its own connection.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from app.paths import default_store_url
from app.store import codec, connect, env_fields, queries
from app.store.env_fields import Condition
from app.store.records import RunDetail, RunSummary, SweepSummary
from app.store.schema import metrics, requests, run_tags, run_telemetry, runs, sweeps
from engine.results import TrialResult


class StoreError(LookupError):
    """A run or sweep that does not exist, or a value the store cannot keep."""


class Store:
    """The results store at `url` (see module docs); refused at open with a one-line
    `connect.StoreURLError` (malformed URL) or `connect.StoreOpenError` (unreachable, unreadable)."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or default_store_url()
        self.engine = connect.open_engine(self.url)  # StoreURLError / StoreOpenError, in one line

    # -- sweeps ------------------------------------------------------------------------------------
    def create_sweep(self, name: str, profile: Mapping[str, Any], strategy: str) -> int:
        """A new sweep (status "running"); returns its id."""
        with self.engine.begin() as conn:
            return conn.execute(sweeps.insert().values(
                name=name, created_at=time.time(), strategy=strategy, status="running",
                profile_json=codec.dumps(profile))).inserted_primary_key[0]

    def set_sweep_status(self, sweep_id: int, status: str) -> None:
        """Mark a sweep running/finished/failed/stopped/paused."""
        with self.engine.begin() as conn:
            if conn.execute(sweeps.update().where(sweeps.c.id == sweep_id).values(status=status)).rowcount == 0:
                raise StoreError(f"no sweep {sweep_id}")

    def list_sweeps(self) -> list[SweepSummary]:
        """Every sweep, newest first, with its run count."""
        n_runs = (sa.select(sa.func.count()).select_from(runs).where(runs.c.sweep_id == sweeps.c.id)
                  .scalar_subquery())
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(sweeps, n_runs.label("run_count")).order_by(sweeps.c.id.desc())).all()
        return [SweepSummary(r.id, r.name, r.created_at, r.strategy, r.status, json.loads(r.profile_json),
                             r.run_count) for r in rows]

    def get_sweep(self, sweep_id: int) -> SweepSummary:
        for s in self.list_sweeps():
            if s.id == sweep_id:
                return s
        raise StoreError(f"no sweep {sweep_id}")

    def latest_sweep(self, name: str) -> SweepSummary | None:
        """The newest sweep called `name` (what `--resume` continues), or None."""
        return next((s for s in self.list_sweeps() if s.name == name), None)

    # -- writing runs --------------------------------------------------------------------------------
    def add_run(self, result: TrialResult, *, sweep_id: int | None = None,
                telemetry: Iterable[Mapping[str, Any]] = (), source: str = "inferlab",
                tags: Iterable[str] = (), notes: str = "") -> int:
        """Write one trial result with its requests, telemetry and metrics in one transaction.
        Without `telemetry`, the samples the worker client attached to the result (if any) are kept."""
        telemetry = tuple(telemetry) or tuple(getattr(result, "telemetry", ()) or ())
        with self.engine.begin() as conn:
            return self._insert_run(conn, result, sweep_id, telemetry, source, tags, notes)

    def add_runs(self, results: Iterable[TrialResult], *, sweep_id: int | None = None,
                 source: str = "inferlab", tags: Iterable[str] = ()) -> list[int]:
        """Write many results in one transaction (importers, benches); all or none are kept."""
        tags = tuple(tags)
        with self.engine.begin() as conn:
            return [self._insert_run(conn, r, sweep_id, (), source, tags, "") for r in results]

    def _insert_run(self, conn: sa.Connection, result: TrialResult, sweep_id: int | None,
                    samples: Sequence[Mapping[str, Any]], source: str, tags: Iterable[str], notes: str) -> int:
        config = dict(result.config)
        run_id = conn.execute(runs.insert().values(
            created_at=time.time(), sweep_id=sweep_id, trial_id=result.trial_id or uuid.uuid4().hex,
            engine=str(config.get("engine", "")), model=str(config.get("model", "")), status=result.status,
            failure_cause=result.failure_cause, failure_message=result.failure_message, source=source,
            config_json=codec.dumps(config), config_key=codec.config_key(config),
            **codec.metric_values(result.metrics),
            environment_json=codec.dumps(result.environment), result_notes_json=codec.dumps(result.notes),
            sample_outputs_json=codec.dumps(result.sample_outputs), notes=notes,
            started_at=result.started_at, finished_at=result.finished_at)).inserted_primary_key[0]
        for table, rows in ((metrics, codec.metric_rows(run_id, result.metrics)),
                            (requests, codec.request_rows(run_id, result.requests)),
                            (run_telemetry, [{"run_id": run_id, "samples_json": codec.telemetry_json(samples)}]
                             if samples else []),
                            (run_tags, _tag_rows(run_id, tags))):
            if rows:
                conn.execute(table.insert(), rows)
        return run_id

    def delete_runs(self, ids: Iterable[int]) -> int:
        """Delete runs (with their metrics, requests, telemetry and tags); returns how many went."""
        ids = list(ids)
        with self.engine.begin() as conn:
            for table in (metrics, requests, run_telemetry, run_tags):  # explicit: not every URL enforces FKs
                conn.execute(table.delete().where(table.c.run_id.in_(ids)))
            return conn.execute(runs.delete().where(runs.c.id.in_(ids))).rowcount

    def set_tags(self, run_id: int, tags: Iterable[str]) -> None:
        """Replace a run's tags."""
        with self.engine.begin() as conn:
            self._require(conn, run_id)
            conn.execute(run_tags.delete().where(run_tags.c.run_id == run_id))
            rows = _tag_rows(run_id, tags)
            if rows:
                conn.execute(run_tags.insert(), rows)

    def set_notes(self, run_id: int, notes: str) -> None:
        """Replace a run's free-text notes."""
        with self.engine.begin() as conn:
            self._require(conn, run_id)
            conn.execute(runs.update().where(runs.c.id == run_id).values(notes=notes))

    @staticmethod
    def _require(conn: sa.Connection, run_id: int) -> None:
        if conn.execute(sa.select(runs.c.id).where(runs.c.id == run_id)).first() is None:
            raise StoreError(f"no run {run_id}")

    # -- reading runs --------------------------------------------------------------------------------
    def find_trial(self, trial_id: str) -> int | None:
        """The id of the run of trial `trial_id`, or None if the store has none."""
        with self.engine.connect() as conn:
            return conn.execute(sa.select(runs.c.id).where(runs.c.trial_id == trial_id).limit(1)).scalar()

    def list_runs(self, *, status: str | None = None, engine: str | None = None, model: str | None = None,
                  sweep_id: int | None = None, tag: str | None = None, text: str | None = None,
                  environment: Sequence[Condition] = (), ids: Sequence[int] | None = None,
                  limit: int | None = None, offset: int = 0, sort: str | None = None) -> list[RunSummary]:
        """Runs matching every given filter (`environment`: conditions on the environment record, all
        holding; `ids`: only these runs), sorted by `sort` (a column or metric name, `-` for descending;
        default newest first), paged by `limit`/`offset`."""
        flt = queries.RunFilter(status, engine, model, sweep_id, tag, text, None if ids is None else tuple(ids),
                                tuple(environment))
        with self.engine.connect() as conn:
            return queries.list_runs(conn, flt, sort=sort, limit=limit, offset=offset)

    def count_runs(self, *, status: str | None = None, engine: str | None = None, model: str | None = None,
                   sweep_id: int | None = None, tag: str | None = None, text: str | None = None,
                   environment: Sequence[Condition] = ()) -> int:
        """How many runs `list_runs` with the same filters would return without a limit."""
        flt = queries.RunFilter(status, engine, model, sweep_id, tag, text, environment=tuple(environment))
        with self.engine.connect() as conn:
            return queries.count(conn, flt)

    def metric_names(self) -> list[str]:
        """Every metric name present in the store (for column pickers)."""
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(metrics.c.name).distinct().order_by(metrics.c.name)).scalars())

    def environment_fields(self, ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """Each run's environment fields (`app.store.env_fields`: GPU, host, driver, library versions) that
        its record says, by run id; computed in SQL, the records are not decoded here."""
        ids = list(ids)
        out: dict[int, dict[str, Any]] = {}
        with self.engine.connect() as conn:
            columns = [env_fields.sql_value(name, conn.dialect.name) for name in env_fields.FIELDS]
            for i in range(0, len(ids), queries.CHUNK):
                for run_id, *found in conn.execute(sa.select(runs.c.id, *columns)
                                                   .where(runs.c.id.in_(ids[i:i + queries.CHUNK]))):
                    out[run_id] = {k: v for k, v in zip(env_fields.FIELDS, found, strict=True) if v is not None}
        return out

    def get_run(self, run_id: int) -> RunDetail:
        """One run with everything kept of it; StoreError if there is none."""
        found = self.get_runs([run_id])
        if not found:
            raise StoreError(f"no run {run_id}")
        return found[0]

    def get_runs(self, ids: Sequence[int]) -> list[RunDetail]:
        """Several runs in the order asked (missing ids are left out), everything read now, in five
        queries (per 500 runs) rather than four per run."""
        ids = list(ids)
        with self.engine.connect() as conn:
            by_id = {s.id: s for s in queries.list_runs(conn, queries.RunFilter(ids=tuple(ids)), sort="id",
                                                        limit=None, offset=0, details_now=True)}
            found = list(by_id)
            extra = {r.id: r for r in conn.execute(
                sa.select(runs.c.id, runs.c.environment_json, runs.c.result_notes_json, runs.c.sample_outputs_json,
                          runs.c.started_at, runs.c.finished_at).where(runs.c.id.in_(found)))}
            reqs: dict[int, list[Any]] = {i: [] for i in found}
            for r in conn.execute(sa.select(requests).where(requests.c.run_id.in_(found))
                                  .order_by(requests.c.run_id, requests.c.repetition, requests.c.idx)):
                reqs[r.run_id].append(codec.request_record(r))
            samples = {run_id: text for run_id, text in conn.execute(
                sa.select(run_telemetry.c.run_id, run_telemetry.c.samples_json).where(run_telemetry.c.run_id.in_(found)))}
        return [RunDetail(by_id[i], json.loads(extra[i].environment_json), reqs[i],
                          json.loads(samples.get(i, "[]")), json.loads(extra[i].result_notes_json),
                          json.loads(extra[i].sample_outputs_json), extra[i].started_at, extra[i].finished_at)
                for i in ids if i in by_id]

    def close(self) -> None:
        """Release every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# A tag's length limit, checked by profiles and the CLI before any work (the store itself refuses only
# control characters, so runs stored before the limit stay readable).
MAX_TAG_CHARS = 64


def _tag_rows(run_id: int, tags: Iterable[str]) -> list[dict[str, Any]]:
    """Rows for a run's tags, duplicates dropped; StoreError for a tag with control characters."""
    rows = [{"run_id": run_id, "tag": t} for t in dict.fromkeys(tags)]
    bad = [r["tag"] for r in rows if not r["tag"].isprintable()]
    if bad:
        raise StoreError(f"a tag may not contain control characters: {bad[0]!r}")
    return rows
