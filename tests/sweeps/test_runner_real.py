"""`run_profile` with Optuna on real tiny trials (demo model, real worker, real SQLite): events, pause,
the constraint, and resume continuing the study with only the missing trials."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
from pathlib import Path

import optuna
import psutil
import pytest

from app.store import Store
from app.sweeps import parse_profile, run_profile
from app.sweeps.study_journal import journal_storage, study_name

PROFILE = """\
name = "optuna-real"
engine = "hf-generate"
model = "demo"
strategy = "optuna"
repetitions = 1
constraints = ["peak_rss_bytes <= 20e9"]

[options]
device = "cpu"
input_tokens = 8
num_requests = 2
warmup_requests = 0
idle_baseline_s = 0.0

[axes]
batch_size = [1, 2]
output_tokens = [1, 2]

[budget]
n_trials = 2
seed = 0

[[objectives]]
metric = "output_tokens_per_s"
direction = "maximize"
"""


@pytest.mark.slow
def test_optuna_sweep_on_real_trials_pauses_and_resumes(data_dir: Path, tmp_path: Path) -> None:
    profile = parse_profile(PROFILE, "optuna-real.toml")
    events: list[dict] = []
    pause = threading.Event()
    pause.set()  # hold after the first trial; released when the runner says it is paused

    def on_event(event: dict) -> None:
        events.append(event)
        if event["type"] == "sweep-paused":
            threading.Timer(0.3, pause.clear).start()

    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        sweep_id = run_profile(profile, store, on_event=on_event, pause=pause)
        kinds = [e["type"] for e in events]
        assert kinds[0] == "sweep-started" and events[0]["total"] == 2
        assert kinds[-1] == "sweep-finished" and events[-1]["status"] == "finished"
        assert kinds.count("trial-finished") == 2 and kinds.count("sweep-paused") >= 1
        assert kinds.index("sweep-paused") > kinds.index("trial-finished")
        telemetry = [e for e in events if e["type"] == "telemetry"]
        assert telemetry and all(e["index"] in (0, 1) for e in telemetry)
        finished = [e for e in events if e["type"] == "trial-finished"]
        assert all(e["status"] == "ok" and e["metrics"]["output_tokens_per_s"] > 0 for e in finished)
        best = events[-1]["best_run_ids"]
        assert len(best) == 1 and best[0] in {e["run_id"] for e in finished}

        events.clear()
        more = dataclasses.replace(profile, n_trials=3)
        assert run_profile(more, store, on_event=on_event, resume=True) == sweep_id
        assert [e["type"] for e in events].count("trial-finished") == 1  # only the missing trial ran
        runs = store.list_runs(sweep_id=sweep_id)
        assert len(runs) == 3 and all(r.status == "ok" for r in runs)
        assert len({(r.config["batch_size"], r.config["output_tokens"]) for r in runs}) == 3
        assert all(store.get_run(r.id).telemetry for r in runs)
        study = optuna.load_study(study_name=study_name(sweep_id),
                                  storage=journal_storage(tmp_path / f"store.db.sweep-{sweep_id}.optuna.journal"))
        assert len(study.trials) == 3  # the resumed sweep continued the persisted study


CRASH_PROFILE = """\
name = "crash-then-go-on"
engine = "hf-generate"
model = "demo"
repetitions = 1

[options]
device = "cpu"
input_tokens = 8
output_tokens = 48
num_requests = 2
warmup_requests = 0
idle_baseline_s = 0.0

