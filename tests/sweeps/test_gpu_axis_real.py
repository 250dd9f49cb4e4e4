"""The GPU axis through a real sweep (demo model, real worker processes, real SQLite) on this machine,
which has no NVIDIA GPU: a num_gpus axis runs its one-GPU point (on the CPU, as device 'auto' allows)
and refuses its two-GPU point before loading, with the count seen; a trial with gpu_devices gets a
worker started with those devices visible, recorded in the run's environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.store import Store
from app.sweeps import parse_profile, run_profile

PROFILE = """\
name = "gpu-axis"
engine = "hf-generate"
model = "demo"
repetitions = 1

[options]
input_tokens = 8
output_tokens = 2
num_requests = 1
batch_size = 1
warmup_requests = 0
idle_baseline_s = 0.0
telemetry_hz = 0.0
{options}
[axes]
{axes}
"""


def _sweep(store: Store, options: str, axes: str) -> list:
    profile = parse_profile(PROFILE.format(options=options, axes=axes), "gpu-axis.toml")
    events: list[dict] = []
    sweep_id = run_profile(profile, store, on_event=events.append)
    assert events[-1]["type"] == "sweep-finished" and events[-1]["status"] == "finished"
    return [store.get_run(r.id) for r in store.list_runs(sweep_id=sweep_id, sort="id")]


@pytest.mark.slow
def test_a_num_gpus_axis_runs_one_gpu_and_refuses_two_with_the_count_seen(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        one, two = _sweep(store, "", "num_gpus = [1, 2]")
    assert one.summary.config["num_gpus"] == 1 and one.summary.status == "ok"
    assert two.summary.config["num_gpus"] == 2 and two.summary.status == "failed"
    assert two.summary.failure_cause == "unsupported"
    assert two.summary.failure_message.startswith("num_gpus: ") and "sees 0" in two.summary.failure_message
    assert not [m for m in two.summary.metrics.values() if m.status == "measured"]  # refused before loading


@pytest.mark.slow
def test_each_device_list_gets_a_worker_that_sees_exactly_those_devices(
        data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        runs = _sweep(store, "", 'gpu_devices = ["0", "1"]')
    for run, listed in zip(runs, ("0", "1"), strict=True):
        hardware = run.environment["hardware"]
        assert run.summary.config["gpu_devices"] == listed
        assert hardware["CUDA_VISIBLE_DEVICES"] == listed and hardware["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
        # no NVIDIA GPU here: the named device cannot be used, and the run says so before loading
        assert run.summary.failure_cause == "unsupported" and run.summary.failure_message.startswith("gpu_devices: ")
        assert "0 NVIDIA GPUs are seen" in run.summary.failure_message


def test_a_cluster_trial_asks_ray_for_num_gpus_gpus() -> None:
    from app.sweeps.cluster import gpus_for
    from engine.config import TrialConfig

    def gpus(cluster_gpus: float, **flat: object) -> int:
        return gpus_for(TrialConfig.from_flat({"engine": "hf-generate", **flat}), cluster_gpus)

    assert gpus(8, num_gpus=4) == 4 and gpus(8) == 1
    assert gpus(8, device="cpu") == 0 and gpus(0, num_gpus=2) == 0
    vllm = TrialConfig.from_flat({"engine": "vllm", "num_gpus": 4, "pipeline_parallel_size": 2})
    assert gpus_for(vllm, 8) == 4


@pytest.mark.slow
def test_a_worker_not_started_with_the_trials_devices_refuses_it(data_dir: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core.worker_client import WorkerClient

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    with WorkerClient() as client:  # started by hand, without the trial's environment
        result = client.run_trial({"engine": "hf-generate", "model": "demo", "gpu_devices": "0"})
    assert result.status == "failed" and result.failure_cause == "unsupported"
    assert result.failure_message.startswith("gpu_devices: this worker was started with")
    assert "'CUDA_VISIBLE_DEVICES': '0'" in result.failure_message
