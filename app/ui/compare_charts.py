"""The Compare view's charts, each fed from store records through `app.compare` (no figure is
recomputed here). Hovering shows the exact value; clicking a bar or point emits `run_clicked`."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QWidget

from app import compare
from app.store import RunDetail, RunSummary
from engine.metric_names import info

RUN_COLORS = ("#4c9be8", "#e8a33c", "#5cc47a", "#d9534f", "#9b6fd6", "#39b3b3", "#c7c74a", "#e07bb5",
              "#8c8c8c", "#2f6db5")
MIB = 1024.0 ** 2
RUN_BRUSHES = tuple(pg.mkBrush(c) for c in RUN_COLORS)  # made once: a brush per bar costs ~10 µs each
LEGEND_MAX_RUNS = 12
NA_COLOR = "#999999"


def run_color(i: int) -> str:
    return RUN_COLORS[i % len(RUN_COLORS)]


def display_value(value: float | None, unit: str) -> str:
    """Exact value with its unit; bytes in MiB; None as 'n/a'."""
    if value is None:
        return "n/a"
    if unit == "B":
        return f"{value / MIB:,.2f} MiB"
    return f"{value:,.6g} {unit}"


class BarCharts(pg.GraphicsLayoutWidget):
    """Small multiples: one bar chart per metric, one bar per run (unavailable bars say 'n/a')."""

    run_clicked = Signal(int)
    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.series: list[compare.BarSeries] = []
        self.labels: dict[int, str] = {}  # run id -> what differs between the compared runs (bs=8 · int8)
        self._plots: list[pg.PlotItem] = []
        self.scene().sigMouseMoved.connect(self._on_move)
        self.scene().sigMouseClicked.connect(self._on_click)

    def set_runs(self, runs: Sequence[RunSummary]) -> None:
        """Rebuild the bars; the plots themselves are made once and reused (creating them is the cost)."""
        self.series = [compare.bar_series(runs, m) for m in compare.bar_metric_names(runs)]
        self.labels = compare.differing_labels(runs)
        while len(self._plots) < len(self.series):
            k = len(self._plots)
            plot = self.addPlot(row=k // 4, col=k % 4)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.getAxis("left").setWidth(52)
            plot.getAxis("left").enableAutoSIPrefix(False)
            self._plots.append(plot)
        for plot, s in zip(self._plots, self.series, strict=False):
            plot.clear()
            scale = MIB if s.unit == "B" else 1.0
            heights = [0.0 if v is None else v / scale for v in s.values]
            brushes = [RUN_BRUSHES[i % len(RUN_BRUSHES)] for i in range(len(heights))]
            plot.addItem(pg.BarGraphItem(x=np.arange(len(heights)), height=heights, width=0.7, brushes=brushes))
            missing = [i for i, v in enumerate(s.values) if v is None]
            if missing:  # one marker item for every n/a bar (hover gives each reason)
                plot.addItem(pg.ScatterPlotItem(x=missing, y=[0.0] * len(missing), symbol="x", size=10,
                                                pen=pg.mkPen(NA_COLOR), brush=None))
            title = f"{s.label} ({'MiB' if s.unit == 'B' else s.unit})"
            if missing and len(missing) == len(heights):
                note = pg.TextItem("n/a for every run\n(hover for the reason)", color=NA_COLOR, anchor=(0.5, 0.5))
                note.setPos((len(heights) - 1) / 2, 0.5)
                plot.addItem(note)
            elif missing:
                title += f" — × n/a for {len(missing)}"
            plot.setTitle(title)
            step = max(1, len(s.run_ids) // 12)  # at most ~12 tick labels; hover gives every run
            # one option per line: a bar is narrower than `bs=8 · int8`
            ticks = [(i, self.labels[rid].replace(" · ", "\n")) for i, rid in enumerate(s.run_ids)][::step]
            lines = max((t.count("\n") + 1 for _, t in ticks), default=1)
            plot.getAxis("bottom").setTicks([ticks])
            plot.getAxis("bottom").setHeight(14 * lines + 12)
            top = max([h for h in heights if h] + [1.0])
            plot.setYRange(0, top * 1.15, padding=0)
            plot.setXRange(-0.6, len(heights) - 0.4, padding=0)

    def bar_at(self, scene_pos: QPointF) -> tuple[compare.BarSeries, int] | None:
        """The (series, run position) under a scene position, if any."""
        for plot, s in zip(self._plots, self.series, strict=False):
            if plot.sceneBoundingRect().contains(scene_pos):
                x = plot.vb.mapSceneToView(scene_pos).x()
                i = int(round(x))
                if 0 <= i < len(s.run_ids) and abs(x - i) <= 0.35:
                    return s, i
        return None

    def _on_move(self, pos: QPointF) -> None:
        hit = self.bar_at(pos)
        if hit is None:
            self.setToolTip("")
            return
        s, i = hit
        reason = "" if s.values[i] is not None else f" ({s.reasons[i]})"
        rid = s.run_ids[i]
        text = f"{self.labels[rid]} — run #{rid} — {s.label}: {display_value(s.values[i], s.unit)}{reason}"
        self.setToolTip(text)
        self.hovered.emit(text)

    def _on_click(self, event: pg.GraphicsScene.mouseEvents.MouseClickEvent) -> None:
        hit = self.bar_at(event.scenePos())
        if hit is not None:
            self.run_clicked.emit(hit[0].run_ids[hit[1]])


class ParetoChart(pg.PlotWidget):
    """Scatter of two metrics, optionally a third as marker area; the Pareto front across them (in each
    metric's catalogue direction) highlighted."""

    run_clicked = Signal(int)
    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: compare.ParetoData | None = None
        self.showGrid(x=True, y=True, alpha=0.2)
        for side in ("left", "bottom"):
            self.getAxis(side).enableAutoSIPrefix(False)
        self.scatter = pg.ScatterPlotItem(size=11, hoverable=True, hoverSize=15, tip=None)
        self.front_line = pg.PlotDataItem(pen=pg.mkPen("#e8a33c", width=2))
        self.addItem(self.front_line)
        self.addItem(self.scatter)
        self.scatter.sigClicked.connect(self._on_click)
        self.scatter.sigHovered.connect(self._on_hover)

    def set_runs(self, runs: Sequence[RunSummary], x_metric: str, y_metric: str, size_metric: str | None = None
                 ) -> None:
        """Draw the runs; with `size_metric`, marker area grows with it and the front is over all three."""
        d = compare.pareto_data(runs, x_metric, y_metric, size_metric)
        self.data = d
        front = set(d.front)
        sizes = _marker_sizes(d.sizes) if size_metric else [10.0] * len(d.run_ids)
        spots = [{"pos": (x, y), "data": rid, "brush": pg.mkBrush("#e8a33c" if i in front else "#4c9be8"),
                  "symbol": "star" if i in front else "o", "size": sizes[i] * (1.5 if i in front else 1.0)}
                 for i, (rid, x, y) in enumerate(zip(d.run_ids, d.xs, d.ys, strict=True))]
        self.scatter.setData(spots)
        # a front over two metrics is a line in this plane; over three it is not, so only its points show
        line = [] if size_metric else d.front
        self.front_line.setData([d.xs[i] for i in line], [d.ys[i] for i in line])
        xi, yi = info(x_metric), info(y_metric)
        self.setLabel("bottom", f"{xi.label} ({xi.unit})" + (" ↑" if xi.higher_is_better else " ↓"))
        self.setLabel("left", f"{yi.label} ({yi.unit})" + (" ↑" if yi.higher_is_better else " ↓"))
        figures = "all three figures" if size_metric else "both figures"
        missing = f" — {len(d.missing)} run(s) without {figures} left out" if d.missing else ""
        self.setTitle(f"Pareto front: {len(d.front)} of {len(d.run_ids)} runs{missing}{_size_legend(d)}")
        self.autoRange()

    def _describe(self, run_id: int) -> str:
        assert self.data is not None
        d = self.data
        i = d.run_ids.index(run_id)
        xi, yi = info(d.x_metric), info(d.y_metric)
        front = " (on the front)" if i in d.front else ""
        size = (f", {info(d.size_metric).label} {display_value(d.sizes[i], info(d.size_metric).unit)}"
                if d.size_metric else "")
        return (f"Run #{run_id}{front}: {xi.label} {display_value(d.xs[i], xi.unit)}, "
                f"{yi.label} {display_value(d.ys[i], yi.unit)}{size}")

    def _on_hover(self, _item: pg.ScatterPlotItem, points: Sequence[pg.SpotItem], _ev: object) -> None:
        if len(points):
            text = self._describe(int(points[0].data()))
            self.setToolTip(text)
            self.hovered.emit(text)

    def _on_click(self, _item: pg.ScatterPlotItem, points: Sequence[pg.SpotItem], _ev: object) -> None:
        if len(points):
            self.run_clicked.emit(int(points[0].data()))


def _marker_sizes(values: Sequence[float], smallest: float = 8.0, largest: float = 30.0) -> list[float]:
    """Marker diameters whose area grows linearly with the value, from the smallest to the largest value."""
    low, high = (min(values), max(values)) if values else (0.0, 0.0)
    if high <= low:
        return [(smallest + largest) / 2] * len(values)
    return [math.sqrt(smallest ** 2 + (largest ** 2 - smallest ** 2) * (v - low) / (high - low)) for v in values]


def _size_legend(d: compare.ParetoData) -> str:
    """' over three figures', then a line 'marker area: Z, … to …', for a three-metric chart; else ''."""
    if not d.size_metric:
        return ""
    si = info(d.size_metric)
    span = (f", {display_value(min(d.sizes), si.unit)} to {display_value(max(d.sizes), si.unit)}"
            if d.sizes else "")
    # on a second line: one long line would widen the plot past its pane
    return f" over three figures<br>marker area: {si.label}{span}"


class LandscapeChart(pg.PlotWidget):
    """Heatmap of a metric over two swept parameters (median per cell; "OOM" where every run ran out of
    memory, "—" where no run)."""

    hovered = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.landscape: compare.Landscape | None = None
        self.image = pg.ImageItem()
        self.addItem(self.image)
        self.color_bar = pg.ColorBarItem(colorMap=pg.colormap.get("viridis"), interactive=False, width=14)
        self.color_bar.setImageItem(self.image, insert_in=self.getPlotItem())
        self.labels: list[pg.TextItem] = []
        self.setMouseEnabled(x=False, y=False)
        self.scene().sigMouseMoved.connect(self._on_move)

    def set_runs(self, runs: Sequence[RunSummary], x_param: str, y_param: str, metric: str,
                 group: str = "") -> None:
        """Draw the landscape of `runs` (one group's runs when `group` names it, e.g. `model=X`)."""
        land = compare.landscape(runs, x_param, y_param, metric)
        self.landscape = land
        for label in self.labels:
            self.removeItem(label)
        self.labels = []
        grid = np.array(land.grid, dtype=float).T if land.grid else np.full((1, 1), np.nan)
        self.image.setImage(grid, autoLevels=False)
        finite = grid[np.isfinite(grid)]
        if finite.size:
            low, high = float(finite.min()), float(finite.max())
            self.color_bar.setLevels((low, high if high > low else low + 1.0))
        for i in range(len(land.x_values)):
            for j in range(len(land.y_values)):
                text = pg.TextItem(land.cell_text(i, j), color="#ffffff", anchor=(0.5, 0.5))
                text.setPos(i + 0.5, j + 0.5)
                self.addItem(text)
                self.labels.append(text)
        self.getAxis("bottom").setTicks([[(i + 0.5, str(v)) for i, v in enumerate(land.x_values)]])
        self.getAxis("left").setTicks([[(j + 0.5, str(v)) for j, v in enumerate(land.y_values)]])
        mi = info(metric)
        self.setLabel("bottom", x_param)
        self.setLabel("left", y_param)
        self.setTitle(f"{mi.label} ({mi.unit}) — median per cell" + (f" — {group}" if group else ""))
        self.setRange(xRange=(0, max(len(land.x_values), 1)), yRange=(0, max(len(land.y_values), 1)), padding=0)

    def _on_move(self, pos: QPointF) -> None:
        land = self.landscape
        if land is None or not self.sceneBoundingRect().contains(pos):
            return
        p = self.getPlotItem().vb.mapSceneToView(pos)
        i, j = int(math.floor(p.x())), int(math.floor(p.y()))
        if 0 <= i < len(land.x_values) and 0 <= j < len(land.y_values):
            v = land.grid[j][i]
            unit = info(land.metric).unit
            n = land.counts[j][i]
            pooled = f"; pools {land.pooled[j][i]}" if land.pooled[j][i] else ""
            value = ("OOM: every run out of memory" if land.oom[j][i] else "no run") if math.isnan(v) \
                else display_value(v, unit)
            text = f"{land.x_param}={land.x_values[i]}, {land.y_param}={land.y_values[j]}: {value} ({n} run(s){pooled})"
            self.setToolTip(text)
            self.hovered.emit(text)


class SeriesChart(pg.GraphicsLayoutWidget):
    """Small multiples of a metric against one option: a panel per `panel_by` value, a line per group,
    configuration points (median of repetitions) as symbols; OOM points as ✕ in the line's colour at the
    axis floor, labelled OOM once per panel. The y scale is shared by every panel or free per panel."""

    run_clicked = Signal(int)
    hovered = Signal(str)
    COLUMNS = 4

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data: compare.Series | None = None
        self.colors: dict[str, str] = {}
        self._plots: list[pg.PlotItem] = []
        self.scene().sigMouseMoved.connect(self._on_move)
        self.scene().sigMouseClicked.connect(self._on_click)

    def set_runs(self, runs: Sequence[RunSummary], metric: str, x_option: str, group_by: str,
                 panel_by: str | None, shared_y: bool = True) -> None:
        """Rebuild the panels (plots are made once and reused: creating them is the cost)."""
        data = compare.series(runs, metric, x_option, [group_by], panel_by)
        self.data = data
        labels = list(dict.fromkeys(line.label for panel in data.panels for line in panel.lines))
        self.colors = {label: run_color(i) for i, label in enumerate(labels)}
        while len(self._plots) < len(data.panels):
            k = len(self._plots)
            plot = self.addPlot(row=k // self.COLUMNS, col=k % self.COLUMNS)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.getAxis("left").enableAutoSIPrefix(False)
            self._plots.append(plot)
        for plot in self._plots[len(data.panels):]:
            plot.clear()
            plot.hide()
        mi = info(metric)
        scale = MIB if mi.unit == "B" else 1.0
        tops = [max([p.value / scale for line in panel.lines for p in line.points if p.value is not None] + [0.0])
                for panel in data.panels]
        for k, (plot, panel) in enumerate(zip(self._plots, data.panels, strict=False)):
            plot.show()
            plot.setLabel("left", f"{mi.label} ({'MiB' if mi.unit == 'B' else mi.unit})" if k % self.COLUMNS == 0
                          else None)
            self._draw_panel(plot, panel, scale, (max(tops) if shared_y else tops[k]) or 1.0, k == 0)
        self.setToolTip("")

    def _draw_panel(self, plot: pg.PlotItem, panel: compare.SeriesPanel, scale: float, top: float,
                    with_legend: bool) -> None:
        assert self.data is not None
        plot.clear()
        legend = plot.legend
        if with_legend and legend is None:
            legend = plot.addLegend(offset=(5, 5), labelTextSize="8pt")
        if legend is not None:
            legend.clear()
            legend.setVisible(with_legend and len(self.colors) <= LEGEND_MAX_RUNS)
        oom_at: set[float] = set()
        for line in panel.lines:
            color = self.colors[line.label]
            ok = [(x, p.value / scale) for x, p in zip(line.positions, line.points, strict=True) if p.value is not None]
            plot.addItem(pg.PlotDataItem([x for x, _ in ok], [y for _, y in ok], pen=pg.mkPen(color, width=2),
                                         symbol="o", symbolSize=7, symbolBrush=color, symbolPen=None,
                                         name=line.label if with_legend else None))
            oom = [x for x, p in zip(line.positions, line.points, strict=True) if p.oom]
            if oom:
                plot.addItem(pg.ScatterPlotItem(x=oom, y=[0.0] * len(oom), symbol="x", size=12,
                                                pen=pg.mkPen(color, width=2), brush=None))
                oom_at.update(oom)
        if oom_at:  # one label over the first ✕: one per marker would overlap on a narrow panel
            text = pg.TextItem("✕ OOM", color=NA_COLOR, anchor=(0.5, 1.0))
            text.setPos(min(oom_at), top * 0.03)
            plot.addItem(text)
        plot.setTitle(panel.title)
        ticks = self.data.ticks()  # every other value a minor tick: its label is dropped where it would overlap
        plot.getAxis("bottom").setTicks([ticks[::2], ticks[1::2]])
        xs = [x for x, _ in self.data.ticks()]
        pad = 0.05 * (max(xs) - min(xs) or 1.0)
        plot.setXRange(min(xs) - pad, max(xs) + pad, padding=0)
        plot.setYRange(0, top * 1.12, padding=0)

    def point_at(self, scene_pos: QPointF) -> tuple[compare.SeriesLine, int] | None:
        """The (line, point index) drawn within 8 pixels of a scene position, if any."""
        if self.data is None:
            return None
        scale = MIB if info(self.data.metric).unit == "B" else 1.0
        for plot, panel in zip(self._plots, self.data.panels, strict=False):
            if not plot.sceneBoundingRect().contains(scene_pos):
                continue
            best: tuple[float, compare.SeriesLine, int] | None = None
            for line in panel.lines:
                for i, (x, p) in enumerate(zip(line.positions, line.points, strict=True)):
                    y = 0.0 if p.value is None else p.value / scale
                    d = (plot.vb.mapViewToScene(QPointF(x, y)) - scene_pos).manhattanLength()
                    if d <= 8 and (best is None or d < best[0]):
                        best = (d, line, i)
            return None if best is None else (best[1], best[2])
        return None

    def describe(self, line: compare.SeriesLine, i: int) -> str:
        """Tooltip of one point: the group, the option value, the median and what it pools."""
        assert self.data is not None
        p, mi = line.points[i], info(self.data.metric)
        ids = ", ".join(f"#{r}" for r in p.run_ids[:6]) + (" …" if len(p.run_ids) > 6 else "")
        value = ("OOM: every run out of memory" if p.oom
                 else f"{display_value(p.value, mi.unit)} (median of {p.ok_runs} ok run(s))")
        failed = f", {p.failed_runs} failed" if p.failed_runs and not p.oom else ""
        return f"{line.label}, {self.data.x_option}={p.option(self.data.x_option)}: {value}{failed} — runs {ids}"

    def _on_move(self, pos: QPointF) -> None:
        hit = self.point_at(pos)
        text = "" if hit is None else self.describe(*hit)
        self.setToolTip(text)
        if text:
            self.hovered.emit(text)

    def _on_click(self, event: pg.GraphicsScene.mouseEvents.MouseClickEvent) -> None:
        hit = self.point_at(event.scenePos())
        if hit is not None:
            self.run_clicked.emit(hit[0].points[hit[1]].run_ids[0])


class TelemetryOverlay(pg.PlotWidget):
    """One telemetry field of every chosen run on a common time axis (seconds since each run's start)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.showGrid(x=True, y=True, alpha=0.2)
        self.addLegend(offset=(-5, 5))
        self.setLabel("bottom", "time since run start", units="s")
        self.curve_count = 0

    def set_runs(self, details: Sequence[RunDetail], key: str) -> None:
        self.clear()
        self.curve_count = 0
        named = len(details) <= LEGEND_MAX_RUNS  # a legend of 50 entries helps nobody and costs ~20 ms each
        legend = self.getPlotItem().legend
        if legend is not None:
            legend.setVisible(named)
        label, unit = compare.TELEMETRY_FIELDS[key]
        scale = 1024.0 ** 3 if unit == "B" else 1.0
        for i, d in enumerate(details):
            ts, vs = compare.telemetry_series(d, key)
            if not ts:
                continue
            curve = pg.PlotCurveItem(np.asarray(ts), np.asarray(vs) / scale, pen=pg.mkPen(run_color(i), width=1),
                                     name=compare.run_label(d.summary) if named else None)
            self.addItem(curve)
            self.curve_count += 1
        self.setLabel("left", f"{label} ({'GiB' if unit == 'B' else unit})")
        self.setTitle(None if self.curve_count else f"No {label} samples in the chosen runs")
