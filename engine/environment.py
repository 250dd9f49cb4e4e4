"""The hardware/software record attached to every result."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

import psutil

import engine
from engine import registry
from engine.meters import devices, nvml

MEASUREMENT_METHOD = (
    "Each repetition is timed with time.perf_counter around the backend call; per-token times come from a "
    "generate streamer (one perf_counter read per decode step, after the step's tokens reach the host, "
    "which synchronises CUDA). Throughputs are medians over repetitions with a 95% CI of the mean; "
    "latency percentiles are over every measured request. Warm-up requests are not recorded."
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def available_cores() -> int:
    """Cores this process may run on (affinity/cgroup-aware where the OS says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def compute_threads() -> int:
    """Compute threads for the inference library: INFERLAB_NUM_THREADS if set, else the available cores."""
    override = os.environ.get("INFERLAB_NUM_THREADS", "")
    return int(override) if override.isdigit() and int(override) > 0 else available_cores()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def software() -> dict[str, Any]:
    torch = sys.modules.get("torch")
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "engine_version": engine.__version__,
        **registry.library_versions(),
        "optimum_quanto": _version("optimum-quanto"),
        "torchao": _version("torchao"),
        "cuda_runtime": getattr(getattr(torch, "version", None), "cuda", None) if torch else None,
    }


def threads() -> dict[str, Any]:
    torch = sys.modules.get("torch")
    return {
        "torch_num_threads": torch.get_num_threads() if torch else None,
        "torch_num_interop_threads": torch.get_num_interop_threads() if torch else None,
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        "MKL_NUM_THREADS": os.environ.get("MKL_NUM_THREADS"),
        "INFERLAB_NUM_THREADS": os.environ.get("INFERLAB_NUM_THREADS"),
    }


def record() -> dict[str, Any]:
    """The environment record of this worker process, now."""
    return {
        "hardware": {
            "cpu_model": cpu_model(),
            "cpu_logical_cores": psutil.cpu_count(logical=True),
            "cpu_physical_cores": psutil.cpu_count(logical=False),
            "cores_available": available_cores(),
            "ram_total_bytes": psutil.virtual_memory().total,
            **nvml.describe_gpus(),
            **devices.cuda_env(),
        },
        "software": software(),
        "threads": threads(),
        "measurement_method": MEASUREMENT_METHOD,
    }
