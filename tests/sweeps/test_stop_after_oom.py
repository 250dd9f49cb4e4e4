"""`stop_after_oom` on an axis: an out-of-memory failure stops the climb of that axis (larger values, every
other option equal) in grid and random sweeps, on resume too, and bounds the Optuna grid the same way."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution

from app.cli.progress import Progress
from app.store import Store
from app.sweeps import ProfileError, parse_profile, run_profile
from app.sweeps.planning import plan_grid, plan_random, stopped_by_oom
from app.sweeps.profile_dump import dump_profile
from app.sweeps.search_space import GridSpace
from tests.memory_limit import HUGE_CACHE, limited_python

GRID = """\
name = "climb"
engine = "hf-generate"
model = "demo"

[options]
device = "cpu"

[axes]
batch_size = { values = [8, 1, 4, 2], stop_after_oom = true }
dtype = ["float32", "bfloat16"]
"""


def test_the_axis_key_parses_dumps_and_climbs_from_the_smallest_value() -> None:
    profile = parse_profile(GRID, "climb.toml")
    (batch, dtype) = profile.axes
    assert batch.stop_after_oom and not dtype.stop_after_oom
    assert parse_profile(dump_profile(profile), "again.toml") == profile
    assert "stop_after_oom" in profile.to_dict()["axes"][0]
    # ascending within each loaded model (dtype is a load-time option: one group per dtype)
    assert [(c["dtype"], c["batch_size"]) for c in plan_grid(profile)] == [
        (d, b) for d in ("float32", "bfloat16") for b in (1, 2, 4, 8)]
    randomly = parse_profile(GRID.replace('model = "demo"', 'model = "demo"\nstrategy = "random"\n'
                                          '[budget]\nn_trials = 5\nseed = 3'), "r.toml")
    drawn = plan_random(randomly)
    assert len(drawn) == 5
    for dtype in ("float32", "bfloat16"):
        sizes = [c["batch_size"] for c in drawn if c["dtype"] == dtype]
        assert sizes == sorted(sizes)
    ranged = parse_profile(GRID.replace("{ values = [8, 1, 4, 2], stop_after_oom = true }",
                                        "{ min = 1, max = 8, log = true, stop_after_oom = true }"), "x.toml")
    assert ranged.axes[0].stop_after_oom and ranged.axes[0].grid_points() == (1, 2, 4, 8)


def test_a_non_numeric_or_non_boolean_stop_is_refused_naming_the_line() -> None:
    with pytest.raises(ProfileError) as err:
        parse_profile(GRID.replace('dtype = ["float32", "bfloat16"]',
                                   'dtype = { values = ["float32"], stop_after_oom = true }'), "p.toml")
    assert err.value.key == "axes.dtype.stop_after_oom" and err.value.line == 10 and "numeric" in err.value.message
    with pytest.raises(ProfileError) as err:
        parse_profile(GRID.replace("stop_after_oom = true", 'stop_after_oom = "yes"'), "p.toml")
    assert err.value.key == "axes.batch_size.stop_after_oom" and "true or false" in err.value.message


def test_an_oom_stops_larger_values_with_every_other_option_equal_only() -> None:
    profile = parse_profile(GRID, "climb.toml")
    plan = plan_grid(profile)
    oom = next(c for c in plan if c["batch_size"] == 2 and c["dtype"] == "float32")
    stopped = [c for c in plan if stopped_by_oom(profile, c, [oom])]
    assert {(c["batch_size"], c["dtype"]) for c in stopped} == {(4, "float32"), (8, "float32")}
    reason = stopped_by_oom(profile, stopped[0], [oom])
    assert reason is not None and "out of memory at batch_size=2" in reason
    no_stop = parse_profile(GRID.replace(", stop_after_oom = true", ""), "plain.toml")
    assert not any(stopped_by_oom(no_stop, c, [oom]) for c in plan)


def test_the_optuna_grid_bounds_a_stop_after_oom_axis_the_same_way() -> None:
    dists = {"max_num_seqs": IntDistribution(0, 3), "dtype": CategoricalDistribution(["float32", "bfloat16"])}
    failed = {"max_num_seqs": 1, "dtype": "float32"}
    plain = GridSpace.of(dists)
    climbing = GridSpace.of(dists, frozenset({"max_num_seqs"}))
    assert plain is not None and climbing is not None
    assert plain.implied_oom(failed, plain.points()) == [failed]  # max_num_seqs is not in MEMORY_DIRECTION
    assert climbing.implied_oom(failed, climbing.points()) == [
        {"max_num_seqs": v, "dtype": "float32"} for v in (1, 2, 3)]


def test_progress_says_why_a_trial_is_not_run() -> None:
    stream = io.StringIO()
    progress = Progress(stream)
    progress({"type": "sweep-started", "sweep_id": 1, "total": 4})
    progress({"type": "trial-skipped", "index": 2, "total": 4, "run_id": None, "reason": "not run: out of memory "
              "at batch_size=2 with every other option equal (batch_size stops after out of memory)"})
    assert "trial 3/4 not run: out of memory at batch_size=2" in stream.getvalue()


REAL = f"""\
name = "real-oom"
engine = "hf-generate"
model = "demo"
repetitions = 1

