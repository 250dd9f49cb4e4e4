"""GPU figures right by construction: which GPUs are read, how failed reads and short or negative
windows are reported. These are tests of InferLab's arithmetic against a scripted NVML stand-in
(`tests/engine/nvml_standin.py`, installed as `pynvml`), not evidence about a GPU."""

from __future__ import annotations

import os
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.meters import devices, energy, nvml
from engine.meters.memory import nvml_peak
from tests.engine.nvml_standin import ScriptedGpu, standin

A100 = "NVIDIA A100-SXM4-80GB"


def _gpus(*powers: float, names: tuple[str, ...] = ()) -> list[ScriptedGpu]:
    return [ScriptedGpu(f"GPU-{i}{i}{i}{i}aaaa-0000-0000-0000-00000000000{i}", f"00000000:{0x18 + i:02X}:00.0",
                        power_w=p, **({"name": names[i]} if names else {})) for i, p in enumerate(powers)]


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[ScriptedGpu]]:
    """Three scripted GPUs at 100, 200 and 300 W; no RAPL; no CUDA variables set."""
    gpus = _gpus(100.0, 200.0, 300.0)
    monkeypatch.setitem(sys.modules, "pynvml", standin(gpus))
    monkeypatch.setattr(nvml, "_state", {})
    monkeypatch.setattr(energy, "POWERCAP", tmp_path / "no-powercap")
    for name in ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER"):
        monkeypatch.delenv(name, raising=False)
    yield gpus


def _uuids(found: devices.DeviceSet) -> list[str]:
    return [g.uuid for g in found.gpus]


def _run(meter: energy.EnergyMeter, seconds: float, tokens: int, repetitions: int = 2) -> dict:
    for _ in range(repetitions):
        meter.begin()
        time.sleep(seconds)
        meter.end(tokens)
    return meter.metrics()


