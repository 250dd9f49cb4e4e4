"""The report's charts as matplotlib figures (object API, no pyplot, no GUI backend): inline SVG for
HTML (with `<title>` hover tooltips) and pages for the PDF.
"""

from __future__ import annotations

import dataclasses
import html
import io
import math
import re
import statistics

import matplotlib
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from app import compare
from app.reports import chart_data
from app.reports.model import Distribution, Report, SeriesFigure, format_number, metric_header
from engine.metric_names import info
from engine.results import MEDIAN_CI

_RC = {"svg.fonttype": "none", "svg.hashsalt": "inferlab-report", "font.size": 8.5,
       "axes.spines.top": False, "axes.spines.right": False}
_MAX_TIPPED_POINTS = 300
_MAX_TIPPED_CELLS = 600
_OOM_COLOR = "#b03a2e"
_BYTES_PER_MIB = 2**20
_COLORS = ("#3465a4", "#cc6633", "#4e9a06", "#75507b", "#c4a000", "#2e8b8b")
_PANEL_COLUMNS = 4   # small multiples per row, as the Compare view's Series tab lays them out
_LEGEND_MAX = 24     # lines named in the legend; past that, each line's tooltip names it


@dataclasses.dataclass
class Chart:
    """One chart: its figure, the tooltip text of each artist id, and a note shown under it."""

    key: str
    title: str
    figure: Figure
    tips: dict[str, str]
    note: str = ""


def build_charts(report: Report) -> list[Chart]:
    """The charts that have data, in report order."""
    with matplotlib.rc_context(_RC):
        charts = [*(_series(s) for s in report.series), _bars(report), _landscape(report), _pareto(report),
                  _telemetry(report), *(_distribution(d) for d in report.distributions)]
    return [c for c in charts if c is not None]


def to_svg(chart: Chart) -> str:
    """The chart as an inline `<svg>` element, tooltips inserted as `<title>` children."""
    buf = io.StringIO()
    with matplotlib.rc_context(_RC):
        chart.figure.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buf.getvalue()
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg[svg.index("<svg"):], flags=re.S)

    def add_title(match: re.Match[str]) -> str:
        tip = chart.tips.get(match.group(1))
        return match.group(0) if tip is None else f"{match.group(0)}\n   <title>{html.escape(tip)}</title>"

    return re.sub(r'<g id="(tip-[\w-]+)"[^>]*>', add_title, svg)


def _bars(report: Report) -> Chart | None:
    groups, note = chart_data.bar_groups(report)
    if not groups:
        return None
    n_bars = max(len(g.bars) for g in groups)
    fig = Figure(figsize=(10, 1.2 + 0.24 * n_bars), layout="constrained")
    axes = fig.subplots(1, len(groups), sharey=True, squeeze=False)[0]
    tips: dict[str, str] = {}
    labels = [b.label for b in groups[0].bars]
    for gi, (ax, group) in enumerate(zip(axes, groups, strict=True)):
        index = {b.label: i for i, b in enumerate(groups[0].bars)}
        for b in group.bars:
            if b.label not in index:
                index[b.label] = len(index)
                labels.append(b.label)
        title = metric_header(group.metric)
        scale = _BYTES_PER_MIB if info(group.metric).unit == "B" else 1.0
        for b in group.bars:
            y = index[b.label]
            b = dataclasses.replace(b, value=b.value / scale, ci95_low=_scaled(b.ci95_low, scale),
                                    ci95_high=_scaled(b.ci95_high, scale))
            rect = ax.barh(y, b.value, color=_COLORS[gi % len(_COLORS)], alpha=0.55 if b.estimated else 0.9,
                           hatch="//" if b.estimated else None)[0]
            gid = f"tip-bar-{gi}-{y}"
            rect.set_gid(gid)
            tips[gid] = f"{b.label} — {b.run}: {title} = {format_number(b.value)}" + _ci_text(b) + (
                " (estimated)" if b.estimated else "")
            if b.ci95_low is not None and b.ci95_high is not None:
                ax.errorbar([b.value], [y], xerr=[[max(b.value - b.ci95_low, 0)], [max(b.ci95_high - b.value, 0)]],
                            fmt="none", ecolor="#222", capsize=2, lw=0.8)
        ax.set_title(title, fontsize=9)
        ax.grid(axis="x", alpha=0.3)
        positive = [b.value for b in group.bars if b.value > 0]
        if positive and len(positive) == len(group.bars) and max(positive) > 100 * min(positive):
            ax.set_xscale("log")  # bars spanning over 100× would leave the small ones invisible
    axes[0].set_yticks(range(len(labels)), labels)
    axes[0].invert_yaxis()
    ci_labels = sorted({b.ci_label for g in groups for b in g.bars if b.ci_label}, key=lambda t: t != MEDIAN_CI)
    error_bars = " or ".join(ci_labels) if ci_labels else "none (no run has a 95% CI)"
    return Chart("bars", f"Key metrics by run (error bars: {error_bars}; hatched: estimated)", fig, tips, note)


