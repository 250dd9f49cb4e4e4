"""Which data the report's charts plot: the Compare view's own functions (`app.compare`) applied to the
report's runs, plus the choices a static page must make itself (which runs, which axes).
"""

from __future__ import annotations

import dataclasses
import math

from app import compare
from app.reports.model import Report
from app.store.records import RunDetail, RunSummary
from engine.causes import FailureCause

MAX_BAR_RUNS = 30
MAX_BAR_METRICS = 4
MAX_TELEMETRY_RUNS = 6
THROUGHPUT = "output_tokens_per_s"


@dataclasses.dataclass(frozen=True)
class Bar:
    label: str                 # what differs between the compared runs (`bs=8 · int8`)
    value: float
    ci95_low: float | None
    ci95_high: float | None
    estimated: bool
    ci_label: str | None = None  # what the interval is ("95% CI of the median (…)")
    run: str = ""                # the run's own label (`#12 vllm SmolLM2-135M`), for the tooltip


@dataclasses.dataclass(frozen=True)
class BarGroup:
    metric: str
    bars: list[Bar]


@dataclasses.dataclass(frozen=True)
class TelemetrySeries:
    label: str
    cpu: tuple[list[float], list[float]]
    rss: tuple[list[float], list[float]]
    gpu_util: tuple[list[float], list[float]]


def ok_runs(report: Report) -> list[RunDetail]:
    return [d for d in report.runs if d.summary.status == "ok"]


def bar_groups(report: Report) -> tuple[list[BarGroup], str]:
    """The Compare view's bar metrics that have values (first four), one bar per finished run labelled by
    what differs between the runs; past MAX_BAR_RUNS runs, the ones with the highest output throughput."""
    runs = [d.summary for d in ok_runs(report)]
    note = ""
    if len(runs) > MAX_BAR_RUNS:
        note = f"Bars show the {MAX_BAR_RUNS} runs with the highest output throughput of {len(runs)}."
        runs = sorted(runs, key=lambda r: -(r.value(THROUGHPUT) or -math.inf))[:MAX_BAR_RUNS]
    groups, labels = [], compare.differing_labels(runs)
    for name in compare.bar_metric_names(runs):
        series = compare.bar_series(runs, name)
        bars = []
        for run, value in zip(runs, series.values, strict=True):
            if value is not None:
                m = run.metrics[name]
                bars.append(Bar(labels[run.id], value, m.ci95_low, m.ci95_high, m.status == "estimated",
                                m.ci_label, report.labels[run.id]))
        if bars:
            groups.append(BarGroup(name, bars))
        if len(groups) == MAX_BAR_METRICS:
            break
    return groups, note


def landscape(report: Report) -> compare.Landscape | None:
    """Throughput over the two numeric swept options with the most distinct values (None without two), over
    the finished runs with a throughput and the runs that ran out of memory (OOM cells)."""
    runs = [d.summary for d in report.runs if (d.summary.status == "ok" and d.summary.value(THROUGHPUT) is not None)
            or d.summary.failure_cause == FailureCause.OOM]
    swept = [k for k in compare.swept_parameters(runs) if _numeric_option(runs, k)]
    distinct = {k: len({r.config[k] for r in runs if k in r.config}) for k in swept}
    swept = [k for k in swept if distinct[k] >= 2]
    axes = sorted(swept, key=lambda k: (-distinct[k], report.option_names.index(k)
                                        if k in report.option_names else 0))[:2]
    if len(axes) < 2:
        return None
    return compare.landscape(runs, axes[0], axes[1], THROUGHPUT)


def pareto(report: Report) -> compare.ParetoData | None:
    """Output tok/s against J/token when at least as many runs have it as have p50 end-to-end latency
    (and two do), else against that latency (or p50 TTFT); None when no run has both figures."""
    runs = [d.summary for d in ok_runs(report)]
    candidates = [compare.pareto_data(runs, x, THROUGHPUT)
                  for x in ("energy_j_per_output_token", "e2e_ms_p50", "ttft_ms_p50")]
    energy, latency = candidates[0], max(candidates[1:], key=lambda c: len(c.run_ids))
    if len(energy.run_ids) >= max(2, len(latency.run_ids)):
        return energy
    return latency if latency.run_ids else None


def _numeric_option(runs: list[RunSummary], key: str) -> bool:
    values = [r.config[key] for r in runs if r.config.get(key) is not None]
    return bool(values) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def telemetry(report: Report) -> list[TelemetrySeries]:
    """CPU %, worker RSS and GPU utilisation over time for the first runs that have samples."""
    out = []
    for d in report.runs:
        if not d.telemetry:
            continue
        out.append(TelemetrySeries(report.labels[d.summary.id], compare.telemetry_series(d, "cpu_percent"),
                                   compare.telemetry_series(d, "worker_rss_bytes"),
                                   compare.telemetry_series(d, "gpu.util_percent")))
        if len(out) == MAX_TELEMETRY_RUNS:
            break
    return out
