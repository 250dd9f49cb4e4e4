"""Chart data for comparing stored runs: bar values, Pareto fronts, throughput landscapes, telemetry.

No Qt here: the GUI's Compare view and the reports read the same functions, so a figure in a chart and
in a report come from the same store records by the same rule. Unavailable figures stay `None` (shown
as "n/a"), never zero.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from app.pareto import pareto_front
from app.store.records import RunDetail, RunSummary
from app.study.tables import NOT_OPTIONS, Point, option_of, points
from engine.causes import FailureCause
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


# Short names of options in labels ("bs=8"); other options show as `key=value`, text values alone.
SHORT_NAMES = {"batch_size": "bs", "input_tokens": "in", "output_tokens": "out", "num_gpus": "gpus",
               "tensor_parallel_size": "tp", "max_num_seqs": "seqs", "num_requests": "reqs"}
# Keys that name a run rather than configure it: every run-level key a group or line can be split by.
RUN_KEYS = ("model", "engine", "source")
LABEL_CHARS = 28
LABEL_PARTS = 4


def option_label(key: str, value: Any) -> str:
    """One option as a label fragment: `bs=8`, `int8` (a text value alone), `compile` / `no compile`,
    `gpu_name not recorded` (None); text past LABEL_CHARS keeps its end (`…models/SmolLM2-135M`)."""
    if isinstance(value, bool):
        return key if value else f"no {key}"
    if value is None:
        return f"{key} not recorded"
    text = value if isinstance(value, str) and key != "source" else f"{SHORT_NAMES.get(key, key)}={value}"
    return text if len(text) <= LABEL_CHARS else "…" + text[-(LABEL_CHARS - 1):]


def differing_options(runs: Sequence[RunSummary]) -> list[str]:
    """Run keys (model, engine, source) and config options whose value differs between the runs, minus
    bookkeeping (repetition, trial index): what tells the runs apart."""
    keys = list(RUN_KEYS) + sorted({k for r in runs for k in r.config if k not in RUN_KEYS})
    return [k for k in keys if k not in NOT_OPTIONS
            and len({_hashable(option_of(r, k)) for r in runs}) > 1]


def differing_labels(runs: Sequence[RunSummary]) -> dict[int, str]:
    """Each run labelled by what differs between the runs (`bs=8 · int8`): at most LABEL_PARTS options
    it has (an option a run lacks says nothing); runs alike in those (repetitions) get their id appended
    so no two bars share a label."""
    keys = differing_options(runs)
    labels = {}
    for r in runs:
        parts = [option_label(k, v) for k in keys if (v := option_of(r, k)) is not None][:LABEL_PARTS]
        labels[r.id] = " · ".join(parts) or f"#{r.id}"
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {rid: f"{label} (#{rid})" if counts[label] > 1 and label != f"#{rid}" else label
            for rid, label in labels.items()}


def with_environment_options(runs: Sequence[RunSummary],
                             environments: Mapping[int, Mapping[str, Any]]) -> list[RunSummary]:
    """The runs, each config also holding its environment fields (`Store.environment_fields`: gpu_name,
    gpu_count, host, driver, library versions) where it has no option of that name, so the series,
    landscapes and labels can group and tell runs apart by where they ran."""
    out = []
    for r in runs:
        extra = {k: v for k, v in environments.get(r.id, {}).items() if k not in r.config}
        out.append(dataclasses.replace(r, config={**r.config, **extra}) if extra else r)
    return out


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
    return sorted({k for r in runs for k in r.metrics if r.value(k) is not None})


@dataclasses.dataclass(frozen=True)
class ParetoData:
    """Scatter of two metrics over the runs that have both (and the size metric, when one is given: then
    the front is over all three); `front` indexes into `run_ids`."""

    x_metric: str
    y_metric: str
    run_ids: tuple[int, ...]
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    front: tuple[int, ...]
    missing: tuple[int, ...]  # run ids left out because a figure is unavailable
    size_metric: str | None = None
    sizes: tuple[float, ...] = ()


def pareto_data(runs: Sequence[RunSummary], x_metric: str, y_metric: str,
                size_metric: str | None = None) -> ParetoData:
    """Points (x, y[, size]) per run and the Pareto front across those metrics (sorted by x), each in its
    catalogue direction."""
    metrics = [x_metric, y_metric, *([size_metric] if size_metric else [])]
    ids, points, missing = [], [], []
    for r in runs:
        values = [r.value(m) for m in metrics]
        if any(v is None for v in values):
            missing.append(r.id)
            continue
        ids.append(r.id)
        points.append(values)
    columns = list(zip(*points, strict=True)) or [()] * len(metrics)
    front = sorted(pareto_front(points, [info(m).higher_is_better for m in metrics]), key=lambda i: points[i][0])
    return ParetoData(x_metric, y_metric, tuple(ids), tuple(columns[0]), tuple(columns[1]), tuple(front),
                      tuple(missing), size_metric, tuple(columns[2]) if size_metric else ())


@dataclasses.dataclass(frozen=True)
class Landscape:
    """A metric over two parameters: grid[j][i] is at (x_values[i], y_values[j]); NaN where no run has a
    value. `oom[j][i]` is True where the cell's every run ran out of memory (a value-less cell drawn "OOM").

    `pooled[j][i]` says what a cell's runs differ in besides x and y ("" when they are one configuration,
    else e.g. "3 configurations differing in num_gpus (1, 2, 4)"); `note` sums that up for the chart.
    """

    x_param: str
    y_param: str
    metric: str
    x_values: tuple[Any, ...]
    y_values: tuple[Any, ...]
    grid: tuple[tuple[float, ...], ...]
    counts: tuple[tuple[int, ...], ...]
    pooled: tuple[tuple[str, ...], ...] = ()
    note: str = ""
    oom: tuple[tuple[bool, ...], ...] = ()

    def cell_text(self, i: int, j: int) -> str:
        """What cell (x_values[i], y_values[j]) shows: its value, "OOM", or "—" where no run has a value."""
        v = self.grid[j][i]
        if not math.isnan(v):
            return f"{v:.4g}" + (" *" if self.pooled[j][i] else "")  # * = the cell pools configurations
        return "OOM" if self.oom and self.oom[j][i] else "—"


def landscape(runs: Sequence[RunSummary], x_param: str, y_param: str, metric: str) -> Landscape:
    """Median of `metric` per (x, y) cell over the runs that have it (median: repeated configs agree); a
    cell whose every run failed out of memory is kept, without a value, as an OOM cell.

    A cell whose runs differ in another option (a model, an engine, a GPU count) pools them: each such
    cell says what and how many configurations, and the note counts those cells, so nothing is pooled
    silently. Draw one landscape per group (`groups`) to avoid it.
    """
    cells: dict[tuple[Any, Any], list[RunSummary]] = {}
    for r in runs:
        if (r.value(metric) is None and r.failure_cause != FailureCause.OOM) or x_param not in r.config \
                or y_param not in r.config:
            continue
        cells.setdefault((_hashable(r.config[x_param]), _hashable(r.config[y_param])), []).append(r)
    xs = sorted({k[0] for k in cells}, key=_sort_key)
    ys = sorted({k[1] for k in cells}, key=_sort_key)
    grid = tuple(tuple(statistics.median(values) if (values := _values(cells.get((x, y), ()), metric)) else math.nan
                       for x in xs) for y in ys)
    oom = tuple(tuple((x, y) in cells and not _values(cells[(x, y)], metric) for x in xs) for y in ys)
    counts = tuple(tuple(len(cells.get((x, y), ())) for x in xs) for y in ys)
    pooled = tuple(tuple(_pooled(cells.get((x, y), ()), (x_param, y_param)) for x in xs) for y in ys)
    mixed = [text for row in pooled for text in row if text]
    note = ""
    if mixed:
        differing = sorted({k for members in cells.values()
                            for k in differing_options(members) if k not in (x_param, y_param)})
        note = (f"{len(mixed)} of {len(cells)} cell(s) pool runs that differ in {', '.join(differing)}: "
                f"the median mixes them")
    return Landscape(x_param, y_param, metric, tuple(xs), tuple(ys), grid, counts, pooled, note, oom)


def _values(members: Sequence[RunSummary], metric: str) -> list[float]:
    return [v for r in members if (v := r.value(metric)) is not None]


def _pooled(members: Sequence[RunSummary], axes: tuple[str, str]) -> str:
    """What a cell's runs differ in besides the axes ("" for one configuration)."""
    keys = [k for k in differing_options(members) if k not in axes]
    if not keys:
        return ""
    configs = {tuple(_hashable(option_of(r, k)) for k in keys) for r in members}
    values = "; ".join(f"{k} ({', '.join(str(v) for v in _distinct(members, k))})" for k in keys)
    return f"{len(configs)} configurations differing in {values}"