def _scaled(v: float | None, scale: float) -> float | None:
    return None if v is None else v / scale


def _ci_text(b: chart_data.Bar) -> str:
    if b.ci95_low is None or b.ci95_high is None:
        return ""
    return f" [{b.ci_label or '95% CI'}: {format_number(b.ci95_low)} to {format_number(b.ci95_high)}]"


def _landscape(report: Report) -> Chart | None:
    land = chart_data.landscape(report)
    if land is None:
        return None
    nx, ny = len(land.x_values), len(land.y_values)
    fig = Figure(figsize=(min(10, 2.5 + 0.7 * nx), min(8, 1.8 + 0.45 * ny)), layout="constrained")
    ax = fig.subplots()
    values = [v for row in land.grid for v in row if not math.isnan(v)] or [0.0]
    lo, hi = min(values), max(values)
    cmap = matplotlib.colormaps["viridis"]
    norm = matplotlib.colors.Normalize(lo, hi if hi > lo else lo + 1)
    tips: dict[str, str] = {}
    annotate = nx * ny <= 150
    for yi, row in enumerate(land.grid):
        for xi, v in enumerate(row):
            empty, oom = math.isnan(v), land.oom[yi][xi]
            rect = Rectangle((xi - 0.5, yi - 0.5), 1, 1, edgecolor="white",
                             facecolor=_OOM_COLOR if oom else "#eeeeee" if empty else cmap(norm(v)))
            ax.add_patch(rect)
            if empty and not oom:
                continue
            if nx * ny <= _MAX_TIPPED_CELLS:
                gid = f"tip-cell-{xi}-{yi}"
                rect.set_gid(gid)
                pooled = f"; pools {land.pooled[yi][xi]}" if land.pooled[yi][xi] else ""
                value = (f"OOM, every run ran out of memory ({land.counts[yi][xi]} run(s){pooled})" if oom else
                         f"{format_number(v)} tok/s (median of {land.counts[yi][xi]} run(s){pooled})")
                tips[gid] = f"{land.x_param}={land.x_values[xi]}, {land.y_param}={land.y_values[yi]}: {value}"
            if annotate:
                mark = " *" if land.pooled[yi][xi] else ""
                ax.text(xi, yi, "OOM" if oom else format_number(v) + mark, ha="center", va="center", fontsize=7,
                        color="white" if oom or norm(v) < 0.6 else "black")
    ax.set_xlim(-0.5, nx - 0.5)
    ax.set_ylim(-0.5, ny - 0.5)
    ax.set_xticks(range(nx), [str(v) for v in land.x_values], rotation=45 if nx > 8 else 0)
    ax.set_yticks(range(ny), [str(v) for v in land.y_values])
    ax.set_xlabel(land.x_param)
    ax.set_ylabel(land.y_param)
    fig.colorbar(matplotlib.cm.ScalarMappable(norm, cmap), ax=ax, label=metric_header("output_tokens_per_s"))
    return Chart("landscape", f"Throughput landscape over {land.x_param} × {land.y_param}", fig, tips,
                 "Cell: median output throughput of the finished runs with those two values; OOM (red): every "
                 "run ran out of memory; grey: no run."
                 + (f" * {land.note}." if land.note else ""))


