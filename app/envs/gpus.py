"""NVIDIA GPUs through NVML (nvidia-ml-py): driver version, CUDA driver version, names and memory.

NVML ships with the NVIDIA driver, so "no NVML" usually means "no NVIDIA driver": the report says which
of the possible reasons it was, in words a user can act on.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class GpuInfo:
    index: int
    name: str
    mem_total_bytes: int


@dataclasses.dataclass(frozen=True)
class NvmlReport:
    """What NVML said. `available` False comes with a `reason` (and then no driver or GPUs)."""

    available: bool
    reason: str = ""
    driver_version: str = ""
    cuda_driver_version: str = ""
    gpus: tuple[GpuInfo, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def discover_gpus() -> NvmlReport:
    """Query NVML once (init → read → shutdown); never raises."""
    try:
        import pynvml
    except ImportError:
        return NvmlReport(False, "the nvidia-ml-py package is not installed in InferLab's environment, "
                                 "so NVIDIA GPUs cannot be queried (fix: pip install nvidia-ml-py)")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return NvmlReport(False, _init_failure_reason(pynvml, exc))
    try:
        return _read(pynvml)
    except pynvml.NVMLError as exc:
        return NvmlReport(False, f"NVML answered but could not be read: {exc}")
    finally:
        pynvml.nvmlShutdown()


def _init_failure_reason(pynvml: Any, exc: Exception) -> str:
    if isinstance(exc, pynvml.NVMLError_LibraryNotFound):
        return ("NVML library (libnvidia-ml.so.1) not found: no NVIDIA driver is installed, so no NVIDIA "
                "GPU can be used; the engine runs on the CPU (fix: install the NVIDIA driver if this "
                "machine has an NVIDIA GPU)")
    if isinstance(exc, pynvml.NVMLError_DriverNotLoaded):
        return "the NVIDIA driver is installed but not loaded (fix: reboot, or load the nvidia kernel module)"
    if isinstance(exc, pynvml.NVMLError_NoPermission):
        return "no permission to talk to the NVIDIA driver (fix: check /dev/nvidia* permissions)"
    return f"NVML could not start: {exc}"


def _read(pynvml: Any) -> NvmlReport:
    driver = _text(pynvml.nvmlSystemGetDriverVersion())
    cuda = pynvml.nvmlSystemGetCudaDriverVersion()  # e.g. 12040 -> "12.4"
    gpus = []
    for index in range(pynvml.nvmlDeviceGetCount()):
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
        gpus.append(GpuInfo(index, _text(pynvml.nvmlDeviceGetName(handle)), int(memory.total)))
    return NvmlReport(True, "", driver, f"{cuda // 1000}.{cuda % 1000 // 10}", tuple(gpus))


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
