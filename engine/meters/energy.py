"""Energy meters: the NVML total-energy counter of the GPUs a trial uses and the CPU package RAPL
counters, read at the edges of each measured repetition. An idle window before the model loads gives
the baseline power for net-of-idle figures. Where a counter cannot be read the figures are unavailable
with the reason; power is never integrated from averaged samples. A window or baseline shorter than
`SHORT_WINDOW_S` makes its figures `estimated` (the counters update every ~20-100 ms), and a net energy
below zero is never reported."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from engine.meters import nvml
from engine.meters.devices import DeviceSet, none
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
    gpu_error: str = ""


@dataclasses.dataclass(frozen=True)
class IdleBaseline:
    """Idle power over `seconds`, measured `when` (None where unreadable, with the reason)."""

    seconds: float
    when: str
    gpu_w: float | None
    cpu_w: float | None
    gpu_reason: str = ""


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

    def __init__(self, devices: DeviceSet) -> None:
        self.devices = devices
        self.gpu_reason = devices.reason
        for gpu in devices.gpus:  # one GPU without a counter makes the sum unmeasurable
            mj, error = nvml.energy_mj(gpu)
            if mj is None:
                self.drop_gpus(f"{gpu.label()}: {error}" + ("" if gpu.mig else
                               " (NVML's total-energy counter needs a Volta or newer GPU)"))
                break
        self.rapl = RaplCounters()
        self.baseline: IdleBaseline | None = None
        self.windows: list[Window] = []
        self._start: tuple[float, int | None, str, list[int] | None] | None = None

    def drop_gpus(self, reason: str) -> None:
        """Read no GPU (e.g. the backend resolved to the CPU): GPU figures become unavailable with `reason`."""
        self.devices, self.gpu_reason = none(reason), reason

    def _gpu_mj(self) -> tuple[int | None, str]:
        """The summed counters of the trial's GPUs, or (None, the first read error)."""
        if not self.devices.gpus:
            return None, self.gpu_reason
        total = 0
        for gpu in self.devices.gpus:
            mj, error = nvml.energy_mj(gpu)
            if mj is None:
                return None, f"{gpu.label()}: {error}"
            total += mj
        return total, ""

    def idle_baseline(self, seconds: float, when: str) -> None:
        """Measure idle power over `seconds`; `when` says where in the trial (e.g. "before the model load")."""
        if seconds <= 0 or (not self.devices.gpus and not self.rapl.zones):
            return  # nothing to read: the gross figures are unavailable too, with the reason
        t, (gpu0, error0), cpu0 = time.perf_counter(), self._gpu_mj(), self.rapl.read_uj()
        time.sleep(seconds)
        (gpu1, error1), cpu1 = self._gpu_mj(), self.rapl.read_uj()
        dt = time.perf_counter() - t
        gpu_w = (gpu1 - gpu0) / 1e3 / dt if gpu0 is not None and gpu1 is not None else None
        cpu_w = self.rapl.joules(cpu0, cpu1) / dt if cpu0 is not None and cpu1 is not None else None
        self.baseline = IdleBaseline(dt, when, gpu_w, cpu_w, error0 or error1)

    def begin(self) -> None:
        self._start = (time.perf_counter(), *self._gpu_mj(), self.rapl.read_uj())

    def end(self, output_tokens: int) -> None:
        assert self._start is not None
        t0, gpu0, error0, cpu0 = self._start
        seconds = time.perf_counter() - t0
        (gpu1, error1), cpu1 = self._gpu_mj(), self.rapl.read_uj()
        gpu_j = (gpu1 - gpu0) / 1e3 if gpu0 is not None and gpu1 is not None else None
        cpu_j = self.rapl.joules(cpu0, cpu1) if cpu0 is not None and cpu1 is not None else None
        self.windows.append(Window(seconds, gpu_j, cpu_j, output_tokens, error0 or error1))

    def metrics(self) -> dict[str, Measurement]:
        gpu_where = f"NVML total-energy counter of {self.devices.label()} ({self.devices.how})"
        out = _figures("gpu", self.windows, lambda w: w.gpu_j, gpu_where, self._gpu_unavailable(),
                       self.baseline, self._baseline_problem("gpu"))
        out.update(_figures("cpu", self.windows, lambda w: w.cpu_j, "RAPL package energy_uj", self.rapl.reason,
                            self.baseline, self._baseline_problem("cpu")))
        if out["gpu_j_per_output_token"].status != "unavailable":
            best = out["gpu_j_per_output_token"]
        else:
            best = out["cpu_j_per_output_token"]
        out["energy_j_per_output_token"] = dataclasses.replace(best) if best.status != "unavailable" else \
            Measurement.unavailable("J/tok", f"GPU: {out['gpu_j_per_output_token'].method}; "
                                    f"CPU: {out['cpu_j_per_output_token'].method}")
        return out

    def _gpu_unavailable(self) -> str:
        errors = [w.gpu_error for w in self.windows if w.gpu_j is None]
        return errors[0] if errors and errors[0] else self.gpu_reason

    def _baseline_problem(self, kind: str) -> str:
        """Why net-of-idle figures cannot be computed, "" if they can."""
        b = self.baseline
        if b is None:
            return "no idle baseline (idle_baseline_s = 0)"
        if kind == "gpu" and b.gpu_w is None:
            return f"idle GPU baseline not readable ({b.gpu_reason})"
        if kind == "cpu" and b.cpu_w is None:
            return f"idle CPU baseline not readable ({self.rapl.reason})"
        return ""