def _series(figure: SeriesFigure) -> Chart | None:
    """Small multiples of one series: a panel per `panel_by` value, a line per group through its measured
    points, and an OOM point as a × in the line's colour on the axis floor, never as a value."""
    data = figure.series
    if not data.panels:
        return None
    n = len(data.panels)
    ncols = min(_PANEL_COLUMNS, n)
    nrows = math.ceil(n / ncols)
    labels = list(dict.fromkeys(line.label for panel in data.panels for line in panel.lines))
    legend_in = 0.2 + 0.16 * math.ceil(len(labels) / 4) if len(labels) <= _LEGEND_MAX else 0.0
    height = min(14, 1.4 + legend_in + 2.2 * nrows)
    fig = Figure(figsize=(10, height))  # fixed margins: a constrained layout of many panels costs more than the lines
    fig.subplots_adjust(left=0.07, right=0.99, top=1 - 0.75 / height, bottom=(1.1 + legend_in) / height,
                        hspace=0.45, wspace=0.12)  # bottom: x values, legend, and the PDF page's note under them
    axes = fig.subplots(nrows, ncols, sharex=True, sharey=figure.shared_y, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    cmap = matplotlib.colormaps["tab10" if len(labels) <= 10 else "tab20"]
    colors = {label: cmap(i % cmap.N) for i, label in enumerate(labels)}
    scale = _BYTES_PER_MIB if info(data.metric).unit == "B" else 1.0
    tops = [max([p.value / scale for line in panel.lines for p in line.points if p.value is not None] + [0.0])
            for panel in data.panels]
    ticks = data.ticks()  # every panel has the same x values (shared x): set once
    axes[0].set_xticks([x for x, _ in ticks], [t for _, t in ticks])
    tips: dict[str, str] = {}
    for k, (ax, panel) in enumerate(zip(axes, data.panels, strict=False)):
        top = (max(tops) if figure.shared_y else tops[k]) or 1.0
        oom_x: list[float] = []
        oom_colors: list[tuple[float, ...]] = []
        for li, line in enumerate(panel.lines):
            ok = [(x, p.value / scale) for x, p in zip(line.positions, line.points, strict=True) if p.value is not None]
            if ok:
                (drawn,) = ax.plot(*zip(*ok, strict=True), "-o", color=colors[line.label], lw=1.3, ms=3.5)
                drawn.set_gid(f"tip-series-{k}-{li}")
                tips[f"tip-series-{k}-{li}"] = _series_tip(data, panel.title, line, scale)
            oom = [x for x, p in zip(line.positions, line.points, strict=True) if p.oom]
            oom_x += oom
            oom_colors += [colors[line.label]] * len(oom)
        if oom_x:  # one artist per panel (its tooltip lists every line's OOM points), one label over the first ×
            marks = ax.scatter(oom_x, [0.0] * len(oom_x), marker="x", c=oom_colors, s=40, linewidths=1.6,
                               clip_on=False, zorder=3)
            marks.set_gid(f"tip-oom-{k}")
            tips[f"tip-oom-{k}"] = "; ".join(
                f"{panel.title} · {line.label}: OOM (every run out of memory) at "
                + ", ".join(f"{data.x_option}={p.option(data.x_option)}" for p in line.points if p.oom)
                for line in panel.lines if any(p.oom for p in line.points))
            ax.text(min(oom_x), top * 0.04, "× OOM", ha="center", va="bottom", fontsize=7, color=_OOM_COLOR)
        ax.set_title(panel.title, fontsize=8.5)
        ax.set_ylim(0, top * 1.12)
        ax.grid(alpha=0.3)
        if k % ncols == 0:
            ax.set_ylabel(metric_header(data.metric), fontsize=7.5)
        if k + ncols >= n:  # no panel below: this one shows the x values
            ax.xaxis.set_tick_params(labelbottom=True, labelsize=7, rotation=45 if len(ticks) > 6 else 0)
            ax.set_xlabel(data.x_option + (" (log scale)" if data.scale == "log" else ""), fontsize=7.5)
    if len(labels) <= _LEGEND_MAX:
        handles = [Line2D([], [], color=colors[label], marker="o", ms=3.5) for label in labels]
        fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.45 / height),
                   ncols=min(4, len(labels)), fontsize=7, frameon=False)
    y_text = "y shared by every panel" if figure.shared_y else "y free per panel"
    lines_by = " · ".join(data.group_by)
    title = f"{info(data.metric).label} against {data.x_option}, a line per {lines_by}" + (
        f", a panel per {data.panel_by}" if data.panel_by else "")
    note = " ".join([figure.note, f"{data.scale.capitalize()} x axis; {y_text}.", *data.notes,
                     *([] if len(labels) <= _LEGEND_MAX else [f"{len(labels)} lines: hover one for its name."])])
    return Chart("series", title, fig, tips, note.strip())


def _series_tip(data: compare.Series, panel: str, line: compare.SeriesLine, scale: float) -> str:
    """A line's tooltip: each point's option value and median (with its ok runs) or OOM."""
    parts = [f"{p.option(data.x_option)}: " + ("OOM" if p.value is None else
                                               f"{format_number(p.value / scale)} (median of {p.ok_runs} ok run(s))")
             for p in line.points]
    return f"{panel} · {line.label}, {metric_header(data.metric)} by {data.x_option}: " + "; ".join(parts)


