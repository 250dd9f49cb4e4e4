"""Live charts with one hour of 10 Hz telemetry (36,000 points × 8 series): repaint time per frame.

Each frame appends one sample, pushes the buffers to the curves (the 20 Hz timer's work) and paints
the chart widget synchronously. Prints the median and p95 against the 16 ms target, and the median
thread CPU time (less sensitive to other load on a shared machine than the wall clock).
Usage: QT_QPA_PLATFORM=offscreen .venv/bin/python bench/gui_live.py [frames]
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TARGET_MS = 16.0
POINTS = 36_000


def main() -> None:
    frames = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    from PySide6.QtWidgets import QApplication

    from app.ui.live_charts import LiveCharts

    app = QApplication.instance() or QApplication([])
    charts = LiveCharts(capacity=POINTS)
    charts.resize(1400, 800)
    charts.show()
    rng = np.random.default_rng(0)
    t = np.arange(POINTS) / 10.0
    charts._build(n_gpus=1)  # 1 GPU: util, memory, power, temperature, SM + memory clock, CPU, RAM = 8 series
    values = rng.random((charts._buffer.n_series, POINTS)) * 100
    charts.load_arrays(t, values, n_gpus=1)
    charts.set_window(None)  # the whole hour on screen: the worst case
    charts.redraw()
    charts.graphics.viewport().repaint()
    app.processEvents()
    times_ms, cpu_ms = [], []
    for k in range(frames):
        sample_t = POINTS / 10.0 + k * 0.1
        start, start_cpu = time.perf_counter(), time.thread_time()
        charts._buffer.append(sample_t, rng.random(charts._buffer.n_series) * 100)
        charts._dirty = True
        charts.redraw()
        charts.graphics.viewport().repaint()
        times_ms.append((time.perf_counter() - start) * 1e3)
        cpu_ms.append((time.thread_time() - start_cpu) * 1e3)
    med = statistics.median(times_ms)
    p95 = sorted(times_ms)[int(0.95 * (len(times_ms) - 1))]
    print(f"series: {charts._buffer.n_series} × {charts._buffer.size:,} points, {frames} frames, "
          f"widget {charts.width()}×{charts.height()}")
    print(f"repaint median {med:6.1f} ms   p95 {p95:6.1f} ms   target {TARGET_MS:.0f} ms   ratio {med / TARGET_MS:.2f}")
    cpu = statistics.median(cpu_ms)
    print(f"cpu     median {cpu:6.1f} ms                  target {TARGET_MS:.0f} ms   ratio {cpu / TARGET_MS:.2f}")


if __name__ == "__main__":
    main()
