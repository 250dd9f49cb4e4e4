"""Rolling telemetry charts: samples go into ring buffers, one timer redraws at most 20 times a second.

Data rate and frame rate are kept apart: `add_sample` only writes numbers; `redraw` (on a QTimer,
only when something changed) hands zero-copy views to pyqtgraph with peak downsampling and clipping
to the visible window. One line per GPU; without NVML the GPU plots hide and a label says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGraphicsItem, QLabel, QVBoxLayout, QWidget

from app.ui.ring_buffer import RingBuffer

GIB = 1024.0 ** 3
REDRAW_INTERVAL_MS = 50  # ≤ 20 Hz whatever the sample rate
# Peak downsampling keeps a min and a max per bin, so ~1.5 bins per pixel already shows every spike;
# pyqtgraph's default (5 per pixel) draws 3× the segments for no visible gain.
DOWNSAMPLE_POINTS_PER_PX = 1.5
# (title, unit, per-GPU field, scale) for the GPU plots, then the host plots.
GPU_PLOTS = (("GPU utilization", "%", "util_percent", 1.0), ("GPU memory used", "GiB", "mem_used_bytes", GIB),
             ("GPU power", "W", "power_w", 1.0), ("GPU temperature", "°C", "temp_c", 1.0),
             ("SM / memory clock", "MHz", "sm_clock_mhz", 1.0))
HOST_PLOTS = (("CPU", "%"), ("RAM", "GiB"))
GPU_COLORS = ("#4c9be8", "#e8a33c", "#5cc47a", "#d9534f", "#9b6fd6", "#39b3b3", "#c7c74a", "#e07bb5")
NO_GPU_TEXT = ("No NVIDIA GPU detected (NVML not available): GPU utilization, memory, power, temperature "
               "and clocks cannot be shown. Showing CPU and RAM.")


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
        self._curves: list[pg.PlotDataItem] = []
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
        """Push the buffered data to the curves (no-op when nothing changed)."""
        if not self._dirty or self._buffer is None:
            return
        self._dirty = False
        t = self._buffer.times()
        for i, curve in enumerate(self._curves):
            curve.setData(t, self._buffer.series(i), connect="finite")
        if len(t) and self._plots:  # the other plots are x-linked to the first
            right = float(t[-1])
            left = float(t[0]) if self.window_s is None else max(float(t[0]), right - self.window_s)
            self._plots[0].setXRange(left, max(right, left + 1.0), padding=0)
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
        self._buffer = RingBuffer(self.capacity, len(self._curves))
        self._t0 = None

    def _add_plot(self, title: str, unit: str, k: int) -> pg.PlotItem:
        plot = self.graphics.addPlot(row=k // 2, col=k % 2, title=f"{title} ({unit})")
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.hideAxis("bottom")  # the time axis moves every frame: draw it on the last row only
        for side in ("left", "bottom"):  # blit unchanged axes from a pixmap instead of replaying their text
            plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        plot.setMouseEnabled(x=False, y=False)
        plot.enableAutoRange(axis="y")
        if self._plots:
            plot.setXLink(self._plots[0])
        self._plots.append(plot)
        return plot

    def _add_curve(self, plot: pg.PlotItem, name: str, color: str, dashed: bool = False) -> None:
        from PySide6.QtCore import Qt

        # Width 1 keeps the pen cosmetic: wider pens make Qt's raster engine stroke long paths slowly.
        pen = pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        if plot.legend is None and self._n_gpus > 1:
            plot.addLegend(offset=(-5, 5))
        curve = plot.plot(name=name, pen=pen)
        curve.opts["autoDownsampleFactor"] = DOWNSAMPLE_POINTS_PER_PX
        self._curves.append(curve)


def _scaled(value: Any, scale: float) -> float | None:
    return None if value is None else float(value) / scale