def _distribution(dist: Distribution) -> Chart | None:
    """One horizontal box per label (quartiles, whiskers at 1.5 IQR), its values as dots over it."""
    groups = [(label, values) for label, values in dist.groups if values]
    if not groups:
        return None
    fig = Figure(figsize=(8, min(10, 1.2 + 0.32 * len(groups))), layout="constrained")
    ax = fig.subplots()
    ax.boxplot([values for _, values in groups], orientation="horizontal", widths=0.6, showfliers=False,
               medianprops={"color": _COLORS[1]})
    tips: dict[str, str] = {}
    for i, (label, values) in enumerate(groups, start=1):
        dots = ax.scatter(values, [i] * len(values), s=9, color=_COLORS[0], alpha=0.5, zorder=3)
        gid = f"tip-dist-{i}"
        dots.set_gid(gid)
        tips[gid] = f"{label}: n={len(values)}, median {format_number(statistics.median(values))}, " \
                    f"min {format_number(min(values))}, max {format_number(max(values))}"
    ax.set_yticks(range(1, len(groups) + 1), [label for label, _ in groups])
    ax.invert_yaxis()
    ax.set_xlabel(dist.axis_label)
    return Chart(dist.key, dist.title, fig, tips, dist.note)


def _pareto(report: Report) -> Chart | None:
    par = chart_data.pareto(report)
    if par is None:
        return None
    fig = Figure(figsize=(7, 4.2), layout="constrained")
    ax = fig.subplots()
    tips: dict[str, str] = {}
    front = set(par.front)
    labels = {d.summary.id: report.labels[d.summary.id] for d in report.runs}
    if len(par.run_ids) <= _MAX_TIPPED_POINTS:
        for i, (rid, x, y) in enumerate(zip(par.run_ids, par.xs, par.ys, strict=True)):
            (line,) = ax.plot([x], [y], "o", ms=6 if i in front else 4,
                              color=_COLORS[1] if i in front else _COLORS[0], alpha=0.85)
            gid = f"tip-pt-{i}"
            line.set_gid(gid)
            tips[gid] = f"{labels[rid]}: {format_number(y)} tok/s at {format_number(x)} {info(par.x_metric).unit}"
    else:
        ax.scatter(par.xs, par.ys, s=8, color=_COLORS[0], alpha=0.6)
    ax.step([par.xs[i] for i in par.front], [par.ys[i] for i in par.front], where="post", color=_COLORS[1],
            lw=1.2, marker="o" if len(par.front) == 1 else None, label="Pareto front")
    ax.set_xlabel(metric_header(par.x_metric))
    ax.set_ylabel(metric_header(par.y_metric))
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    vs = "J/token" if par.x_metric.startswith("energy") else "latency (energy unavailable)"
    note = "Orange: not beaten on both axes by another run."
    if par.missing:
        note += f" Left out (a figure unavailable): runs {', '.join(f'#{i}' for i in par.missing[:20])}"
        note += " …" if len(par.missing) > 20 else ""
    return Chart("pareto", f"Pareto front: throughput vs {vs}", fig, tips, note)


def _telemetry(report: Report) -> Chart | None:
    series = chart_data.telemetry(report)
    if not series:
        return None
    with_gpu = any(s.gpu_util[0] for s in series)
    rows = 3 if with_gpu else 2
    fig = Figure(figsize=(10, 1.9 * rows + 0.6), layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True)
    for i, s in enumerate(series):
        color = _COLORS[i % len(_COLORS)]
        axes[0].plot(*s.cpu, color=color, lw=1, label=s.label)
        axes[1].plot(s.rss[0], [v / _BYTES_PER_MIB for v in s.rss[1]], color=color, lw=1)
        if with_gpu:
            axes[2].plot(*s.gpu_util, color=color, lw=1)
    axes[0].set_ylabel("CPU (%)")
    axes[1].set_ylabel("Worker RSS (MiB)")
    if with_gpu:
        axes[2].set_ylabel("GPU util (%)")
    axes[-1].set_xlabel("Time since first sample (s)")
    for ax in axes:
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper left", fontsize=7, ncols=min(3, len(series)))
    note = "GPU utilisation is absent: no NVML device was seen." if not with_gpu else ""
    return Chart("telemetry", "Telemetry overlays", fig, tips={}, note=note)