def test_the_gpu_named_by_uuid_in_cuda_visible_devices_is_the_one_read(
        scripted: list[ScriptedGpu], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", scripted[2].uuid[:12])  # CUDA accepts a unique prefix
    used = devices.trial_gpus(1)
    assert _uuids(used) == [scripted[2].uuid]
    m = _run(energy.EnergyMeter(used), 0.3, tokens=10)
    assert m["gpu_mean_power_w"].value == pytest.approx(300.0, rel=0.05)  # GPU 2's power, not GPU 0's 100 W
    assert scripted[2].uuid in m["gpu_energy_j"].method and scripted[0].uuid not in m["gpu_energy_j"].method
    assert m["gpu_energy_j"].n == 2


def test_indices_follow_cuda_device_order_and_parsing_stops_where_cuda_stops(
        scripted: list[ScriptedGpu], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,0,bogus,1")
    assert _uuids(devices.trial_gpus(2)) == [scripted[2].uuid, scripted[0].uuid]
    assert "needs 3 GPU(s) but CUDA sees 2" in devices.trial_gpus(3).reason
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert devices.trial_gpus(1).gpus == () and "CUDA sees 0" in devices.trial_gpus(1).reason
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES")
    assert _uuids(devices.trial_gpus(1)) == [scripted[0].uuid]


def test_fastest_first_among_different_models_is_unknown_and_says_how_to_fix(
        monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = _gpus(100.0, 200.0, names=("NVIDIA H100 80GB HBM3", A100))
    monkeypatch.setitem(sys.modules, "pynvml", standin(gpus))
    monkeypatch.setattr(nvml, "_state", {})
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    monkeypatch.delenv("CUDA_DEVICE_ORDER", raising=False)
    unknown = devices.trial_gpus(1)
    assert unknown.gpus == () and "CUDA_DEVICE_ORDER=PCI_BUS_ID" in unknown.reason
    assert energy.EnergyMeter(unknown).metrics()["gpu_energy_j"].method == unknown.reason
    monkeypatch.setenv("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    assert _uuids(devices.trial_gpus(1)) == [gpus[1].uuid]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", gpus[1].uuid)  # a UUID needs no order
    monkeypatch.delenv("CUDA_DEVICE_ORDER")
    assert _uuids(devices.trial_gpus(1)) == [gpus[1].uuid]


def test_a_mig_instance_is_read_but_its_energy_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    gpus = _gpus(100.0)
    mig = ScriptedGpu("MIG-5f1e-aaaa", "00000000:18:00.0", mig=True)
    monkeypatch.setitem(sys.modules, "pynvml", standin(gpus, [mig]))
    monkeypatch.setattr(nvml, "_state", {})
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", mig.uuid)
    used = devices.trial_gpus(1)
    assert _uuids(used) == [mig.uuid] and used.gpus[0].mig
    m = _run(energy.EnergyMeter(used), 0.01, tokens=4, repetitions=1)
    assert m["gpu_energy_j"].status == "unavailable" and "MIG instance" in m["gpu_energy_j"].method


def test_failed_reads_are_none_with_the_nvml_error_never_zero(scripted: list[ScriptedGpu]) -> None:
    scripted[0].broken = {"nvmlDeviceGetMemoryInfo", "nvmlDeviceGetUtilizationRates"}
    used = devices.trial_gpus(1)
    sample = nvml.gpu_sample(used.gpus[0])
    assert sample["util_percent"] is None and sample["mem_used_bytes"] is None
    assert "NotSupported" in sample["errors"]["mem_used_bytes"] and sample["power_w"] == 100.0
    peak = nvml_peak([{"gpus": [sample]}], used)
    assert peak.status == "unavailable" and "nvmlDeviceGetMemoryInfo" in peak.method


def test_nvml_memory_peak_sums_only_the_trials_gpus(scripted: list[ScriptedGpu],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1,2")
    used = devices.trial_gpus(2)
    scripted[0].mem_used_bytes = 70 << 30  # another job's memory on a GPU the trial does not use
    every = [nvml.gpu_sample(g) for g in nvml.gpus()[0]]
    peak = nvml_peak([{"gpus": every}], used)
    assert peak.value == 2 << 30 and scripted[1].uuid in peak.method


def test_an_energy_read_failing_mid_window_is_unavailable_not_a_made_up_delta(
        scripted: list[ScriptedGpu], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    meter = energy.EnergyMeter(devices.trial_gpus(2))
    meter.begin()
    scripted[1].broken = {"nvmlDeviceGetTotalEnergyConsumption"}
    meter.end(10)
    m = meter.metrics()
    assert m["gpu_energy_j"].value is None and "NotSupported" in m["gpu_energy_j"].method
    assert scripted[1].uuid in m["gpu_energy_j"].method
    assert m["energy_j_per_output_token"].status == "unavailable"


def test_a_gpu_without_an_energy_counter_makes_gpu_energy_unavailable(scripted: list[ScriptedGpu]) -> None:
    scripted[0].broken = {"nvmlDeviceGetTotalEnergyConsumption"}
    m = _run(energy.EnergyMeter(devices.trial_gpus(1)), 0.01, tokens=4, repetitions=1)
    assert m["gpu_energy_j"].status == "unavailable" and "Volta" in m["gpu_energy_j"].method


def test_short_windows_and_a_short_baseline_are_flagged_estimates(scripted: list[ScriptedGpu]) -> None:
    meter = energy.EnergyMeter(devices.trial_gpus(1))
    meter.idle_baseline(0.2, "before the model load")
    m = _run(meter, 0.2, tokens=8)
    # the window is 0.2 s of sleep plus whatever a loaded machine adds, still well under 1 s
    assert m["gpu_energy_j"].status == "estimated" and re.search(r"0\.[2-9]\d s < 1 s", m["gpu_energy_j"].method)
    net = m["gpu_energy_net_j"]
    assert net.status == "estimated" and re.search(r"idle baseline lasted 0\.[2-9]", net.method)
    assert "before the model load" in net.method


def test_long_windows_are_measured_and_net_subtracts_the_idle_power(scripted: list[ScriptedGpu]) -> None:
    meter = energy.EnergyMeter(devices.trial_gpus(1))
    meter.idle_baseline(1.0, "before the model load")
    scripted[0].power_w = 250.0  # under load
    m = _run(meter, 1.0, tokens=100, repetitions=1)
    assert m["gpu_energy_j"].status == "measured" and m["gpu_energy_j"].value == pytest.approx(250, rel=0.05)
    assert m["gpu_energy_net_j"].status == "measured"
    assert m["gpu_energy_net_j"].value == pytest.approx(150, rel=0.08)
    assert m["gpu_j_per_output_token"].value == pytest.approx(2.5, rel=0.05)


def test_a_negative_net_energy_is_never_reported_as_measured(scripted: list[ScriptedGpu]) -> None:
    meter = energy.EnergyMeter(devices.trial_gpus(1))
    scripted[0].power_w = 300.0  # still hot from a previous job while "idle"
    meter.idle_baseline(0.3, "before the model load")
    scripted[0].power_w = 100.0
    m = _run(meter, 0.3, tokens=8, repetitions=1)
    assert m["gpu_energy_j"].value > 0
    assert m["gpu_energy_net_j"].status == "unavailable" and "negative" in m["gpu_energy_net_j"].method


def test_j_per_token_is_unavailable_when_every_request_failed(scripted: list[ScriptedGpu]) -> None:
    m = _run(energy.EnergyMeter(devices.trial_gpus(1)), 0.05, tokens=0, repetitions=1)
    assert m["gpu_energy_j"].value > 0
    for name in ("gpu_j_per_output_token", "energy_j_per_output_token"):
        assert m[name].status == "unavailable" and "no output tokens" in m[name].method


def test_cpu_energy_net_of_idle_uses_the_idle_rapl_reading(scripted: list[ScriptedGpu], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    zone = tmp_path / "powercap" / "intel-rapl:0"
    zone.mkdir(parents=True)
    (zone / "max_energy_range_uj").write_text("262143328850\n")
    watts = {"now": 10.0}
    stop = threading.Event()

    def counter() -> None:  # a RAPL package counter (µJ) advancing at watts["now"]
        uj, at = 0.0, time.perf_counter()
        while not stop.is_set():
            now = time.perf_counter()
            uj, at = uj + watts["now"] * (now - at) * 1e6, now
            (zone / "next").write_text(f"{int(uj)}\n")
            (zone / "next").replace(zone / "energy_uj")  # atomic, as the kernel's file reads are
            stop.wait(0.005)

    (zone / "energy_uj").write_text("0\n")
    monkeypatch.setattr(energy, "POWERCAP", tmp_path / "powercap")
    thread = threading.Thread(target=counter, daemon=True)
    thread.start()
    try:
        meter = energy.EnergyMeter(devices.none("the trial runs on the CPU"))
        meter.idle_baseline(1.0, "before the model load")
        watts["now"] = 40.0
        m = _run(meter, 1.0, tokens=10, repetitions=1)
    finally:
        stop.set()
        thread.join()
    assert m["cpu_energy_j"].value == pytest.approx(40, rel=0.1)
    assert m["cpu_energy_net_j"].status == "measured" and m["cpu_energy_net_j"].value == pytest.approx(30, rel=0.15)
    assert m["gpu_energy_j"].method == "the trial runs on the CPU"
    assert m["energy_j_per_output_token"].value == m["cpu_j_per_output_token"].value


def test_a_local_servers_gpus_are_those_running_its_processes(scripted: list[ScriptedGpu]) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        scripted[1].pids = (os.getpid(),)  # this test process plays the server
        used = devices.server_gpus(server.getsockname()[1])
    finally:
        server.close()
    assert _uuids(used) == [scripted[1].uuid] and "compute process of the server" in used.how
