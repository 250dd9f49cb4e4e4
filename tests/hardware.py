"""What this machine really has, detected independently of InferLab's own code, so tests assert what
the machine has rather than assuming the dev machine's absent hardware."""

from __future__ import annotations

import ctypes
from pathlib import Path


def nvidia_gpu_count() -> int | None:
    """GPUs the NVIDIA driver reports (through libnvidia-ml directly, not pynvml), None without a usable
    driver."""
    try:
        lib = ctypes.CDLL("libnvidia-ml.so.1")
    except OSError:
        return None
    if lib.nvmlInit_v2() != 0:
        return None
    count = ctypes.c_uint(0)
    try:
        return count.value if lib.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0 else None
    finally:
        lib.nvmlShutdown()


def rapl_readable() -> bool:
    """True if a CPU package RAPL energy counter is readable by this user."""
    for counter in Path("/sys/class/powercap").glob("intel-rapl:*/energy_uj"):
        try:
            int(counter.read_text())
            return True
        except (OSError, ValueError):
            continue
    return False
