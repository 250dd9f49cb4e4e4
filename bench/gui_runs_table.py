"""Runs view on a 10,000-run store: time to a shown, painted table (count + first page), to sort by a
metric, and to filter. Target ≤ 500 ms to show. Usage: .venv/bin/python bench/gui_runs_table.py"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TARGET_MS = 500.0
RUNS = 10_000


def main() -> None:
    from gui_bench_data import bench_store
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from app.store import Store
    from app.ui.runs_model import COLUMNS
    from app.ui.runs_view import RunsView

    app = QApplication.instance() or QApplication([])
    url = bench_store(RUNS)
    store = Store(url)
    show_ms, sort_ms, filter_ms = [], [], []
    tps_column = next(i for i, c in enumerate(COLUMNS) if c.sort_key == "output_tokens_per_s")
    for _ in range(5):
        start = time.perf_counter()
        view = RunsView(store)
        view.resize(1400, 800)
        view.show()
        view.table.viewport().repaint()
        app.processEvents()
        show_ms.append((time.perf_counter() - start) * 1e3)
        start = time.perf_counter()
        view.table.sortByColumn(tps_column, Qt.SortOrder.DescendingOrder)
        view.table.viewport().repaint()
        sort_ms.append((time.perf_counter() - start) * 1e3)
        start = time.perf_counter()
        view.status_filter.setCurrentText("failed")
        view.table.viewport().repaint()
        filter_ms.append((time.perf_counter() - start) * 1e3)
        view.close()
        view.deleteLater()
        app.processEvents()
    total, loaded = view.model.total(), view.model.rowCount()
    print(f"store: {RUNS:,} runs; after the failed filter {total:,} match, {loaded:,} loaded (paged)")
    print(f"show table     median {statistics.median(show_ms):7.1f} ms   target {TARGET_MS:.0f} ms   "
          f"ratio {statistics.median(show_ms) / TARGET_MS:.2f}")
    print(f"sort by tok/s  median {statistics.median(sort_ms):7.1f} ms   (ORDER BY in the store)")
    print(f"filter status  median {statistics.median(filter_ms):7.1f} ms")
    store.close()


if __name__ == "__main__":
    main()
