"""Memory meters: peak worker RSS over the measured window (Linux VmHWM, reset before the window),
peak CUDA allocated/reserved (torch, CUDA only), peak NVML memory (from telemetry samples)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from engine.results import Measurement

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


class MemoryMeter:
    """Call `begin()` before the measured window and `metrics()` after it."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.hwm_reset = False
        self.rss_start = 0

    def begin(self) -> None:
        self.rss_start = psutil.Process().memory_info().rss
        try:  # writing 5 resets the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux >= 4.0)
            _CLEAR_REFS.write_text("5")
            self.hwm_reset = True
        except OSError:
            self.hwm_reset = False
        torch = sys.modules.get("torch")
        if self.device == "cuda" and torch is not None:
            torch.cuda.reset_peak_memory_stats()

    def metrics(self, samples: Sequence[dict[str, Any]]) -> dict[str, Measurement]:
        out = {"peak_rss_bytes": self._peak_rss(samples)}
        torch = sys.modules.get("torch")
        if self.device == "cuda" and torch is not None and torch.cuda.is_initialized() \
                and torch.cuda.max_memory_allocated() > 0:
            out["peak_cuda_allocated_bytes"] = Measurement.measured(
                torch.cuda.max_memory_allocated(), "B", "torch.cuda.max_memory_allocated over the measured window")
            out["peak_cuda_reserved_bytes"] = Measurement.measured(
                torch.cuda.max_memory_reserved(), "B", "torch.cuda.max_memory_reserved over the measured window")
        else:
            reason = ("the trial does not run on CUDA with torch" if self.device != "cuda" else
                      "CUDA memory is allocated outside the worker process (e.g. vLLM's engine core); "
                      "see the NVML peak")
            out["peak_cuda_allocated_bytes"] = Measurement.unavailable("B", reason)
            out["peak_cuda_reserved_bytes"] = Measurement.unavailable("B", reason)
        out["peak_gpu_memory_used_bytes"] = nvml_peak(samples)
        return out

    def _peak_rss(self, samples: Sequence[dict[str, Any]]) -> Measurement:
        if any(s.get("worker_processes", 1) > 1 for s in samples):
            peak = max(s["worker_rss_bytes"] for s in samples)
            return Measurement.measured(peak, "B", "highest RSS of the worker and its child processes (e.g. "
                                        f"vLLM's engine core) over {len(samples)} telemetry samples; short "
                                        "peaks between samples can be missed")
        if self.hwm_reset:
            for line in _STATUS.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return Measurement.measured(int(line.split()[1]) * 1024, "B",
                                                "kernel peak RSS (VmHWM) of the worker, reset before the window")
        seen = [s["worker_rss_bytes"] for s in samples] + [psutil.Process().memory_info().rss, self.rss_start]
        return Measurement.measured(max(seen), "B", "highest worker RSS among telemetry samples and the window "
                                    "ends (VmHWM reset not permitted here; short peaks can be missed)")


def nvml_peak(samples: Sequence[dict[str, Any]]) -> Measurement:
    """Highest NVML device memory used (summed over GPUs) among the telemetry samples."""
    totals = [sum(g["mem_used_bytes"] for g in s["gpus"]) for s in samples if s["gpus"]]
    if not totals:
        return Measurement.unavailable("B", "no NVML GPU samples (no NVIDIA GPU/driver, or telemetry off)")
    return Measurement.measured(max(totals), "B", f"highest NVML memory used over {len(totals)} telemetry "
                                "samples (all GPUs, all processes)")
