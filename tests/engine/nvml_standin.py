"""A scripted NVML stand-in, installed as `pynvml` where no NVIDIA driver exists (this machine).

It is a stand-in at the `pynvml` boundary only: tests that use it check InferLab's arithmetic (which
GPUs are read, how counters become figures, how failed reads are reported), not anything about a GPU.
Each scripted GPU's energy counter advances at `power_w` with real time, like the board's counter.
"""

from __future__ import annotations

import dataclasses
import time
import types
from typing import Any

NVML_TEMPERATURE_GPU, NVML_CLOCK_SM, NVML_CLOCK_MEM = 0, 1, 2


class NVMLError(Exception):
    pass


class NVMLError_NotSupported(NVMLError):  # noqa: N801 - pynvml's own class names
    def __str__(self) -> str:
        return "Not Supported"


class NVMLError_LibraryNotFound(NVMLError):  # noqa: N801
    pass


class NVMLError_DriverNotLoaded(NVMLError):  # noqa: N801
    pass


class NVMLError_NoPermission(NVMLError):  # noqa: N801
    pass


@dataclasses.dataclass
class ScriptedGpu:
    uuid: str
    pci_bus_id: str
    name: str = "NVIDIA H100 80GB HBM3"
    power_w: float = 100.0
    mem_used_bytes: int = 1 << 30
    pids: tuple[int, ...] = ()
    broken: set[str] = dataclasses.field(default_factory=set)  # pynvml function names that raise NotSupported
    mig: bool = False
    _energy_mj: float = 1e9
    _at: float = dataclasses.field(default_factory=time.perf_counter)

    def energy_mj(self) -> int:
        now = time.perf_counter()
        self._energy_mj += self.power_w * (now - self._at) * 1e3
        self._at = now
        return int(self._energy_mj)


def standin(gpus: list[ScriptedGpu], migs: list[ScriptedGpu] = ()) -> types.ModuleType:  # type: ignore[assignment]
    """A module with the pynvml functions InferLab calls, answering from `gpus` (NVML index order)."""
    m = types.ModuleType("pynvml")
    for name, value in globals().items():
        if name.startswith(("NVML", "NVMLError")):
            setattr(m, name, value)

    def call(name: str, gpu: ScriptedGpu, value: Any) -> Any:
        if name in gpu.broken:
            raise NVMLError_NotSupported()
        return value() if callable(value) else value

    def by_uuid(uuid: str) -> ScriptedGpu:
        for gpu in [*gpus, *migs]:
            if gpu.uuid == uuid:
                return gpu
        raise NVMLError_NotSupported()

    m.nvmlInit = lambda: None
    m.nvmlShutdown = lambda: None
    m.nvmlDeviceGetCount = lambda: len(gpus)
    m.nvmlDeviceGetHandleByIndex = lambda i: gpus[i]
    m.nvmlDeviceGetHandleByUUID = by_uuid
    m.nvmlDeviceGetUUID = lambda g: g.uuid
    m.nvmlDeviceGetName = lambda g: call("nvmlDeviceGetName", g, g.name.encode())
    m.nvmlDeviceGetPciInfo = lambda g: call("nvmlDeviceGetPciInfo", g, types.SimpleNamespace(busId=g.pci_bus_id))
    m.nvmlDeviceGetMemoryInfo = lambda g: call("nvmlDeviceGetMemoryInfo", g, types.SimpleNamespace(
        used=g.mem_used_bytes, total=80 << 30))
    m.nvmlDeviceGetUtilizationRates = lambda g: call("nvmlDeviceGetUtilizationRates", g,
                                                     types.SimpleNamespace(gpu=50, memory=20))
    m.nvmlDeviceGetPowerUsage = lambda g: call("nvmlDeviceGetPowerUsage", g, int(g.power_w * 1000))
    m.nvmlDeviceGetTemperature = lambda g, _kind: call("nvmlDeviceGetTemperature", g, 40)
    m.nvmlDeviceGetClockInfo = lambda g, _kind: call("nvmlDeviceGetClockInfo", g, 1500)
    m.nvmlDeviceGetTotalEnergyConsumption = lambda g: call("nvmlDeviceGetTotalEnergyConsumption", g, g.energy_mj)
    m.nvmlDeviceGetComputeRunningProcesses = lambda g: [types.SimpleNamespace(pid=p) for p in g.pids]
    m.nvmlSystemGetDriverVersion = lambda: "580.65.06"
    m.nvmlSystemGetCudaDriverVersion = lambda: 13000
    return m
