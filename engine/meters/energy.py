"""Energy meters: the NVML total-energy counter of the GPUs a trial uses and the CPU package RAPL
counters, read at the edges of each measured repetition. An idle window before the trial gives the
baseline power for net-of-idle figures. Where a counter cannot be read the figures are unavailable
with the reason; power is never integrated from averaged samples."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from pathlib import Path

from engine.meters import nvml
from engine.results import Measurement

POWERCAP = Path("/sys/class/powercap")
SHORT_WINDOW_S = 1.0  # NVML's counter updates every ~20-100 ms: shorter windows are unreliable


@dataclasses.dataclass
class Window:
    """Energy over one repetition (None where unreadable)."""

    seconds: float
    gpu_j: float | None
    cpu_j: float | None
    output_tokens: int


class RaplCounters:
    """CPU package energy counters (`intel-rapl:N`), read in µJ with wrap-around handling."""

    def __init__(self) -> None:
        self.zones: list[tuple[Path, int]] = []
        self.reason = ""
        zones = sorted(POWERCAP.glob("intel-rapl:[0-9]*")) if POWERCAP.is_dir() else []
        zones = [z for z in zones if z.name.count(":") == 1]  # packages, not their sub-zones
        if not zones:
            self.reason = f"no RAPL package zones under {POWERCAP} (not an Intel/AMD RAPL host, or a VM)"
            return
        for z in zones:
            try:
                int((z / "energy_uj").read_text())
                self.zones.append((z, int((z / "max_energy_range_uj").read_text())))
            except (OSError, ValueError) as exc:
                self.reason = f"RAPL counters not readable ({exc}); they are root-only on most systems"
                self.zones = []
                return

    def read_uj(self) -> list[int] | None:
        if not self.zones:
            return None
        return [int((z / "energy_uj").read_text()) for z, _ in self.zones]

    def joules(self, before: list[int], after: list[int]) -> float:
        total = 0
        for (_, wrap), a, b in zip(self.zones, before, after, strict=True):
            total += b - a if b >= a else b + wrap - a
        return total / 1e6


class EnergyMeter:
    """Reads counters around each repetition; `metrics()` turns the windows into figures."""

    def __init__(self, gpu_count: int) -> None:
        found, self.gpu_reason = nvml.handles()
        self.gpus = found[:gpu_count] if gpu_count > 0 else []
        if found and gpu_count == 0:
            self.gpu_reason = "the trial runs on CPU"
        if self.gpus and nvml.energy_mj(self.gpus[0]) is None:
            self.gpu_reason = "this GPU has no NVML total-energy counter (pre-Volta)"
            self.gpus = []
        self.rapl = RaplCounters()
        self.idle_gpu_w: float | None = None
        self.idle_cpu_w: float | None = None
        self.windows: list[Window] = []
        self._start: tuple[float, int | None, list[int] | None] | None = None

    def _gpu_mj(self) -> int | None:
        if not self.gpus:
            return None
        return sum(nvml.energy_mj(h) or 0 for h in self.gpus)

    def idle_baseline(self, seconds: float) -> None:
        """Measure idle power over `seconds` (before loading work on the device)."""
        if seconds <= 0 or (not self.gpus and not self.rapl.zones):
            return
        t, gpu, cpu = time.perf_counter(), self._gpu_mj(), self.rapl.read_uj()
        time.sleep(seconds)
        dt = time.perf_counter() - t
        if gpu is not None:
            self.idle_gpu_w = (self._gpu_mj() - gpu) / 1e3 / dt  # type: ignore[operator]
        if cpu is not None:
            self.idle_cpu_w = self.rapl.joules(cpu, self.rapl.read_uj() or cpu) / dt

    def begin(self) -> None:
        self._start = (time.perf_counter(), self._gpu_mj(), self.rapl.read_uj())

    def end(self, output_tokens: int) -> None:
        assert self._start is not None
        t0, gpu0, cpu0 = self._start
        seconds = time.perf_counter() - t0
        gpu1, cpu1 = self._gpu_mj(), self.rapl.read_uj()
        gpu_j = (gpu1 - gpu0) / 1e3 if gpu0 is not None and gpu1 is not None else None
        cpu_j = self.rapl.joules(cpu0, cpu1) if cpu0 is not None and cpu1 is not None else None
        self.windows.append(Window(seconds, gpu_j, cpu_j, output_tokens))

    def metrics(self) -> dict[str, Measurement]:
        out = self._gpu_metrics(self.windows)
        out.update(self._cpu_metrics(self.windows))
        if out["gpu_j_per_output_token"].status == "measured":
            best = out["gpu_j_per_output_token"]
        else:
            best = out["cpu_j_per_output_token"]
        out["energy_j_per_output_token"] = dataclasses.replace(best) if best.status == "measured" else \
            Measurement.unavailable("J/tok", "neither GPU (NVML) nor CPU (RAPL) energy is readable: "
                                    f"{self.gpu_reason}; {self.rapl.reason}")
        return out

    def _window_note(self, windows: Sequence[Window]) -> str:
        short = min(w.seconds for w in windows)
        return f" (UNRELIABLE: a window was {short:.2f} s < {SHORT_WINDOW_S:g} s)" if short < SHORT_WINDOW_S else ""

    def _gpu_metrics(self, windows: Sequence[Window]) -> dict[str, Measurement]:
        names = {"gpu_energy_j": "J", "gpu_energy_net_j": "J", "gpu_mean_power_w": "W",
                 "gpu_j_per_output_token": "J/tok"}
        if not windows or any(w.gpu_j is None for w in windows):
            return {n: Measurement.unavailable(u, self.gpu_reason or "no measured window") for n, u in names.items()}
        note = self._window_note(windows)
        base = f"NVML total-energy counter difference per repetition, {len(self.gpus)} GPU(s){note}"
        out = {
            "gpu_energy_j": Measurement.from_repetitions([w.gpu_j for w in windows], "J", base),  # type: ignore[misc]
            "gpu_mean_power_w": Measurement.from_repetitions([w.gpu_j / w.seconds for w in windows], "W",  # type: ignore[operator]
                                                             base + " / window"),
            "gpu_j_per_output_token": Measurement.from_repetitions(
                [w.gpu_j / max(1, w.output_tokens) for w in windows], "J/tok", base + " / output tokens"),  # type: ignore[operator]
        }
        if self.idle_gpu_w is None:
            out["gpu_energy_net_j"] = Measurement.unavailable("J", "no idle baseline (idle_baseline_s = 0)")
        else:
            out["gpu_energy_net_j"] = Measurement.from_repetitions(
                [w.gpu_j - self.idle_gpu_w * w.seconds for w in windows], "J",  # type: ignore[operator]
                base + f" minus idle {self.idle_gpu_w:.1f} W × window")
        return out

    def _cpu_metrics(self, windows: Sequence[Window]) -> dict[str, Measurement]:
        if not windows or any(w.cpu_j is None for w in windows):
            reason = self.rapl.reason or "no measured window"
            return {"cpu_energy_j": Measurement.unavailable("J", reason),
                    "cpu_j_per_output_token": Measurement.unavailable("J/tok", reason)}
        base = f"RAPL package energy_uj difference per repetition{self._window_note(windows)}"
        return {
            "cpu_energy_j": Measurement.from_repetitions([w.cpu_j for w in windows], "J", base),  # type: ignore[misc]
            "cpu_j_per_output_token": Measurement.from_repetitions(
                [w.cpu_j / max(1, w.output_tokens) for w in windows], "J/tok", base + " / output tokens"),  # type: ignore[operator]
        }
