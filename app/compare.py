"""Chart data for comparing stored runs: bar values, Pareto fronts, throughput landscapes, telemetry.

No Qt here: the GUI's Compare view and the reports read the same functions, so a figure in a chart and
in a report come from the same store records by the same rule. Unavailable figures stay `None` (shown
as "n/a"), never zero.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any

from app.pareto import pareto_front
from app.store.records import RunDetail, RunSummary
from engine.metric_names import HEADLINE_METRICS, info

BAR_COUNT = 7  # grouped bar charts shown: the first headline metrics (each chart costs paint time)
PEAK_MEMORY_CANDIDATES = ("peak_gpu_memory_used_bytes", "peak_cuda_allocated_bytes", "peak_rss_bytes")
TELEMETRY_FIELDS: dict[str, tuple[str, str]] = {
    # key -> (label, unit); "gpu0.util_percent" style keys address one GPU of a sample.
    "cpu_percent": ("CPU", "%"),
    "ram_used_bytes": ("RAM used", "B"),
    "worker_rss_bytes": ("Worker RSS", "B"),
    "gpu.util_percent": ("GPU utilization", "%"),
    "gpu.mem_used_bytes": ("GPU memory used", "B"),
    "gpu.power_w": ("GPU power", "W"),
    "gpu.temp_c": ("GPU temperature", "°C"),
    "gpu.sm_clock_mhz": ("SM clock", "MHz"),
}


def run_label(run: RunSummary) -> str:
    """Short label of a run for legends and axes: `#id engine bs=…`."""
    bs = run.config.get("batch_size")
    return f"#{run.id} {run.engine}" + (f" bs={bs}" if bs is not None else "")


def peak_memory_metric(runs: Sequence[RunSummary]) -> str:
    """The peak-memory figure to compare: the first candidate any selected run has measured."""
    for name in PEAK_MEMORY_CANDIDATES:
        if any(r.value(name) is not None for r in runs):
            return name
    return PEAK_MEMORY_CANDIDATES[-1]


def bar_metric_names(runs: Sequence[RunSummary]) -> list[str]:
    """The first BAR_COUNT headline metrics, peak memory as the one figure measured for this selection."""
    peak = peak_memory_metric(runs)
    names = dict.fromkeys(peak if m in PEAK_MEMORY_CANDIDATES else m for m in HEADLINE_METRICS)
    return list(names)[:BAR_COUNT]


@dataclasses.dataclass(frozen=True)
class BarSeries:
    """One bar chart: a metric's value per run (None = unavailable) and why each missing one is missing."""

    metric: str
    label: str
    unit: str
    run_ids: tuple[int, ...]
    values: tuple[float | None, ...]
    reasons: tuple[str, ...]


def bar_series(runs: Sequence[RunSummary], metric: str) -> BarSeries:
    """Values of `metric` for each run, as stored; missing ones carry the stored reason."""
    mi = info(metric)
    values, reasons = [], []
    for r in runs:
        m = r.metrics.get(metric)
        values.append(None if m is None else m.value)
        reasons.append("not recorded" if m is None else (m.method if m.value is None else m.status))
    return BarSeries(metric, mi.label, mi.unit, tuple(r.id for r in runs), tuple(values), tuple(reasons))


def swept_parameters(runs: Sequence[RunSummary]) -> list[str]:
    """Config keys whose value differs between the runs (the axes a landscape can use), sorted."""
    keys: set[str] = set()
    for r in runs:
        keys.update(r.config)
    return sorted(k for k in keys if len({_hashable(r.config.get(k)) for r in runs}) > 1)


def numeric_metrics(runs: Sequence[RunSummary]) -> list[str]:
    """Metric names with at least one value among the runs (for axis pickers), sorted."""
    return sorted({k for r in runs for k, m in r.metrics.items() if m.value is not None})


@dataclasses.dataclass(frozen=True)
class ParetoData:
    """Scatter of two metrics over the runs that have both; `front` indexes into `run_ids`."""

    x_metric: str
    y_metric: str
    run_ids: tuple[int, ...]
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    front: tuple[int, ...]
    missing: tuple[int, ...]  # run ids left out because a figure is unavailable


def pareto_data(runs: Sequence[RunSummary], x_metric: str, y_metric: str) -> ParetoData:
    """Points (x, y) per run and the Pareto front (sorted by x), each axis in its catalogue direction."""
    ids, xs, ys, missing = [], [], [], []
    for r in runs:
        x, y = r.value(x_metric), r.value(y_metric)
        if x is None or y is None:
            missing.append(r.id)
            continue
        ids.append(r.id)
        xs.append(x)
        ys.append(y)
    front = sorted(pareto_front(list(zip(xs, ys, strict=True)),
                                (info(x_metric).higher_is_better, info(y_metric).higher_is_better)),
                   key=lambda i: xs[i])
    return ParetoData(x_metric, y_metric, tuple(ids), tuple(xs), tuple(ys), tuple(front), tuple(missing))


@dataclasses.dataclass(frozen=True)
class Landscape:
    """A metric over two parameters: grid[j][i] is at (x_values[i], y_values[j]); NaN where no run."""

    x_param: str
    y_param: str
    metric: str
    x_values: tuple[Any, ...]
    y_values: tuple[Any, ...]
    grid: tuple[tuple[float, ...], ...]
    counts: tuple[tuple[int, ...], ...]


def landscape(runs: Sequence[RunSummary], x_param: str, y_param: str, metric: str) -> Landscape:
    """Median of `metric` per (x, y) cell over the runs that have it (median: repeated configs agree)."""
    cells: dict[tuple[Any, Any], list[float]] = {}
    for r in runs:
        v = r.value(metric)
        if v is None or x_param not in r.config or y_param not in r.config:
            continue
        cells.setdefault((_hashable(r.config[x_param]), _hashable(r.config[y_param])), []).append(v)
    xs = sorted({k[0] for k in cells}, key=_sort_key)
    ys = sorted({k[1] for k in cells}, key=_sort_key)
    grid = tuple(tuple(statistics.median(cells[(x, y)]) if (x, y) in cells else math.nan for x in xs)
                 for y in ys)
    counts = tuple(tuple(len(cells.get((x, y), ())) for x in xs) for y in ys)
    return Landscape(x_param, y_param, metric, tuple(xs), tuple(ys), grid, counts)


def telemetry_series(detail: RunDetail, key: str, gpu_index: int = 0) -> tuple[list[float], list[float]]:
    """(seconds since the run's first sample, values) of one telemetry field; gaps (None) are skipped.

    `key` is a TELEMETRY_FIELDS key; `gpu.*` keys read GPU `gpu_index` of each sample.
    """
    getter = _telemetry_getter(key, gpu_index)
    samples = detail.telemetry
    if not samples:
        return [], []
    t0 = samples[0]["t"]
    ts, vs = [], []
    for s in samples:
        v = getter(s)
        if v is not None:
            ts.append(s["t"] - t0)
            vs.append(float(v))
    return ts, vs


def _telemetry_getter(key: str, gpu_index: int) -> Callable[[dict[str, Any]], Any]:
    if key.startswith("gpu."):
        field = key[4:]

        def gpu_value(sample: dict[str, Any]) -> Any:
            gpus = sample.get("gpus") or []
            return gpus[gpu_index].get(field) if gpu_index < len(gpus) else None
        return gpu_value
    return lambda sample: sample.get(key)


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (1, value)
    return (2, str(value))
