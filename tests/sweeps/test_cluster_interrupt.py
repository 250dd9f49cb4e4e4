"""Ctrl-C on `inferlab sweep --cluster ADDRESS` (a real Ray head with two logical GPUs in its own process,
the CLI as a subprocess, the real demo model): SIGINT cancels the trials in flight, which are stored as
cancelled, keeps the finished results, exits 130, and `--resume` runs what is left."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.exit_codes import Exit
from app.store import Store

pytest.importorskip("ray", reason="the cluster extra (inferlab[cluster]) is not installed")

HEAD = """\
import sys, ray
ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=sys.argv[1])
print(ray.get_runtime_context().gcs_address, flush=True)
sys.stdin.read()  # the cluster lives until the test closes this process's stdin
"""
PROFILE = """\
name = "cluster-interrupt"
engine = "hf-generate"
model = "demo"
strategy = "grid"
repetitions = 1

[options]
device = "auto"
input_tokens = 8
output_tokens = 16
num_requests = 2
warmup_requests = 0
idle_baseline_s = 0.0

[axes]
batch_size = [1, 2, 3, 4]
"""


@pytest.fixture()
def ray_head(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A Ray head (2 CPUs, 2 logical GPUs) started by a process of its own; yields its address. Ray's
    token authentication is off for this loopback cluster, so the CLI (another driver) needs no token."""
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    head = subprocess.Popen([sys.executable, "-c", HEAD, temp], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert head.stdout is not None
        address = head.stdout.readline().strip()
        assert address, "the Ray head did not start"
        yield address
    finally:
        assert head.stdin is not None
        head.stdin.close()  # ray.shutdown() at its exit stops the cluster it started
        head.wait(timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def _sweep(profile: Path, store: str, address: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "app.cli.main", "sweep", str(profile), "--store", store,
                             "--cluster", address, *extra], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _read_until(stream: object, wanted: str, seen: list[str], timeout_s: float = 600) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = stream.readline()  # type: ignore[attr-defined]
        if not line:
            break
        seen.append(line)
        if wanted in line:
            return
    raise AssertionError(f"no line with {wanted!r} in:\n{''.join(seen)}")


@pytest.mark.cluster
@pytest.mark.slow
def test_ctrl_c_cancels_the_trials_in_flight_keeps_the_finished_and_resume_continues(
        ray_head: str, tmp_path: Path) -> None:
    profile = tmp_path / "interrupt.toml"
    profile.write_text(PROFILE)
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    sweep = _sweep(profile, store, ray_head)
    seen: list[str] = []
    _read_until(sweep.stderr, " ok: run ", seen)  # a first trial finished and is stored
    _read_until(sweep.stderr, "3/4: measure", seen)  # a later trial is generating (the model loaded)
    os.kill(sweep.pid, signal.SIGINT)
    out, err = sweep.communicate(timeout=180)
    log = "".join(seen) + err
    assert sweep.returncode == Exit.INTERRUPTED, log
    with Store(store) as opened:
        (stopped,) = opened.list_sweeps()
        runs = opened.list_runs(sweep_id=stopped.id, sort="id")
        assert stopped.status == "stopped", log
        outcomes = [(r.status, r.failure_cause) for r in runs]
        assert ("ok", None) in outcomes and ("cancelled", "cancelled") in outcomes, (outcomes, log)
        assert all(o in (("ok", None), ("cancelled", "cancelled")) for o in outcomes), (outcomes, log)
        finished = {r.id for r in runs if r.status == "ok"}

    resumed = _sweep(profile, store, ray_head, "--resume")
    out, err = resumed.communicate(timeout=600)
    assert resumed.returncode == Exit.OK, err
    with Store(store) as opened:
        runs = opened.list_runs(sweep_id=stopped.id, sort="id")
        assert opened.get_sweep(stopped.id).status == "finished"
    ok = [r for r in runs if r.status == "ok"]
    assert finished <= {r.id for r in ok}  # the results from before Ctrl-C are kept, not measured again
    assert sorted(r.config["batch_size"] for r in ok) == [1, 2, 3, 4]
