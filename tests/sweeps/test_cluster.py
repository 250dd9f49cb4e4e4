"""A sweep on a real local Ray cluster (started here, with two logical GPUs on this CPU machine) and the
real demo model: two trials in flight on distinct devices, a Ray worker killed mid-trial fails that
trial with `node-lost` while the sweep goes on, and a resumed sweep runs that trial again.

The GPUs are Ray's logical resources (this machine has no NVIDIA driver): Ray assigns them and sets
`CUDA_VISIBLE_DEVICES` exactly as on a GPU node; the CPU-only torch then runs the trials on the CPU.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.store import Store
from app.sweeps import parse_profile, run_profile

ray = pytest.importorskip("ray", reason="the cluster extra (inferlab[cluster]) is not installed")

PROFILE = """\
name = "cluster-tiny"
engine = "hf-generate"
model = "demo"
strategy = "grid"
repetitions = 1

[options]
device = "auto"
input_tokens = 8
num_requests = 1
warmup_requests = 0
idle_baseline_s = 0.0
telemetry_hz = 10.0

[axes]
batch_size = [1, 2, 3, 4, 5, 6]
output_tokens = [1, 2]
"""


@pytest.fixture()
def local_cluster(data_dir: Path) -> Iterator[None]:
    """A real Ray head in this process: 2 CPUs and 2 logical GPUs; its workers inherit the data dir."""
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False, _temp_dir=temp)
    try:
        yield
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.cluster
@pytest.mark.slow
def test_cluster_sweep_runs_two_at_once_survives_a_lost_worker_and_resumes(local_cluster: None,
                                                                          tmp_path: Path) -> None:
    profile = parse_profile(PROFILE, "cluster-tiny.toml")
    events: list[dict[str, Any]] = []
    killed: list[int] = []

    def on_event(event: dict[str, Any]) -> None:
        events.append(event)
        # Kill the Ray worker of the second trial as soon as Ray has placed it: that trial is the first
        # on a fresh actor, so its engine worker is still starting and loading the model (seconds).
        if event["type"] == "trial-placed" and event["index"] == 1:
            killed.append(event["index"])
            os.kill(event["pid"], signal.SIGKILL)

    with Store(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        sweep_id = run_profile(profile, store, on_event=on_event, cluster="auto")
        runs = store.list_runs(sweep_id=sweep_id, sort="id")
        details = {r.id: store.get_run(r.id) for r in runs}

        assert killed == [1]
        assert len(runs) == 12
        lost = [r for r in runs if r.status != "ok"]
        assert [(r.status, r.failure_cause) for r in lost] == [("failed", "node-lost")], \
            [(r.status, r.failure_cause, r.failure_message) for r in lost]
        assert "Ray worker or node" in (lost[0].failure_message or "")
        # every stored trial says where it ran; trials that overlapped in time had distinct devices
        where = {i: d.environment["cluster"] for i, d in details.items() if d.summary.status == "ok"}
        assert all(w["node_id"] and w["gpu_ids"] and w["cuda_visible_devices"] for w in where.values())
        spans = {i: (details[i].started_at, details[i].finished_at) for i in where}
        overlapping = [(a, b) for a in where for b in where
                       if a < b and spans[a][0] < spans[b][1] and spans[b][0] < spans[a][1]]
        assert overlapping, "no two trials ran at once"
        assert all(where[a]["cuda_visible_devices"] != where[b]["cuda_visible_devices"] for a, b in overlapping)
        # the worker's progress and telemetry reached the driver for every trial
        seen = {(e["type"], e["index"]) for e in events if "index" in e}
        assert all(("progress", i) in seen and ("trial-placed", i) in seen for i in range(12) if i != 1)
        assert any(kind == "telemetry" for kind, _ in seen)

        resumed = run_profile(profile, store, cluster="auto", resume=True)
        assert resumed == sweep_id
        again = store.list_runs(sweep_id=sweep_id, sort="id")
        assert len(again) == 13
        assert again[-1].status == "ok" and again[-1].config == lost[0].config
