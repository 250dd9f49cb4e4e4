"""NVML access shared by the telemetry sampler, the energy meter and the environment record.

NVML is initialised once per process, lazily; where the library or a GPU is absent every caller
gets the reason instead of a figure.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_state: dict[str, Any] = {}


def handles() -> tuple[list[Any], str]:
    """(device handles, "") or ([], reason NVML cannot be used)."""
    with _lock:
        if "handles" not in _state:
            _state["handles"], _state["reason"] = _init()
    return _state["handles"], _state["reason"]


def _init() -> tuple[list[Any], str]:
    try:
        import pynvml
    except ImportError:
        return [], "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
    except Exception as exc:  # NVMLError_LibraryNotFound, driver not loaded, ...
        return [], f"NVML unavailable ({type(exc).__name__}: {exc}); no NVIDIA driver on this machine"
    if count == 0:
        return [], "NVML found no GPU"
    return [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)], ""


def _try(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception:
        return None


def gpu_sample(index: int, handle: Any) -> dict[str, Any]:
    """One GPU's telemetry entry (fields NVML cannot read on this GPU are None)."""
    import pynvml

    util = _try(pynvml.nvmlDeviceGetUtilizationRates, handle)
    mem = _try(pynvml.nvmlDeviceGetMemoryInfo, handle)
    power_mw = _try(pynvml.nvmlDeviceGetPowerUsage, handle)
    sm = _try(pynvml.nvmlDeviceGetClockInfo, handle, pynvml.NVML_CLOCK_SM)
    memclk = _try(pynvml.nvmlDeviceGetClockInfo, handle, pynvml.NVML_CLOCK_MEM)
    return {
        "index": index,
        "name": _name(handle),
        "util_percent": float(util.gpu) if util is not None else 0.0,
        "mem_used_bytes": int(mem.used) if mem is not None else 0,
        "mem_total_bytes": int(mem.total) if mem is not None else 0,
        "power_w": power_mw / 1000.0 if power_mw is not None else None,
        "temp_c": _float(_try(pynvml.nvmlDeviceGetTemperature, handle, pynvml.NVML_TEMPERATURE_GPU)),
        "sm_clock_mhz": _float(sm),
        "mem_clock_mhz": _float(memclk),
    }


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


def _name(handle: Any) -> str:
    import pynvml

    name = _try(pynvml.nvmlDeviceGetName, handle) or "unknown"
    return name.decode() if isinstance(name, bytes) else str(name)


def energy_mj(handle: Any) -> int | None:
    """The board's total-energy counter in mJ (Volta and newer), or None where unsupported."""
    import pynvml

    return _try(pynvml.nvmlDeviceGetTotalEnergyConsumption, handle)


def describe_gpus() -> dict[str, Any]:
    """GPUs, driver and CUDA driver version for the environment record."""
    found, reason = handles()
    if not found:
        return {"gpus": [], "nvml": reason}
    import pynvml

    gpus = []
    for i, h in enumerate(found):
        mem = _try(pynvml.nvmlDeviceGetMemoryInfo, h)
        gpus.append({"index": i, "name": _name(h), "mem_total_bytes": int(mem.total) if mem else None})
    driver = _try(pynvml.nvmlSystemGetDriverVersion)
    cuda = _try(pynvml.nvmlSystemGetCudaDriverVersion)
    return {"gpus": gpus, "driver": driver.decode() if isinstance(driver, bytes) else driver,
            "cuda_driver": f"{cuda // 1000}.{cuda % 1000 // 10}" if cuda else None}
