"""Compare view of 50 runs (each with 600 telemetry samples): time from the run ids to every chart
built and painted. Target ≤ 300 ms. Usage: .venv/bin/python bench/gui_compare.py"""

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
RUNS = 50


def main() -> None:
    from gui_bench_data import bench_store
    from PySide6.QtWidgets import QApplication

    from app.store import Store
    from app.ui.compare_view import CompareView

    app = QApplication.instance() or QApplication([])
    store = Store(bench_store(RUNS, telemetry_samples=600))
    ids = [r.id for r in store.list_runs()]
    view = CompareView(store)
    view.resize(1400, 850)
    view.show()
    app.processEvents()
    gc.freeze()  # as app.ui.main does once the window is up
    load_ms, total_ms = [], []
    for _ in range(5):
        start = time.perf_counter()
        details = store.get_runs(ids)
        load_ms.append((time.perf_counter() - start) * 1e3)
        start = time.perf_counter()
        view.show_runs(ids)
        for index in range(view.tabs.count()):
            view.tabs.setCurrentIndex(index)
            view.tabs.currentWidget().repaint()
        total_ms.append((time.perf_counter() - start) * 1e3)
    print(f"runs: {len(details)} × {len(details[0].telemetry)} telemetry samples; all {view.tabs.count()} chart tabs painted")
    print(f"compare view   median {statistics.median(total_ms):7.1f} ms   target {TARGET_MS:.0f} ms   "
          f"ratio {statistics.median(total_ms) / TARGET_MS:.2f}")
    print(f"  of which store.get_runs  median {statistics.median(load_ms):7.1f} ms")
    store.close()


if __name__ == "__main__":
    main()
