"""NVIDIA GPUs as the app reports them (doctor, first-run dialog, About): driver version, CUDA driver
version, names, UUIDs and memory, read through the engine's one NVML module (`engine.meters.nvml`).

NVML ships with the NVIDIA driver, so "no NVML" usually means "no NVIDIA driver": the report says which
of the possible reasons it was, in words a user can act on.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from engine.meters import nvml


@dataclasses.dataclass(frozen=True)
class GpuInfo:
    index: int  # NVML's (PCI bus order), not necessarily CUDA's
    name: str
    mem_total_bytes: int | None  # None where NVML cannot read it
    uuid: str = ""

    def memory_text(self) -> str:
        return "memory unreadable" if self.mem_total_bytes is None else f"{self.mem_total_bytes / 2**30:.1f} GiB"


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
    """What NVML sees on this machine; never raises."""
    described = nvml.describe_gpus()
    if not nvml.started():
        return NvmlReport(False, described["nvml"])
    gpus = tuple(GpuInfo(g["index"], g["name"], g["mem_total_bytes"], g["uuid"]) for g in described["gpus"])
    driver, cuda = nvml.driver_versions()
    return NvmlReport(True, described.get("nvml", ""), driver or "unreadable", cuda or "unreadable", gpus)