[options]
device = "cpu"
batch_size = {HUGE_CACHE["batch_size"]}
num_requests = {HUGE_CACHE["num_requests"]}
warmup_requests = 0
input_tokens = 8
cache_implementation = "static"
idle_baseline_s = 0.0
telemetry_hz = 2.0

[axes]
output_tokens = {{ values = [131072, 65536], stop_after_oom = true }}
seed = [0, 1]
"""


@pytest.mark.slow
def test_a_real_oom_stops_the_axis_and_resume_keeps_it_stopped(data_dir: Path, tmp_path: Path) -> None:
    """Static KV caches of 4096 × (8 + 65536) positions really fail to allocate in a worker under a memory
    limit; the 131072-token trials of the same seed are then not run, nor stored, nor run on resume."""
    python = limited_python(tmp_path)
    profile = parse_profile(REAL, "real.toml")
    events: list[dict] = []
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        sweep_id = run_profile(profile, store, on_event=events.append, python=python)
        runs = store.list_runs(sweep_id=sweep_id, sort="id")
        assert [(r.config["output_tokens"], r.config["seed"], r.status, r.failure_cause) for r in runs] == [
            (65536, 0, "failed", "oom"), (65536, 1, "failed", "oom")]
        skipped = [e for e in events if e["type"] == "trial-skipped"]
        assert [(e["config"]["output_tokens"], e["config"]["seed"]) for e in skipped] == [(131072, 0), (131072, 1)]
        assert all("out of memory at output_tokens=65536" in e["reason"] and e["run_id"] is None for e in skipped)
        again: list[dict] = []
        assert run_profile(profile, store, on_event=again.append, python=python, resume=True) == sweep_id
        assert not [e for e in again if e["type"] == "trial-started"]
        assert sorted(bool(e.get("reason")) for e in again if e["type"] == "trial-skipped") == [False, False,
                                                                                                True, True]
        assert len(store.list_runs(sweep_id=sweep_id)) == 2


@pytest.mark.slow
def test_the_cli_shows_each_stopped_trial_and_counts_them(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "real.toml"
    path.write_text(REAL.replace("seed = [0, 1]", "seed = [0]"))
    proc = subprocess.run([sys.executable, "-m", "app.main", "sweep", str(path), "--python", limited_python(tmp_path),
                           "--store", f"sqlite:///{tmp_path / 'store.db'}"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "INFERLAB_NUM_THREADS": "1"},
                          cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 1, proc.stderr  # a trial failed (out of memory)
    assert "trial 1/2 failed (oom)" in proc.stderr
    assert "trial 2/2 not run: out of memory at output_tokens=65536 with every other option equal" in proc.stderr
    assert "1 trial(s) not run: an out-of-memory failure stopped their axis (stop_after_oom)" in proc.stderr
