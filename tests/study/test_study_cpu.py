"""The shipped `study-cpu` profile for real: a slice of it (both engines in one sweep, batch sizes 1 and 4,
5 new tokens, 4 requests) run by `inferlab sweep` on the demo model into a real SQLite store (and resumed:
nothing runs again); then
`inferlab study best --json` is checked against an independent computation from the store's raw rows
(sqlite3 and pandas), and the study report finds no fair-comparison difference between the engines."""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from app.cli.commands import with_overrides
from app.store import Store
from app.study.report import StudySpec, build_study_report
from app.sweeps import dump_profile, load_profile
from app.sweeps.profile import Axis

REPO = Path(__file__).resolve().parents[2]
METRIC = "output_tokens_per_s"
BATCH_SIZES = (1, 4)

pytestmark = [pytest.mark.slow, pytest.mark.vllm]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.main", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=900, env=env)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory, demo_model_dir: Path) -> tuple[str, dict[str, str], str]:
    """The slice run through the CLI: (store URL, environment, the sweep's stderr)."""
    root = tmp_path_factory.mktemp("study-cpu")
    (root / "data" / "models").mkdir(parents=True)
    (root / "data" / "models" / demo_model_dir.name).symlink_to(demo_model_dir)
    shipped = load_profile(REPO / "profiles" / "study-cpu.toml")
    narrowed = with_overrides(shipped, {"output_tokens": 5, "num_requests": 4, "warmup_requests": 0},
                              "the test's slice")
    axes = tuple(Axis("batch_size", values=BATCH_SIZES) if a.name == "batch_size" else a for a in narrowed.axes)
    path = root / "study-cpu-slice.toml"
    path.write_text(dump_profile(dataclasses.replace(narrowed, axes=axes)), encoding="utf-8")
    url = f"sqlite:///{root / 'study.db'}"
    env = {**os.environ, "INFERLAB_DATA_DIR": str(root / "data"), "PYTHONPATH": str(REPO)}
    out = _cli("sweep", str(path), "--store", url, env=env)
    assert out.returncode == 0, out.stderr[-4000:]
    again = _cli("sweep", str(path), "--resume", "--store", url, env=env)  # every trial is found done
    assert again.returncode == 0, again.stderr[-4000:]
    return url, env, out.stderr


def _raw(url: str) -> pd.DataFrame:
    """One row per run straight from the database: engine, model, options, status, metric and load time."""
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    values = dict(conn.execute("SELECT run_id, value FROM metrics WHERE name = ? AND status = 'measured'",
                               (METRIC,)).fetchall())
    loads = dict(conn.execute("SELECT run_id, status FROM metrics WHERE name = 'load_time_s'").fetchall())
    rows = []
    for run_id, engine, model, status, config in conn.execute(
            "SELECT id, engine, model, status, config_json FROM runs ORDER BY id"):
        options = {k: v for k, v in json.loads(config).items() if k not in ("repetition", "trial_index")}
        rows.append({"id": run_id, "engine": engine, "model": model, "status": status,
                     "batch_size": options.get("batch_size"), "output_tokens": options.get("output_tokens"),
                     "key": json.dumps(options, sort_keys=True), "load": loads.get(run_id),
                     "value": values.get(run_id) if status == "ok" else None})
    conn.close()
    return pd.DataFrame(rows)


def test_one_sweep_runs_both_engines_over_the_same_workload(sweep: tuple[str, dict[str, str], str]) -> None:
    url, _, stderr = sweep
    raw = _raw(url)
    assert "differs between engines" not in stderr  # the shipped profile compares like for like
    assert (raw.status == "ok").all(), raw[["engine", "batch_size", "status"]]
    assert sorted(zip(raw.engine, raw.batch_size, strict=True)) == sorted(
        (e, b) for e in ("hf-pipeline", "vllm") for b in BATCH_SIZES)
    assert list(raw.engine) == sorted(raw.engine, key=["hf-pipeline", "vllm"].index)  # trials by load key
    assert sorted(raw.load[raw.load == "measured"].index.map(raw.engine)) == ["hf-pipeline", "vllm"]  # one load each
    assert set(raw.output_tokens) == {5}
    assert len(raw) == 2 * len(BATCH_SIZES)  # the resumed sweep re-ran nothing
    _, report = _report(url)
    assert report.section("fairness").rows == []


def _report(url: str):  # noqa: ANN202 - app.reports.model.Report
    with Store(url) as store:
        runs = store.list_runs(limit=None)
    return runs, build_study_report(runs, StudySpec(columns="output_tokens"), now=time.time())


def test_study_best_matches_the_raw_rows(sweep: tuple[str, dict[str, str], str]) -> None:
    url, env, _ = sweep
    raw = _raw(url)
    ok = raw[raw.value.notna()]
    point = ok.groupby(["model", "engine", "key"]).value.median()  # a configuration point: median of its runs
    out = _cli("study", "best", "--json", "--store", url, env=env)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["group"] for r in rows] == [[m] for m in sorted(set(ok.model))]
    for row in rows:
        per_engine = point.loc[row["group"][0]]
        best = per_engine.groupby(level="engine").max()
        at = per_engine.groupby(level="engine").idxmax()
        assert sorted(row["best"]) == ["hf-pipeline", "vllm"]
        for engine, got in row["best"].items():
            assert got["value"] == pytest.approx(best[engine], rel=1e-12)
            assert dict(got["options"])["batch_size"] == json.loads(at[engine][1])["batch_size"]
        ratio = best["vllm"] / best["hf-pipeline"]
        assert row["ratios"]["vllm/hf-pipeline"] == pytest.approx(ratio, rel=1e-12)
        print(f"best output tok/s on CPU, demo model: hf-pipeline {best['hf-pipeline']:.1f}, vllm "
              f"{best['vllm']:.1f}, ratio {ratio:.3g} (batch sizes {BATCH_SIZES}, 5 new tokens, 4 requests)")
