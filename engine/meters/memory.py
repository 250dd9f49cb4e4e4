"""Memory meters: peak RSS of the worker and its child processes over the measured window (the kernel's
per-process peak, VmHWM, reset before the window), peak CUDA allocated/reserved (torch, CUDA only),
peak NVML memory of the trial's GPUs (from telemetry samples)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from engine.meters.devices import DeviceSet
from engine.results import Measurement
from engine.telemetry import ProcessTree

_PROC = Path("/proc")


class MemoryMeter:
    """Call `begin()` before the measured window and `metrics()` after it."""

    def __init__(self, device: str, devices: DeviceSet) -> None:
        self.device = device
        self.devices = devices
        self.tree = ProcessTree(refresh_s=0.0)
        self.not_reset: list[str] = []

    def begin(self) -> None:
        self.not_reset = []
        for proc in self.tree.members():
            try:  # writing 5 resets the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0)
                (_PROC / str(proc.pid) / "clear_refs").write_text("5")
            except OSError as exc:
                self.not_reset.append(f"pid {proc.pid}: {exc}")
        torch = sys.modules.get("torch")
        if self.device == "cuda" and torch is not None:
            for index in range(self._cuda_count()):
                torch.cuda.reset_peak_memory_stats(index)

    def metrics(self, samples: Sequence[dict[str, Any]]) -> dict[str, Measurement]:
        out = {"peak_rss_bytes": self._peak_rss()}
        torch = sys.modules.get("torch")
        if self.device == "cuda" and torch is not None and torch.cuda.is_initialized() \
                and torch.cuda.max_memory_allocated() > 0:
            count = self._cuda_count()
            over = ("over the measured window" if count == 1 else f"summed over the trial's {count} CUDA devices "
                    "(each device's own peak: an upper bound of the simultaneous total), over the measured window")
            out["peak_cuda_allocated_bytes"] = Measurement.measured(
                sum(torch.cuda.max_memory_allocated(i) for i in range(count)), "B",
                f"torch.cuda.max_memory_allocated {over}")
            out["peak_cuda_reserved_bytes"] = Measurement.measured(
                sum(torch.cuda.max_memory_reserved(i) for i in range(count)), "B",
                f"torch.cuda.max_memory_reserved {over}")
        else:
            reason = ("the trial does not run on CUDA with torch" if self.device != "cuda" else
                      "CUDA memory is allocated outside the worker process (e.g. vLLM's engine core); "
                      "see the NVML peak")
            out["peak_cuda_allocated_bytes"] = Measurement.unavailable("B", reason)
            out["peak_cuda_reserved_bytes"] = Measurement.unavailable("B", reason)
        out["peak_gpu_memory_used_bytes"] = nvml_peak(samples, self.devices)
        return out

    def _cuda_count(self) -> int:
        """CUDA devices 0..n-1 the trial uses (n: its GPUs as NVML resolved them, at least 1); never
        more, since touching another device would open a CUDA context on it."""
        return max(1, len(self.devices.gpus))

    def _peak_rss(self) -> Measurement:
        """One method whatever the telemetry does: the sum of each process's kernel peak RSS."""
        peaks: list[int] = []
        for proc in self.tree.members():
            try:
                peaks.append(_vm_hwm_bytes(proc.pid))
            except (OSError, ValueError, psutil.Error):
                continue  # a child that exited before the window's end: said in the method
        method = (f"sum of the kernel peak RSS (VmHWM) of the worker and its {len(peaks) - 1} child process(es) "
                  "alive at the window's end (e.g. vLLM's engine core), each reset at the window's start; "
                  "an upper bound of the simultaneous peak when processes peak at different times")
        if self.not_reset:
            return Measurement.estimated(sum(peaks), "B", method.replace(", each reset at the window's start", "")
                                         + "; ESTIMATE: the peak mark could not be reset ("
                                         + "; ".join(self.not_reset) + "), so it covers each process's life, "
                                         "model load included")
        return Measurement.measured(sum(peaks), "B", method)


def _vm_hwm_bytes(pid: int) -> int:
    for line in (_PROC / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"no VmHWM in /proc/{pid}/status")


def nvml_peak(samples: Sequence[dict[str, Any]], devices: DeviceSet) -> Measurement:
    """Highest NVML memory used, summed over the trial's GPUs, among the telemetry samples."""
    if not devices.gpus:
        return Measurement.unavailable("B", devices.reason)
    uuids = {g.uuid for g in devices.gpus}
    totals: list[int] = []
    for sample in samples:
        entries = [g for g in sample["gpus"] if g.get("uuid") in uuids]
        for entry in entries:
            if entry["mem_used_bytes"] is None:
                return Measurement.unavailable("B", f"{entry['uuid']}: {entry['errors']['mem_used_bytes']}")
        if len(entries) == len(uuids):
            totals.append(sum(e["mem_used_bytes"] for e in entries))
    if not totals:
        return Measurement.unavailable("B", "no telemetry samples of the trial's GPUs (telemetry_hz = 0)")
    return Measurement.measured(max(totals), "B", f"highest NVML memory used over {len(totals)} telemetry "
                                f"samples, summed over {devices.label()} (every process on them)")