[axes]
batch_size = [1, 2]
"""


def _worker_pids() -> set[int]:
    """Engine worker processes started by this test process."""
    return {p.pid for p in psutil.Process().children(recursive=True)
            if "engine" in " ".join(p.cmdline())}


@pytest.mark.slow
def test_a_worker_killed_mid_trial_is_recorded_and_the_sweep_goes_on_in_a_fresh_worker(
        data_dir: Path, tmp_path: Path) -> None:
    profile = parse_profile(CRASH_PROFILE, "crash.toml")
    killed: list[int] = []
    later: list[set[int]] = []

    def on_event(event: dict) -> None:
        if event["type"] == "progress" and event["index"] == 0 and not killed:
            (pid,) = _worker_pids()
            os.kill(pid, signal.SIGKILL)  # what the kernel's OOM killer does
            killed.append(pid)
        elif event["type"] == "progress" and event["index"] == 1 and not later:
            later.append(_worker_pids())

    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        sweep_id = run_profile(profile, store, on_event=on_event)
        first, second = store.list_runs(sweep_id=sweep_id, sort="id")
        assert (first.status, first.failure_cause) == ("failed", "killed"), first.failure_message
        assert second.status == "ok" and second.value("output_tokens_per_s") > 0
        assert later and killed[0] not in later[0]  # the second trial ran in a new worker
        assert store.get_sweep(sweep_id).status == "finished"


@pytest.mark.slow
def test_resuming_with_changed_axes_runs_only_the_new_trials_and_keeps_the_old(data_dir: Path,
                                                                               tmp_path: Path) -> None:
    short = CRASH_PROFILE.replace("output_tokens = 48", "output_tokens = 2")
    first = parse_profile(short, "grid.toml")
    changed = parse_profile(short.replace("batch_size = [1, 2]", "batch_size = [2, 3]"), "grid.toml")
    events: list[dict] = []
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        sweep_id = run_profile(first, store)
        assert run_profile(changed, store, on_event=events.append, resume=True) == sweep_id
        kinds = [e["type"] for e in events]
        assert kinds.count("trial-skipped") == 1 and kinds.count("trial-finished") == 1  # batch 2 done, 3 new
        runs = store.list_runs(sweep_id=sweep_id, sort="id")
        assert [r.config["batch_size"] for r in runs] == [1, 2, 3]  # the dropped batch-1 run is kept
        assert all(r.status == "ok" for r in runs)


@pytest.mark.slow
def test_an_optuna_sweep_ends_once_its_grid_is_measured(data_dir: Path, tmp_path: Path) -> None:
    two_points = (PROFILE.replace("output_tokens = [1, 2]\n", "").replace("n_trials = 2", "n_trials = 5")
                  .replace("input_tokens = 8\n", "input_tokens = 8\noutput_tokens = 1\n"))
    events: list[dict] = []
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        sweep_id = run_profile(parse_profile(two_points, "grid-optuna.toml"), store, on_event=events.append)
        assert sorted(r.config["batch_size"] for r in store.list_runs(sweep_id=sweep_id)) == [1, 2]
    logs = [e["message"] for e in events if e["type"] == "log"]
    assert any("every point of the grid is measured" in m for m in logs), logs
    assert events[-1]["status"] == "finished"


GRID_PROFILE = """\
name = "grid-two"
engine = "hf-generate"
model = "demo"
[options]
input_tokens = 8
output_tokens = 2
num_requests = 1
warmup_requests = 0
repetitions = 1
idle_baseline_s = 0.0
[axes]
batch_size = [1, 2]
"""


def test_a_worker_that_cannot_start_is_recorded_per_trial_and_logged_with_its_traceback(
        data_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    profile = parse_profile(GRID_PROFILE, "grid.toml")
    missing_python = str(tmp_path / "no-such-python")
    with caplog.at_level("ERROR", logger="inferlab.sweeps.runner"), \
            Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        sweep_id = run_profile(profile, store, python=missing_python)
        runs = store.list_runs(sweep_id=sweep_id, sort="id")
        assert [(r.status, r.failure_cause) for r in runs] == [("failed", "worker-exit")] * 2
        assert all("worker failed to start" in (r.failure_message or "") for r in runs), runs[0].failure_message
        assert store.get_sweep(sweep_id).status == "finished"
    starts = [r for r in caplog.records if "worker failed to start" in r.getMessage()]
    assert len(starts) == 2 and all(r.exc_info and r.exc_info[0].__name__ == "WorkerStartError" for r in starts)


def test_a_bug_in_the_client_ends_the_sweep_as_failed_instead_of_posing_as_a_start_failure(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.worker_client import WorkerClient

    def buggy_run_trial(self: WorkerClient, *args: object, **kwargs: object) -> None:  # stand-in for a bug
        raise TypeError("a bug in the client")

    monkeypatch.setattr(WorkerClient, "run_trial", buggy_run_trial)
    profile = parse_profile(GRID_PROFILE, "grid.toml")
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        with pytest.raises(TypeError, match="a bug in the client"):
            run_profile(profile, store)
        sweep = store.latest_sweep("grid-two")
        assert sweep is not None and sweep.status == "failed"
        assert store.list_runs(sweep_id=sweep.id) == []  # nothing recorded under a false cause