def _distinct(runs: Sequence[RunSummary], key: str) -> list[Any]:
    return sorted({_hashable(option_of(r, key)) for r in runs}, key=_sort_key)


def groups(runs: Sequence[RunSummary], key: str) -> dict[Any, list[RunSummary]]:
    """Runs split by the value of `key` (a run key or config option), in value order."""
    out: dict[Any, list[RunSummary]] = {}
    for r in runs:
        out.setdefault(_hashable(option_of(r, key)), []).append(r)
    return {k: out[k] for k in sorted(out, key=_sort_key)}


def x_scale(values: Sequence[Any]) -> str:
    """How to lay out an option's values on an axis, decided by the values themselves: "categorical"
    unless all are numbers; "log" when there are at least three, all positive, spaced more evenly on a
    log axis than on a linear one (batch sizes 1, 2, 4 … 512); else "linear"."""
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return "categorical"
    nums = sorted({float(v) for v in values})
    if len(nums) < 3 or nums[0] <= 0:
        return "linear"
    logs = [math.log10(v) for v in nums]
    return "log" if _unevenness(logs) < _unevenness(nums) else "linear"


def _unevenness(sorted_values: Sequence[float]) -> float:
    """Coefficient of variation of the gaps between consecutive values (0: evenly spaced)."""
    gaps = [b - a for a, b in itertools.pairwise(sorted_values)]
    return statistics.pstdev(gaps) / statistics.fmean(gaps)


