"""Rolling telemetry charts: samples go into ring buffers, one timer redraws at most 20 times a second.

Data rate and frame rate are kept apart: `add_sample` only writes numbers; `redraw` (on a QTimer,
only when something changed) slices the buffers to the visible window and, when that holds more than
two samples per pixel column, reduces it to a min and a max per column (`peak_decimate`), so pyqtgraph
draws ~2 points per pixel whatever the history length. One line per GPU; without NVML the GPU plots hide
and a label says so.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QGraphicsItem, QLabel, QVBoxLayout, QWidget

from app.ui.ring_buffer import RingBuffer

GIB = 1024.0 ** 3
REDRAW_INTERVAL_MS = 50  # ≤ 20 Hz whatever the sample rate
# Decimate once the visible window holds more than this many samples per pixel column.
DECIMATE_ABOVE_POINTS_PER_PX = 2
# (title, unit, per-GPU field, scale) for the GPU plots, then the host plots.
GPU_PLOTS = (("GPU utilization", "%", "util_percent", 1.0), ("GPU memory used", "GiB", "mem_used_bytes", GIB),
             ("GPU power", "W", "power_w", 1.0), ("GPU temperature", "°C", "temp_c", 1.0),
             ("SM / memory clock", "MHz", "sm_clock_mhz", 1.0))
HOST_PLOTS = (("CPU", "%"), ("RAM", "GiB"))
GPU_COLORS = ("#4c9be8", "#e8a33c", "#5cc47a", "#d9534f", "#9b6fd6", "#39b3b3", "#c7c74a", "#e07bb5")
NO_GPU_TEXT = ("No NVIDIA GPU detected (NVML not available): GPU utilization, memory, power, temperature "
               "and clocks cannot be shown. Showing CPU and RAM.")


class ClippedAxis(pg.AxisItem):
    """pyqtgraph's axis, painted under a rectangular clip.

    With no clip set, Qt's raster engine blends translucent lines (the grid) pixel by pixel, partly on
    worker threads: an order of magnitude slower. A clip a little larger than the item changes no pixel.
    """

    def paint(self, painter: QPainter, *args: Any) -> None:
        painter.setClipRect(self.boundingRect().adjusted(-2, -2, 2, 2), Qt.ClipOperation.IntersectClip)
        super().paint(painter, *args)


class LiveCharts(QWidget):
    """Telemetry sample dicts in, rolling plots out. `window_s` limits the visible span (None: all)."""

    def __init__(self, capacity: int = 36_000, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.capacity = capacity
        self.window_s: float | None = 300.0
        self._buffer: RingBuffer | None = None
        self._n_gpus = -1
        self._t0: float | None = None
        self._dirty = False
        self.redraw_count = 0
        self.no_gpu_label = QLabel(NO_GPU_TEXT)
        self.no_gpu_label.setWordWrap(True)
        self.no_gpu_label.setObjectName("noGpuLabel")
        self.no_gpu_label.hide()
        self.graphics = pg.GraphicsLayoutWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.no_gpu_label)
        layout.addWidget(self.graphics)
        self._plots: list[pg.PlotItem] = []
        self._curves: list[pg.PlotCurveItem] = []
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_INTERVAL_MS)
        self._timer.timeout.connect(self.redraw)
        self._timer.start()

    @property
    def n_gpus(self) -> int:
        return max(self._n_gpus, 0)

    def add_sample(self, sample: dict[str, Any]) -> None:
        """Record one telemetry sample (cheap; drawing happens on the timer)."""
        gpus = sample.get("gpus") or []
        if len(gpus) != self._n_gpus:
            self._build(len(gpus))
        if self._t0 is None:
            self._t0 = float(sample["t"])
        assert self._buffer is not None
        self._buffer.append(float(sample["t"]) - self._t0, self._row(sample, gpus))
        self._dirty = True

    def load_arrays(self, t_s: np.ndarray, values: np.ndarray, n_gpus: int) -> None:
        """Replace the contents with prepared arrays (series order as `series_names`); for benches."""
        self._build(n_gpus)
        assert self._buffer is not None
        self._buffer.extend(t_s, values)
        self._t0 = 0.0
        self._dirty = True

    def series_names(self) -> list[str]:
        names = [f"{p[2]}[{g}]" for p in GPU_PLOTS for g in range(self.n_gpus)]
        names += [f"mem_clock_mhz[{g}]" for g in range(self.n_gpus)]
        return names + ["cpu_percent", "ram_used_gib"]

    def clear(self) -> None:
        if self._buffer is not None:
            self._buffer.clear()
        self._t0 = None
        self._dirty = True

    def set_window(self, window_s: float | None) -> None:
        self.window_s = window_s
        self._dirty = True

    def redraw(self) -> None:
        """Push the visible window, decimated when dense, to the curves (no-op when nothing changed)."""
        if not self._dirty or self._buffer is None:
            return
        self._dirty = False
        t, values = self._buffer.times(), self._buffer.values()
        connect: list[np.ndarray | str] = ["finite"] * len(self._curves)
        if len(t) and self._plots:  # the other plots are x-linked to the first
            left = float(t[0]) if self.window_s is None else max(float(t[0]), float(t[-1]) - self.window_s)
            right = max(float(t[-1]), left + 1.0)
            self._plots[0].setXRange(left, right, padding=0)
            first = int(np.searchsorted(t, left))
            # Buckets no wider than a pixel column of the widest plot, so neighbouring columns always touch.
            columns = math.ceil(max(p.getViewBox().width() for p in self._plots) * self.devicePixelRatioF())
            if columns > 0 and len(t) - first > DECIMATE_ABOVE_POINTS_PER_PX * columns:
                t, values, connect = peak_decimate(t[first:], values[:, first:], (right - left) / columns)
            else:  # keep one sample before the window so the line reaches the left edge
                t, values = t[max(first - 1, 0):], values[:, max(first - 1, 0):]
        for i, curve in enumerate(self._curves):
            curve.setData(t, values[i], connect=connect[i])
        self.redraw_count += 1

    def _row(self, sample: dict[str, Any], gpus: list[dict[str, Any]]) -> list[float | None]:
        row: list[float | None] = []
        for _title, _unit, field, scale in GPU_PLOTS:
            row += [_scaled(g.get(field), scale) for g in gpus]
        row += [_scaled(g.get("mem_clock_mhz"), 1.0) for g in gpus]
        row.append(sample.get("cpu_percent"))
        row.append(_scaled(sample.get("ram_used_bytes"), GIB))
        return row

    def _build(self, n_gpus: int) -> None:
        self._n_gpus = n_gpus
        self.graphics.clear()
        self._plots, self._curves = [], []
        self.no_gpu_label.setVisible(n_gpus == 0)
        if n_gpus:
            for k, (title, unit, _field, _scale) in enumerate(GPU_PLOTS):
                plot = self._add_plot(title, unit, k)
                for g in range(n_gpus):
                    self._add_curve(plot, f"GPU {g}", GPU_COLORS[g % len(GPU_COLORS)])
            clock_plot = self._plots[-1]
            for g in range(n_gpus):
                self._add_curve(clock_plot, f"GPU {g} mem clock", GPU_COLORS[g % len(GPU_COLORS)], dashed=True)
        base = len(self._plots)  # host plots follow the GPU plots (or fill the first row without GPUs)
        cpu = self._add_plot(*HOST_PLOTS[0], base)
        self._add_curve(cpu, "CPU", "#4c9be8")
        ram = self._add_plot(*HOST_PLOTS[1], base + 1)
        self._add_curve(ram, "RAM used", "#e8a33c")
        for plot in self._plots[-2:]:
            plot.showAxis("bottom")
            plot.setLabel("bottom", "time since first sample", units="s")
        for plot in self._plots:  # hidden axes need not follow the scrolling range every frame
            for side in ("top", "right") if plot in self._plots[-2:] else ("top", "right", "bottom"):
                plot.getAxis(side).unlinkFromView()
        self._buffer = RingBuffer(self.capacity, len(self._curves))
        self._t0 = None

    def _add_plot(self, title: str, unit: str, k: int) -> pg.PlotItem:
        axes = {side: ClippedAxis(side) for side in ("left", "bottom")}
        plot = self.graphics.addPlot(row=k // 2, col=k % 2, title=f"{title} ({unit})", axisItems=axes)
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.hideAxis("bottom")  # the time axis moves every frame: draw it on the last row only
        # Blit the value axis (and its grid) from a pixmap instead of replaying it; the time axis changes
        # every frame, so a cache would only add a pixmap fill and blit.
        plot.getAxis("left").setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.setMouseEnabled(x=False, y=False)
        plot.enableAutoRange(axis="y")
        plot.getViewBox().sigResized.connect(self._mark_dirty)  # decimation depends on the pixel width
        if self._plots:
            plot.setXLink(self._plots[0])
        self._plots.append(plot)
        return plot

    def _add_curve(self, plot: pg.PlotItem, name: str, color: str, dashed: bool = False) -> None:
        # Width 1 keeps the pen cosmetic: wider pens make Qt's raster engine stroke long paths slowly.
        pen = pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        if plot.legend is None and self._n_gpus > 1:
            plot.addLegend(offset=(-5, 5))
        curve = pg.PlotCurveItem(name=name, pen=pen)  # data arrive ready to draw: no PlotDataItem layer
        plot.addItem(curve)
        self._curves.append(curve)

    def _mark_dirty(self) -> None:
        self._dirty = True


def peak_decimate(t: np.ndarray, values: np.ndarray, bucket_s: float
                  ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray | str]]:
    """Reduce every series (rows of `values`, aligned with increasing `t`) to a min and a max per time bucket.

    Buckets are `bucket_s` wide (at most a pixel column) and aligned to multiples of it, so they stay put
    while data scrolls. Returns x (each non-empty bucket's centre, kept within t's span, twice), y
    (n_series × len(x): the bucket's min and max) and a connect mode per series: "all" without gaps, else
    a mask (True where a point joins the next). Every extreme survives; an all-NaN bucket stays NaN and a
    bucket holding any NaN is not joined to its neighbours, so no gap is bridged.
    """
    edges = np.arange(np.floor(t[0] / bucket_s) + 1, np.floor(t[-1] / bucket_s) + 1) * bucket_s
    starts = np.searchsorted(t, edges)
    starts = np.unique(np.concatenate(([0], starts[starts < len(t)])))
    lo = np.fmin.reduceat(values, starts, axis=1)  # NaN only where the whole bucket is NaN
    hi = np.fmax.reduceat(values, starts, axis=1)
    has_gap = np.isnan(np.add.reduceat(values, starts, axis=1))  # a sum is NaN when any term is
    # Odd buckets go max → min: neighbours join top-to-top or bottom-to-bottom, so noisy data strokes
    # one full-height line per column instead of two (the drawn envelope is the same).
    bucket = np.floor(t[starts] / bucket_s)
    odd = bucket % 2 == 1
    y = np.empty((len(values), 2 * len(starts)))
    y[:, 0::2] = np.where(odd, hi, lo)
    y[:, 1::2] = np.where(odd, lo, hi)
    connect: list[np.ndarray | str] = []
    for row, gaps in zip(y, has_gap, strict=True):
        if not gaps.any():
            connect.append("all")  # pyqtgraph's fast path
            continue
        mask = np.zeros(len(row), dtype=bool)
        mask[0::2] = ~np.isnan(row[0::2])  # a bucket's first point → its second, unless both are NaN
        mask[1:-1:2] = ~(gaps[:-1] | gaps[1:])  # a bucket's second point → the next bucket's first
        connect.append(mask)
    return np.repeat(np.clip((bucket + 0.5) * bucket_s, t[0], t[-1]), 2), y, connect


def _scaled(value: Any, scale: float) -> float | None:
    return None if value is None else float(value) / scale
