"""The one NVML opener: the engine's meters and telemetry, the app's GPU discovery and the GUI probe all
read NVIDIA GPUs through this module (a leaf: it imports nothing but nvidia-ml-py).

NVML is initialised once per process, lazily, and left open. Where the library, the driver or a GPU is
absent every caller gets the reason instead of a figure. A read that fails is None together with the
NVML error, never 0: `read` returns both.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

_lock = threading.Lock()
_state: dict[str, Any] = {}


@dataclasses.dataclass(frozen=True)
class Gpu:
    """One NVML device (a whole GPU, or a MIG instance when `mig` is true)."""

    index: int  # NVML index (NVML enumerates in PCI bus order); -1 for a MIG instance
    uuid: str  # "GPU-…" or "MIG-…"
    pci_bus_id: str
    name: str
    handle: Any = dataclasses.field(compare=False, repr=False)
    mig: bool = False

    def label(self) -> str:
        """How a figure's method names this device."""
        where = f"NVML {self.index}" if self.index >= 0 else "MIG instance"
        return f"{where} {self.name} {self.uuid}"


def gpus() -> tuple[list[Gpu], str]:
    """(every GPU NVML sees, "") or ([], the reason NVML cannot be used, in words a user can act on)."""
    with _lock:
        if "gpus" not in _state:
            _state["started"], _state["gpus"], _state["reason"] = _init()
    return _state["gpus"], _state["reason"]


def started() -> bool:
    """True if NVML (so the NVIDIA driver) answers, with or without GPUs."""
    gpus()
    return bool(_state["started"])


def _init() -> tuple[bool, list[Gpu], str]:
    try:
        import pynvml
    except ImportError:
        return False, [], ("the nvidia-ml-py package is not installed, so NVIDIA GPUs cannot be queried "
                           "(fix: pip install nvidia-ml-py)")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        return False, [], _init_failure_reason(pynvml, exc)
    try:
        found = [_gpu(pynvml, pynvml.nvmlDeviceGetHandleByIndex(i), i) for i in range(pynvml.nvmlDeviceGetCount())]
    except pynvml.NVMLError as exc:
        return False, [], f"NVML started but could not list the GPUs: {error_text(exc)}"
    return True, found, "" if found else "NVML found no GPU"


def _init_failure_reason(pynvml: Any, exc: Exception) -> str:
    if isinstance(exc, pynvml.NVMLError_LibraryNotFound):
        return ("NVML library (libnvidia-ml.so.1) not found: no NVIDIA driver is installed, so no NVIDIA "
                "GPU can be used; the engine runs on the CPU (fix: install the NVIDIA driver if this "
                "machine has an NVIDIA GPU)")
    if isinstance(exc, pynvml.NVMLError_DriverNotLoaded):
        return "NVML: the NVIDIA driver is installed but not loaded (fix: reboot, or load the nvidia kernel module)"
    if isinstance(exc, pynvml.NVMLError_NoPermission):
        return "NVML: no permission to talk to the NVIDIA driver (fix: check /dev/nvidia* permissions)"
    return f"NVML could not start: {error_text(exc)}"


def _gpu(pynvml: Any, handle: Any, index: int, mig: bool = False) -> Gpu:
    pci, _ = read("nvmlDeviceGetPciInfo", handle)
    return Gpu(index, _text(pynvml.nvmlDeviceGetUUID(handle)), _text(pci.busId) if pci is not None else "",
               _text(read("nvmlDeviceGetName", handle)[0] or "unknown"), handle, mig)


def mig_instance(uuid: str) -> tuple[Gpu | None, str]:
    """The MIG instance with this UUID ("MIG-…"), or (None, why not)."""
    import pynvml

    handle, error = read("nvmlDeviceGetHandleByUUID", uuid)
    if handle is None:
        return None, error
    try:
        return _gpu(pynvml, handle, -1, mig=True), ""
    except pynvml.NVMLError as exc:
        return None, f"{uuid}: {error_text(exc)}"


def error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def read(function: str, *args: Any) -> tuple[Any, str]:
    """(value, "") from `pynvml.<function>(*args)`, or (None, "<function>: <the NVML error>")."""
    import pynvml

    try:
        return getattr(pynvml, function)(*args), ""
    except pynvml.NVMLError as exc:
        return None, f"{function}: {error_text(exc)}"


def gpu_sample(gpu: Gpu) -> dict[str, Any]:
    """One GPU's telemetry entry. A field NVML cannot read is None, and `errors` maps it to the NVML
    error (the key is present only when some read failed)."""
    import pynvml

    errors: dict[str, str] = {}

    def value(field: str, function: str, *args: Any) -> Any:
        got, error = read(function, gpu.handle, *args)
        if got is None:
            errors[field] = error
        return got

    util = value("util_percent", "nvmlDeviceGetUtilizationRates")
    mem = value("mem_used_bytes", "nvmlDeviceGetMemoryInfo")
    if mem is None:
        errors["mem_total_bytes"] = errors["mem_used_bytes"]
    power_mw = value("power_w", "nvmlDeviceGetPowerUsage")
    sample = {
        "index": gpu.index,
        "uuid": gpu.uuid,
        "name": gpu.name,
        "util_percent": None if util is None else float(util.gpu),
        "mem_used_bytes": None if mem is None else int(mem.used),
        "mem_total_bytes": None if mem is None else int(mem.total),
        "power_w": None if power_mw is None else power_mw / 1000.0,
        "temp_c": _float(value("temp_c", "nvmlDeviceGetTemperature", pynvml.NVML_TEMPERATURE_GPU)),
        "sm_clock_mhz": _float(value("sm_clock_mhz", "nvmlDeviceGetClockInfo", pynvml.NVML_CLOCK_SM)),
        "mem_clock_mhz": _float(value("mem_clock_mhz", "nvmlDeviceGetClockInfo", pynvml.NVML_CLOCK_MEM)),
    }
    if errors:
        sample["errors"] = errors
    return sample


def energy_mj(gpu: Gpu) -> tuple[int | None, str]:
    """The board's total-energy counter in mJ since driver load (Volta and newer), or (None, why not)."""
    if gpu.mig:
        return None, (f"{gpu.uuid} is a MIG instance: NVML's energy counter covers the whole board, shared "
                      "with other instances, so the instance's energy is not measurable")
    got, error = read("nvmlDeviceGetTotalEnergyConsumption", gpu.handle)
    return (None, error) if got is None else (int(got), "")


def driver_versions() -> tuple[str | None, str | None]:
    """(driver version, CUDA driver version as "12.4"), None where unreadable."""
    driver, _ = read("nvmlSystemGetDriverVersion")
    cuda, _ = read("nvmlSystemGetCudaDriverVersion")  # e.g. 12040 -> "12.4"
    return (None if driver is None else _text(driver),
            None if not cuda else f"{cuda // 1000}.{cuda % 1000 // 10}")


def describe_gpus() -> dict[str, Any]:
    """Every GPU NVML sees (index, UUID, PCI bus id, name, memory), driver and CUDA driver version."""
    found, reason = gpus()
    if not found:
        return {"gpus": [], "nvml": reason}
    listed = []
    for gpu in found:
        mem, _ = read("nvmlDeviceGetMemoryInfo", gpu.handle)
        listed.append({"index": gpu.index, "uuid": gpu.uuid, "pci_bus_id": gpu.pci_bus_id, "name": gpu.name,
                       "mem_total_bytes": None if mem is None else int(mem.total)})
    driver, cuda = driver_versions()
    return {"gpus": listed, "driver": driver, "cuda_driver": cuda}


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