@dataclasses.dataclass(frozen=True)
class SeriesLine:
    """One group's configuration points in x order: a measured point has a value (median of its ok runs),
    an OOM point (every run out of memory) has None and is drawn as a marker, not as a value."""

    label: str
    points: tuple[Point, ...]
    positions: tuple[float, ...]  # where each point sits on the x axis (log10 on a log axis)


@dataclasses.dataclass(frozen=True)
class SeriesPanel:
    """One small multiple: the lines of one panel value (say one model)."""

    title: str
    lines: tuple[SeriesLine, ...]


@dataclasses.dataclass(frozen=True)
class Series:
    """A metric against one option, one line per group, one panel per value of `panel_by`."""

    metric: str
    x_option: str
    group_by: tuple[str, ...]
    panel_by: str | None
    x_values: tuple[Any, ...]
    scale: str                    # "log", "linear" or "categorical" (see x_scale)
    panels: tuple[SeriesPanel, ...]
    notes: tuple[str, ...]

    def position(self, x: Any) -> float:
        """Where option value `x` sits on the x axis."""
        if self.scale == "categorical":
            return float(self.x_values.index(x))
        return math.log10(x) if self.scale == "log" else float(x)

    def ticks(self) -> list[tuple[float, str]]:
        """(position, label) of every option value, for the x axis."""
        return [(self.position(x), str(x)) for x in self.x_values]


def series(runs: Sequence[RunSummary], metric: str, x_option: str, group_by: Sequence[str],
           panel_by: str | None = None) -> Series:
    """Configuration points (app.study.tables.points) of `metric` along `x_option`, one line per group.

    A line never pools configurations: options that differ within a group (besides x and the panel)
    split it further, and a note says which. Points without `x_option`, and failed points that are not
    out of memory, are left out and counted in a note.
    """
    drawn, left_out = [], 0
    for p in points(runs, metric):
        if p.option(x_option) is None or (p.value is None and not p.oom):
            left_out += 1
        else:
            drawn.append(p)
    x_values = tuple(sorted({_hashable(p.option(x_option)) for p in drawn}, key=_sort_key))
    out = Series(metric, x_option, tuple(group_by), panel_by, x_values, x_scale(x_values), (), ())
    by_panel: dict[Any, list[Point]] = {}
    for p in drawn:
        by_panel.setdefault(_hashable(p.option(panel_by)) if panel_by else None, []).append(p)
    panels, split_by = [], set()
    for value in sorted(by_panel, key=_sort_key):
        lines = []
        for group in _split(by_panel[value], group_by).values():
            fixed = {x_option, *group_by, *([panel_by] if panel_by else [])}
            extra = sorted(k for k in {k for p in group for k, _ in p.options} - fixed
                           if len({_hashable(p.option(k)) for p in group}) > 1)
            split_by.update(extra)
            lines += _lines(out, group, [*group_by, *extra])
        title = option_label(panel_by, value) if panel_by else info(metric).label
        panels.append(SeriesPanel(title, tuple(lines)))
    notes = []
    if split_by:
        notes.append(f"Lines are also split by {', '.join(sorted(split_by))} (it differs within a group).")
    if left_out:
        notes.append(f"{left_out} configuration(s) left out: no {x_option}, or failed other than out of memory.")
    return dataclasses.replace(out, panels=tuple(panels), notes=tuple(notes))


def _split(members: Sequence[Point], keys: Sequence[str]) -> dict[tuple[Any, ...], list[Point]]:
    """Points by their values of `keys`, in value order."""
    out: dict[tuple[Any, ...], list[Point]] = {}
    for p in members:
        out.setdefault(tuple(_hashable(p.option(k)) for k in keys), []).append(p)
    return {k: out[k] for k in sorted(out, key=lambda k: tuple(_sort_key(v) for v in k))}


def _lines(layout: Series, members: Sequence[Point], keys: Sequence[str]) -> list[SeriesLine]:
    lines = []
    for key, line in _split(members, keys).items():
        pts = sorted(line, key=lambda p: _sort_key(_hashable(p.option(layout.x_option))))
        label = " · ".join(option_label(k, v) for k, v in zip(keys, key, strict=True)) or "all runs"
        lines.append(SeriesLine(label, tuple(pts), tuple(layout.position(_hashable(p.option(layout.x_option)))
                                                          for p in pts)))
    return lines


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
