"""Series view of 1,000 runs (throughput against batch size, a line per input length, a panel per output
length): the series rebuilt from the loaded runs and painted (a picker change), and the whole path from
run ids (store read, pickers, series painted). Target ≤ 300 ms. Usage: .venv/bin/python bench/gui_series.py"""

from __future__ import annotations

import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TARGET_MS = 300.0
RUNS = 1000
SERIES_TAB = 4


def main() -> None:
    from gui_bench_data import bench_store
    from PySide6.QtWidgets import QApplication

    from app.store import Store
    from app.ui.compare_view import CompareView

    app = QApplication.instance() or QApplication([])
    store = Store(bench_store(RUNS))
    ids = [r.id for r in store.list_runs(limit=None)]
    view = CompareView(store)
    view.resize(1400, 850)
    view.show()
    view.tabs.setCurrentIndex(SERIES_TAB)
    app.processEvents()
    gc.freeze()  # as app.ui.main does once the window is up
    view.show_runs(ids)
    view.series_group.setCurrentText("input_tokens")
    view.series_panel.setCurrentText("output_tokens")
    paint_ms, total_ms = [], []
    for _ in range(5):  # the series rebuilt from the loaded runs and painted (what a picker change costs)
        start = time.perf_counter()
        view.series_y.setCurrentText("free" if view.series_y.currentText() == "shared" else "shared")
        view.tabs.currentWidget().repaint()
        paint_ms.append((time.perf_counter() - start) * 1e3)
    data = view.series.data
    assert data is not None
    lines = sum(len(p.lines) for p in data.panels)
    points = sum(len(line.points) for p in data.panels for line in p.lines)
    for _ in range(5):  # from run ids: store read, pickers, series (default grouping) painted
        start = time.perf_counter()
        view.show_runs(ids)
        view.tabs.currentWidget().repaint()
        total_ms.append((time.perf_counter() - start) * 1e3)
    load_ms = []
    for _ in range(3):
        start = time.perf_counter()
        store.list_runs(ids=ids, sort="id")
        store.environment_fields(ids)
        load_ms.append((time.perf_counter() - start) * 1e3)
    print(f"runs: {len(ids)}; {len(data.panels)} panels, {lines} lines, {points} configuration points "
          f"({data.scale} x axis)")
    for name, ms in (("series built and painted", paint_ms), ("from run ids (store read included)", total_ms)):
        median = statistics.median(ms)
        print(f"{name:36} median {median:7.1f} ms   target {TARGET_MS:.0f} ms   ratio {median / TARGET_MS:.2f}")
    print(f"  of which the store read            median {statistics.median(load_ms):7.1f} ms "
          "(list_runs by id + environment_fields)")
    store.close()


if __name__ == "__main__":
    main()
