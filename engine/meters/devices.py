"""Which NVIDIA GPUs a trial really uses, as NVML devices, matched by UUID.

CUDA numbers the devices a process sees from 0, after `CUDA_VISIBLE_DEVICES` (indices, `GPU-…` UUIDs
or unique prefixes of them, `MIG-…` instances; parsing stops at the first entry CUDA cannot use) and in
`CUDA_DEVICE_ORDER` (`FASTEST_FIRST`, the default, or `PCI_BUS_ID`). NVML numbers every GPU of the
machine in PCI bus order. A trial uses CUDA devices 0..n-1 (n = 1 for transformers, tensor_parallel_size
for vLLM), so its NVML devices are found by replaying CUDA's rules here, without initialising CUDA
(among GPUs of one model FASTEST_FIRST has nothing to reorder and keeps PCI bus order).
Where the rules leave the answer open (FASTEST_FIRST among GPUs of different models, by index), the
device set is unresolved and every GPU figure is unavailable with the reason and the fix.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence

import psutil

from engine.meters import nvml
from engine.meters.nvml import Gpu


@dataclasses.dataclass(frozen=True)
class DeviceSet:
    """The NVML devices of a trial, how they were found (`how`) and, when there are none, why (`reason`)."""

    gpus: tuple[Gpu, ...]
    how: str
    reason: str = ""

    def label(self) -> str:
        """The devices as a figure's method names them."""
        return ", ".join(g.label() for g in self.gpus)

    def to_dict(self) -> dict[str, object]:
        return {"gpus": [{"index": g.index, "uuid": g.uuid, "pci_bus_id": g.pci_bus_id, "name": g.name}
                         for g in self.gpus], "how": self.how, "reason": self.reason}


def none(reason: str) -> DeviceSet:
    """No GPU (the trial runs on the CPU, or NVML is unusable), with the reason."""
    return DeviceSet((), "", reason)


def cuda_env(env: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The variables that decide CUDA's device numbering, for the environment record (None = unset)."""
    env = os.environ if env is None else env
    return {name: env.get(name) for name in ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER")}


def trial_gpus(count: int, env: Mapping[str, str] | None = None) -> DeviceSet:
    """The NVML devices behind CUDA devices 0..count-1 of a process started with `env`."""
    found, reason = nvml.gpus()
    if not found:
        return none(reason)
    visible, how, reason = visible_gpus(found, cuda_env(env))
    if visible is None:
        return none(reason)
    if len(visible) < count:
        return none(f"the trial needs {count} GPU(s) but CUDA sees {len(visible)} ({how})")
    return DeviceSet(tuple(visible[:count]), f"CUDA devices 0..{count - 1} = " + how)


def server_gpus(port: int) -> DeviceSet:
    """The GPUs on which NVML lists a compute process of the local server listening on `port` (the
    listening process and its descendants, e.g. vLLM's engine core)."""
    found, reason = nvml.gpus()
    if not found:
        return none(reason)
    pids = _listening_tree(port)
    if not pids:
        return none(f"no process of this user listens on port {port}, so the server's GPUs are unknown")
    used = []
    for gpu in found:
        procs, error = nvml.read("nvmlDeviceGetComputeRunningProcesses", gpu.handle)
        if procs is None:
            return none(f"{gpu.label()}: {error}")
        if any(p.pid in pids for p in procs):
            used.append(gpu)
    if not used:
        return none(f"NVML lists no compute process of the server on port {port} (pids {sorted(pids)}) on "
                    "any GPU (a CPU server, or a container whose pids NVML does not show)")
    return DeviceSet(tuple(used), f"GPUs where NVML lists a compute process of the server on port {port} "
                                  f"(pids {sorted(pids)}), matched by UUID")


def _listening_tree(port: int) -> set[int]:
    """Pids of the process listening on `port` (this user's) and of its descendants."""
    pids: set[int] = set()
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            try:
                proc = psutil.Process(conn.pid)
                pids.update([proc.pid, *(c.pid for c in proc.children(recursive=True))])
            except psutil.NoSuchProcess:
                continue  # it exited since the listing
    return pids


def visible_gpus(found: Sequence[Gpu], env: Mapping[str, str | None]) -> tuple[list[Gpu] | None, str, str]:
    """(CUDA's devices in CUDA's order, how they were matched, "") or (None, "", why it is unknown)."""
    order = (env.get("CUDA_DEVICE_ORDER") or "FASTEST_FIRST").upper()
    listed = env.get("CUDA_VISIBLE_DEVICES")
    pci = sorted(found, key=lambda g: g.pci_bus_id)
    same_model = len({g.name for g in found}) == 1
    setting = f"CUDA_DEVICE_ORDER={order}, CUDA_VISIBLE_DEVICES={'unset' if listed is None else repr(listed)}"
    if listed is None:
        if order != "PCI_BUS_ID" and not same_model:
            return None, "", _ambiguous(setting)
        return pci, f"every GPU in PCI bus order ({setting}), matched by UUID", ""
    chosen: list[Gpu] = []
    for entry in (e.strip() for e in listed.split(",")):
        gpu = _entry(entry, pci)
        if isinstance(gpu, str):
            return None, "", f"{setting}: {gpu}"
        if gpu is None or gpu in chosen:
            break  # CUDA ignores this entry and every one after it
        if entry.isdigit() and order != "PCI_BUS_ID" and not same_model:
            return None, "", _ambiguous(setting)
        chosen.append(gpu)
    return chosen, f"the listed GPUs in that order ({setting}), matched by UUID", ""


def _entry(entry: str, pci: Sequence[Gpu]) -> Gpu | None | str:
    """The GPU an entry names, None if CUDA would stop at it, or an error text (a MIG it cannot read)."""
    if entry.isdigit():
        return pci[int(entry)] if int(entry) < len(pci) else None
    if entry.startswith("MIG-"):
        gpu, error = nvml.mig_instance(entry)
        return gpu if gpu is not None else f"MIG instance {entry} not readable through NVML ({error})"
    if entry.startswith("GPU-"):
        matches = [g for g in pci if g.uuid.startswith(entry)]
        return matches[0] if len(matches) == 1 else None
    return None


def _ambiguous(setting: str) -> str:
    return (f"{setting} with GPUs of different models: CUDA's FASTEST_FIRST order cannot be known without "
            "CUDA, so which GPUs the trial uses is unknown (fix: set CUDA_DEVICE_ORDER=PCI_BUS_ID, or list "
            "GPU UUIDs in CUDA_VISIBLE_DEVICES)")