def _figures(kind: str, windows: Sequence[Window], joules: Callable[[Window], float | None], where: str,
             reason: str, baseline: IdleBaseline | None, baseline_problem: str) -> dict[str, Measurement]:
    """`{kind}_energy_j`, `…_mean_power_w` (GPU only), `…_j_per_output_token`, `…_energy_net_j`."""
    units = {f"{kind}_energy_j": "J", f"{kind}_energy_net_j": "J", f"{kind}_j_per_output_token": "J/tok"}
    if kind == "gpu":
        units["gpu_mean_power_w"] = "W"
    if not windows or any(joules(w) is None for w in windows):
        why = reason or "no measured window"
        return {name: Measurement.unavailable(unit, why) for name, unit in units.items()}
    values = [float(joules(w)) for w in windows]  # type: ignore[arg-type]
    short = min(w.seconds for w in windows)
    flags = [f"a repetition lasted {short:.2f} s < {SHORT_WINDOW_S:g} s, near the counter's update period"] \
        if short < SHORT_WINDOW_S else []
    base = f"{where}, difference over each of {len(windows)} repetition(s)"
    out = {f"{kind}_energy_j": _flagged(values, "J", base, flags)}
    if kind == "gpu":
        out["gpu_mean_power_w"] = _flagged([j / w.seconds for j, w in zip(values, windows, strict=True)], "W",
                                           base + " / its duration", flags)
    if any(w.output_tokens == 0 for w in windows):
        out[f"{kind}_j_per_output_token"] = Measurement.unavailable(
            "J/tok", "a repetition produced no output tokens (every request failed): J/token is undefined")
    else:
        out[f"{kind}_j_per_output_token"] = _flagged(
            [j / w.output_tokens for j, w in zip(values, windows, strict=True)], "J/tok",
            base + " / its output tokens", flags)
    if baseline_problem or baseline is None:
        out[f"{kind}_energy_net_j"] = Measurement.unavailable("J", baseline_problem or "no idle baseline")
    else:
        out[f"{kind}_energy_net_j"] = _net(values, windows, baseline, kind, base, flags)
    return out


def _net(values: Sequence[float], windows: Sequence[Window], baseline: IdleBaseline, kind: str, base: str,
         flags: list[str]) -> Measurement:
    idle_w = baseline.gpu_w if kind == "gpu" else baseline.cpu_w
    assert idle_w is not None
    if baseline.seconds < SHORT_WINDOW_S:
        flags = [*flags, f"the idle baseline lasted {baseline.seconds:.2f} s < {SHORT_WINDOW_S:g} s"]
    net = [j - idle_w * w.seconds for j, w in zip(values, windows, strict=True)]
    if min(net) < 0:
        return Measurement.unavailable("J", f"energy net of idle came out negative ({min(net):.3g} J: idle "
                                       f"{idle_w:.3g} W × window exceeds the measured energy), so the idle "
                                       "baseline does not describe this run's idle power")
    return _flagged(net, "J", f"{base}, minus idle {idle_w:.3g} W (measured {baseline.when} over "
                    f"{baseline.seconds:.2f} s) × its duration", flags)


def _flagged(values: Sequence[float], unit: str, method: str, flags: Sequence[str]) -> Measurement:
    """Median over repetitions; `estimated` (with the flags in its method) when any flag is raised."""
    m = Measurement.from_repetitions(values, unit, method)
    if not flags:
        return m
    return dataclasses.replace(m, status="estimated", method=f"{method}; ESTIMATE: " + "; ".join(flags))
