"""The store keeps a trial result whole on SQLite and PostgreSQL, migrated at open, queryable by SQL."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa

from app.store import Store, StoreError
from app.store.connect import current_revision, head_revision
from app.store.schema import metadata
from engine.results import Measurement, RequestRecord, TrialResult


def _result(i: int, *, engine: str = "hf-generate", status: str = "ok", tps: float | None = None) -> TrialResult:
    tps = 10.0 + i if tps is None else tps
    metrics = {
        "output_tokens_per_s": Measurement.from_repetitions([tps + d for d in (-1, -0.5, 0, 0, 0.5, 1)], "tok/s",
                                                            "tokens/wall"),
        "ttft_ms_p99": Measurement.measured(100.0 - i, "ms", "streamer", n=4, n_distinct=3,
                                            caveat="too few samples for p99: 4 values, 3 distinct; needs at least "
                                                   "100 distinct"),
        "gpu_energy_j": Measurement.unavailable("J", "no NVML on this machine"),
    }
    requests = [RequestRecord(0, k, 8, 4, 0.1 * k, 0.1 * k + 0.02, 0.1 * k + 0.05) for k in range(3)]
    return TrialResult(f"trial-{i}", {"engine": engine, "model": f"m{i % 2}", "batch_size": i + 1}, status,
                       metrics if status == "ok" else {}, requests if status == "ok" else [],
                       {"cpu": "test-cpu", "torch": "2.x"}, "oom" if status == "failed" else None,
                       "ran out" if status == "failed" else None, 1.0, 2.0, ["TTFT from a streamer"], ["hi"])


def test_fresh_database_is_migrated_to_head_at_open(store_url: str) -> None:
    with Store(store_url) as store:
        assert current_revision(store.engine) == head_revision()
        assert set(metadata.tables) <= set(sa.inspect(store.engine).get_table_names())
    with Store(store_url) as again:  # reopening is a no-op migration and keeps the data
        assert again.count_runs() == 0


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    with Store(f"sqlite:///{tmp_path / 'nested' / 'dir' / 'w.db'}") as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000


def test_run_round_trip_keeps_every_part(store_url: str) -> None:
    samples = [{"t": 1.0 + k, "cpu_percent": 50.0, "ram_used_bytes": 1, "ram_total_bytes": 2,
                "worker_rss_bytes": 3, "gpus": []} for k in range(5)]
    with Store(store_url) as store:
        sweep_id = store.create_sweep("s", {"strategy": "grid", "axes": {"batch_size": [1, 2]}}, "grid")
        run_id = store.add_run(_result(3), sweep_id=sweep_id, telemetry=samples, tags=["x", "y"], notes="n")
        detail = store.get_run(run_id)
    s = detail.summary
    assert (s.engine, s.model, s.status, s.sweep_id, s.tags, s.notes) == ("hf-generate", "m1", "ok", sweep_id,
                                                                          ("x", "y"), "n")
    assert s.config == {"engine": "hf-generate", "model": "m1", "batch_size": 4}
    tps = s.metrics["output_tokens_per_s"]
    assert tps.value == 13.0 and tps.n == 6 and (tps.ci95_low, tps.ci95_high) == (12.0, 14.0)
    assert s.metrics == _result(3).metrics  # CI method, distinct count and percentile caveat included
    assert s.metrics["gpu_energy_j"] == Measurement.unavailable("J", "no NVML on this machine")
    assert [r.index for r in detail.requests] == [0, 1, 2]
    assert math.isclose(detail.requests[1].ttft_ms or 0.0, 20.0)
    assert detail.telemetry == samples
    assert detail.environment == {"cpu": "test-cpu", "torch": "2.x"}
    assert (detail.notes_list, detail.sample_outputs, detail.started_at, detail.finished_at) == (
        ["TTFT from a streamer"], ["hi"], 1.0, 2.0)


def test_a_listing_reads_values_now_and_full_measurements_on_first_use(store_url: str) -> None:
    with Store(store_url) as store:
        ids = store.add_runs([_result(i) for i in range(3)])
        listed = store.list_runs(sort="id")
        stored = _result(1).metrics
        assert listed[1].value("output_tokens_per_s") == stored["output_tokens_per_s"].value
        assert listed[1].value("gpu_energy_j") is None and "gpu_energy_j" in listed[1].metrics
        assert dict(listed[1].metrics) == stored == dict(store.get_run(ids[1]).summary.metrics)
        late = store.list_runs(sort="id")
        store.delete_runs([ids[0]])
        assert late[0].value("output_tokens_per_s") == _result(0).metrics["output_tokens_per_s"].value
        with pytest.raises(KeyError, match="deleted after it was listed"):
            late[0].metrics["ttft_ms_p99"]


def test_failed_run_keeps_its_cause(store_url: str) -> None:
    with Store(store_url) as store:
        run_id = store.add_run(_result(0, status="failed"))
        s = store.get_run(run_id).summary
    assert (s.status, s.failure_cause, s.failure_message, s.metrics) == ("failed", "oom", "ran out", {})


def test_filters_sorting_and_paging(store_url: str) -> None:
    with Store(store_url) as store:
        ids = store.add_runs([_result(i, engine="vllm" if i % 3 == 0 else "hf-generate") for i in range(12)])
        failed = store.add_run(_result(99, status="failed"))
        store.set_tags(ids[4], ["cpu", "best"])
        with pytest.raises(StoreError, match="control characters"):
            store.set_tags(ids[4], ["a\x1fb"])
        store.set_notes(ids[5], "Interesting outlier")
        assert store.count_runs() == 13
        assert store.count_runs(engine="vllm") == 4
        assert [r.id for r in store.list_runs(status="failed")] == [failed]
        assert store.count_runs(model="m0") == 6
        assert [(r.id, r.tags) for r in store.list_runs(tag="best")] == [(ids[4], ("best", "cpu"))]
        assert [r.id for r in store.list_runs(text="OUTLIER")] == [ids[5]]
        by_tps = store.list_runs(sort="-output_tokens_per_s")
        assert [r.id for r in by_tps[:3]] == [ids[11], ids[10], ids[9]]
        assert by_tps[-1].id == failed  # no metric: last either way
        assert store.list_runs(sort="output_tokens_per_s")[-1].id == failed
        page = store.list_runs(sort="id", limit=5, offset=5)
        assert [r.id for r in page] == ids[5:10]
        assert [r.engine for r in store.list_runs(sort="engine", limit=4)] == ["hf-generate"] * 4
        assert store.list_runs(sort="-created_at", limit=1)[0].id == failed
        # config options sort by value (batch sizes 1..12 and 100: numerically, not as text), missing last
        store.add_run(TrialResult("no-bs", {"engine": "vllm", "model": "m0"}, "ok", {}))
        by_batch = store.list_runs(sort="config.batch_size")
        assert [r.config.get("batch_size") for r in by_batch] == [*range(1, 13), 100, None]
        assert [r.config.get("batch_size") for r in store.list_runs(sort="-config.batch_size")][:3] == [100, 12, 11]
        assert [r.engine for r in store.list_runs(sort="config.engine")] == ["hf-generate"] * 9 + ["vllm"] * 5
        assert [d.summary.id for d in store.get_runs([ids[2], ids[0], 12345])] == [ids[2], ids[0]]
        assert "ttft_ms_p99" in store.metric_names()
        assert store.delete_runs(ids[:2]) == 2
        assert store.count_runs() == 12
        with pytest.raises(StoreError, match="no run"):
            store.get_run(ids[0])


def test_sweeps_are_listed_with_run_counts(store_url: str) -> None:
    with Store(store_url) as store:
        a = store.create_sweep("a", {"k": 1}, "grid")
        b = store.create_sweep("a", {"k": 2}, "random")
        store.add_runs([_result(0), _result(1)], sweep_id=b)
        store.set_sweep_status(b, "finished")
        sweeps = store.list_sweeps()
        assert [(s.id, s.run_count, s.status) for s in sweeps] == [(b, 2, "finished"), (a, 0, "running")]
        assert store.latest_sweep("a").profile == {"k": 2}
        assert store.latest_sweep("zzz") is None


def test_add_runs_is_all_or_nothing(store_url: str) -> None:
    bad = _result(1)
    bad.requests = [bad.requests[0], bad.requests[0]]  # duplicate primary key: the insert must fail
    with Store(store_url) as store:
        with pytest.raises(sa.exc.IntegrityError):
            store.add_runs([_result(0), bad])
        assert store.count_runs() == 0
