"""Meter arithmetic that the demo trials cannot reach on this machine (RAPL wrap, interval unions, child RSS)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from engine.meters import devices, energy
from engine.meters.latency import (
    Repetition,
    count_metrics,
    latency_metrics,
    mark_estimated,
    repetition_rates,
    throughput_metrics,
    union_s,
)
from engine.meters.memory import MemoryMeter
from engine.metric_names import info
from engine.results import RequestRecord


def _zone(root: Path, name: str, energy_uj: int, max_uj: int) -> Path:
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "energy_uj").write_text(f"{energy_uj}\n")
    (zone / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return zone


def test_rapl_counters_handle_wrap_around(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zone = _zone(tmp_path, "intel-rapl:0", 999_000_000, 1_000_000_000)
    _zone(tmp_path, "intel-rapl:0:0", 5, 1_000_000_000)  # a sub-zone (core): not counted twice
    monkeypatch.setattr(energy, "POWERCAP", tmp_path)
    rapl = energy.RaplCounters()
    assert len(rapl.zones) == 1 and rapl.reason == ""
    before = rapl.read_uj()
    (zone / "energy_uj").write_text("2000000\n")  # wrapped past max_energy_range_uj
    assert rapl.joules(before, rapl.read_uj()) == pytest.approx(3.0)


def test_missing_rapl_is_unavailable_with_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(energy, "POWERCAP", tmp_path / "absent")
    meter = energy.EnergyMeter(devices.none("the trial runs on the CPU"))
    meter.begin()
    meter.end(output_tokens=10)
    m = meter.metrics()
    assert m["cpu_energy_j"].status == "unavailable" and "RAPL" in m["cpu_energy_j"].method
    assert m["energy_j_per_output_token"].value is None


def test_interval_union_counts_overlaps_once() -> None:
    assert union_s([(0, 1), (0.5, 2), (3, 4)]) == pytest.approx(3.0)
    assert union_s([]) == 0.0


def test_batched_requests_share_prefill_and_decode_time() -> None:
    recs = [RequestRecord(0, i, 10, 5, 0.0, 0.1, 0.5) for i in range(4)]  # one batch of four
    rates = repetition_rates(Repetition(recs, wall_s=0.5))
    assert rates["output_tokens_per_s"] == pytest.approx(40.0)
    assert rates["prefill_tokens_per_s"] == pytest.approx(400.0)
    assert rates["decode_tokens_per_s"] == pytest.approx(16 / 0.4)


def test_peak_rss_counts_child_processes_with_one_method_whatever_the_telemetry() -> None:
    child_mb = 200
    code = (f"import time; b = bytearray({child_mb} << 20); b[::4096] = b'x' * len(b[::4096]); "
            "print('ready', flush=True); time.sleep(60)")  # every page touched, so resident
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        meter = MemoryMeter("cpu", devices.none("the trial runs on the CPU"))
        meter.begin()
        peak = meter.metrics(samples=[])["peak_rss_bytes"]  # telemetry off: no samples at all
        own = psutil.Process().memory_info().rss
    finally:
        child.kill()
        child.wait()
    assert peak.value >= own + child_mb * 0.9 * 2**20
    assert "child process" in peak.method and "VmHWM" in peak.method


def test_phase_rates_say_they_are_overlapping_intervals_not_pure_phases() -> None:
    # continuous batching: request 1 is prefilled while request 0 decodes
    recs = [RequestRecord(0, 0, 10, 5, 0.0, 0.1, 1.0), RequestRecord(0, 1, 10, 5, 0.5, 0.6, 1.5)]
    m = throughput_metrics([Repetition(recs, wall_s=1.5)])
    assert m["prefill_tokens_per_s"].value == pytest.approx(20 / 0.2)
    assert m["decode_tokens_per_s"].value == pytest.approx(8 / 1.4)
    for name in ("prefill_tokens_per_s", "decode_tokens_per_s"):
        assert "Not a pure" in m[name].method and "continuous batching" in m[name].method
        assert "continuous batching" in info(name).meaning


def test_figures_built_on_estimated_output_counts_are_labelled_estimated() -> None:
    recs = [RequestRecord(0, i, 10, 5, 0.0, 0.1, 0.5) for i in range(2)]
    reps = [Repetition(recs, wall_s=0.5)]
    metrics = {**throughput_metrics(reps), **latency_metrics(reps, [100.0], "stamps"),
               **count_metrics(reps, "re-tokenized locally")}
    mark_estimated(metrics, "re-tokenized locally (EOS not counted)")
    for name in ("output_tokens_total", "output_tokens_per_s", "total_tokens_per_s", "decode_tokens_per_s",
                 "tpot_ms_p50"):
        assert metrics[name].status == "estimated" and "EOS not counted" in metrics[name].method, name
        assert metrics[name].value is not None
    for name in ("input_tokens_total", "requests_per_s", "prefill_tokens_per_s", "ttft_ms_p50", "itl_ms_p50",
                 "e2e_ms_p50"):
        assert metrics[name].status == "measured", name
