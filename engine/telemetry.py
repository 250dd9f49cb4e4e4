"""Background telemetry sampler: CPU, RAM, worker RSS and NVML GPU state at `telemetry_hz`.

One sample is a plain dict:
`{"t", "cpu_percent", "ram_used_bytes", "ram_total_bytes", "worker_rss_bytes", "worker_processes",
"gpus": [...]}` (worker RSS summed over the worker and its child processes, e.g. vLLM's engine core), with
each of the trial's GPUs (`engine.meters.devices`) as `{"index", "uuid", "name", "util_percent",
"mem_used_bytes", "mem_total_bytes", "power_w", "temp_c", "sm_clock_mhz", "mem_clock_mhz"}` (`index` is
NVML's; a field NVML cannot read is None and named in an added `"errors": {field: NVML error}`; `gpus` is
[] when the trial uses no NVIDIA GPU).

The thread sleeps on an Event between samples and takes no lock the inference uses; each sample is
a handful of /proc reads and NVML queries (~0.1 ms), so at 10 Hz it costs well under 0.1% of a core.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psutil

from engine.meters import nvml
from engine.meters.nvml import Gpu

Sample = dict[str, Any]


class ProcessTree:
    """The worker and its descendants. Listing descendants scans every process, so it is refreshed
    only every `refresh_s`; reading each member's RSS between refreshes is one /proc read apiece."""

    def __init__(self, refresh_s: float = 2.0) -> None:
        self.root = psutil.Process()
        self.refresh_s = refresh_s
        self._members: list[psutil.Process] = [self.root]
        self._listed_at = -float("inf")

    def members(self) -> list[psutil.Process]:
        now = time.monotonic()
        if now - self._listed_at >= self.refresh_s:
            try:
                self._members = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                self._members = [self.root]
            self._listed_at = now
        return self._members

    def rss_bytes(self) -> tuple[int, int]:
        """(summed RSS, number of live processes) of the tree."""
        total, alive = 0, 0
        for proc in self.members():
            try:
                total += proc.memory_info().rss
                alive += 1
            except psutil.Error:  # a child that just exited
                continue
        return total, alive


def take_sample(tree: ProcessTree, gpus: Sequence[Gpu]) -> Sample:
    """One telemetry sample now, of these GPUs."""
    vm = psutil.virtual_memory()
    rss_bytes, processes = tree.rss_bytes()
    return {
        "t": time.time(),
        "cpu_percent": float(psutil.cpu_percent(interval=None)),
        "ram_used_bytes": int(vm.total - vm.available),
        "ram_total_bytes": int(vm.total),
        "worker_rss_bytes": int(rss_bytes),
        "worker_processes": processes,
        "gpus": [nvml.gpu_sample(g) for g in gpus],
    }


class Sampler:
    """Samples `gpus` at `hz` on a daemon thread; keeps every sample and hands each to `on_sample`."""

    def __init__(self, hz: float, on_sample: Callable[[Sample], None] | None = None,
                 gpus: Sequence[Gpu] = ()) -> None:
        self.gpus = tuple(gpus)
        self.period_s = 1.0 / hz if hz > 0 else 0.0
        self.on_sample = on_sample
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._tree = ProcessTree()

    def start(self) -> None:
        if self.period_s <= 0:
            return
        psutil.cpu_percent(interval=None)  # prime: the first call has no interval to report on
        self._thread = threading.Thread(target=self._loop, name="inferlab-telemetry", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        next_t = time.monotonic()
        while not self._stop.is_set():
            sample = take_sample(self._tree, self.gpus)
            self.samples.append(sample)
            if self.on_sample is not None:
                self.on_sample(sample)
            next_t += self.period_s
            self._stop.wait(max(0.0, next_t - time.monotonic()))

    def stop(self) -> list[Sample]:
        """Stop the thread and return every sample taken."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        return self.samples

    def __enter__(self) -> Sampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
