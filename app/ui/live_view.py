"""Live view: rolling telemetry, the current trial's progress and tokens/s, the sweep's ETA, the log, and
on a Ray cluster where each trial was placed (node, Ray's GPU ids, CUDA_VISIBLE_DEVICES) and how it ended."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.ui.live_charts import LiveCharts

WINDOWS_S = (("last 1 min", 60.0), ("last 5 min", 300.0), ("last 15 min", 900.0), ("whole hour", None))
LOG_LINES = 5000
PLACEMENT_COLUMNS = ("Trial", "Node", "Ray GPUs", "CUDA_VISIBLE_DEVICES", "Result")


class LiveView(QWidget):
    """Fed with sweep events (`handle_event`); shows what the worker is doing now."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.charts = LiveCharts()
        self.trial_label = QLabel("No sweep running.")
        self.trial_label.setObjectName("viewHeader")
        self.phase_label = QLabel("—")
        self.rate_label = QLabel("—")
        self.eta_label = QLabel("—")
        self.trial_progress = QProgressBar()
        self.sweep_progress = QProgressBar()
        self.window_box = QComboBox()
        for text, seconds in WINDOWS_S:
            self.window_box.addItem(text, seconds)
        self.window_box.setCurrentIndex(1)
        self.window_box.currentIndexChanged.connect(lambda: self.charts.set_window(self.window_box.currentData()))
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setObjectName("workerLog")
        self.placement = QTableWidget(0, len(PLACEMENT_COLUMNS))
        self.placement.setObjectName("placementTable")
        self.placement.setHorizontalHeaderLabels(PLACEMENT_COLUMNS)
        self.placement.horizontalHeader().setStretchLastSection(True)
        self.placement.verticalHeader().setVisible(False)
        self.placement.setMinimumHeight(150)
        self.placement.setVisible(False)  # shown once a cluster places a trial
        self._placement_rows: dict[int, int] = {}  # trial index -> row
        self._sweep_started: float | None = None
        self._trial_started: float | None = None
        self._finished_durations: list[float] = []
        self._total = 0
        self._build_layout()

    def _build_layout(self) -> None:
        grid = QGridLayout()
        grid.addWidget(QLabel("Trial"), 0, 0)
        grid.addWidget(self.trial_progress, 0, 1)
        grid.addWidget(self.phase_label, 0, 2)
        grid.addWidget(QLabel("Sweep"), 1, 0)
        grid.addWidget(self.sweep_progress, 1, 1)
        grid.addWidget(self.eta_label, 1, 2)
        grid.addWidget(QLabel("Tokens/s so far"), 2, 0)
        grid.addWidget(self.rate_label, 2, 1)
        grid.setColumnStretch(1, 1)
        top = QHBoxLayout()
        top.addWidget(self.trial_label, 1)
        top.addWidget(QLabel("Window"))
        top.addWidget(self.window_box)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.charts)
        splitter.addWidget(self.placement)
        splitter.addWidget(self.log)
        for index, stretch in enumerate((4, 2, 1)):  # charts, placement (a cluster sweep only), log
            splitter.setStretchFactor(index, stretch)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addWidget(splitter, 1)

    def handle_event(self, event: dict[str, Any]) -> None:
        """Update from one sweep event (see app.sweeps.run_profile)."""
        kind = event.get("type")
        handler = getattr(self, "_on_" + str(kind).replace("-", "_"), None)
        if handler is not None:
            handler(event)

    def append_log(self, text: str) -> None:
        self.log.appendPlainText(text)

    def _on_sweep_started(self, ev: dict[str, Any]) -> None:
        self._sweep_started = time.monotonic()
        self._finished_durations = []
        self._total = int(ev.get("total") or 0)
        self.sweep_progress.setRange(0, max(self._total, 1))
        self.sweep_progress.setValue(0)
        self.charts.clear()
        self.placement.setRowCount(0)
        self.placement.setVisible(False)
        self._placement_rows = {}
        self.append_log(f"Sweep {ev.get('sweep_id')} started: {self._total} trial(s)")

    def _on_trial_started(self, ev: dict[str, Any]) -> None:
        self._trial_started = time.monotonic()
        cfg = ev.get("config") or {}
        shown = ", ".join(f"{k}={cfg[k]}" for k in ("engine", "model", "batch_size", "input_tokens",
                                                     "output_tokens") if k in cfg)
        self.trial_label.setText(f"Trial {ev.get('index', 0) + 1} of {ev.get('total', '?')}: {shown}")
        self.trial_progress.setValue(0)
        self.phase_label.setText("starting")
        self.rate_label.setText("—")
        self._update_eta()

    def _on_trial_placed(self, ev: dict[str, Any]) -> None:
        index = int(ev.get("index", 0))
        row = self._placement_rows.setdefault(index, self.placement.rowCount())
        if row == self.placement.rowCount():
            self.placement.insertRow(row)
        gpus = ", ".join(ev.get("gpu_ids") or []) or "none"
        node = f"{ev.get('node_ip')} · {str(ev.get('node_id') or '')[:8]}"
        for column, text in enumerate((str(index + 1), node, gpus, str(ev.get("cuda_visible_devices") or "unset"),
                                       "running")):
            self.placement.setItem(row, column, QTableWidgetItem(text))
        self.placement.resizeColumnsToContents()
        self.placement.setVisible(True)
        self.placement.scrollToItem(self.placement.item(row, 0))

    def _on_progress(self, ev: dict[str, Any]) -> None:
        total = int(ev.get("total") or 0)
        self.trial_progress.setRange(0, max(total, 1))
        self.trial_progress.setValue(int(ev.get("done") or 0))
        self.phase_label.setText(str(ev.get("phase", "")))
        rate = ev.get("tokens_per_s")
        if rate is not None:
            self.rate_label.setText(f"{rate:,.1f} tok/s ({ev.get('phase', '')})")
        self._update_eta()

    def _on_telemetry(self, ev: dict[str, Any]) -> None:
        sample = ev.get("sample")
        if sample:
            self.charts.add_sample(sample)

    def _on_log(self, ev: dict[str, Any]) -> None:
        self.append_log(f"[{ev.get('level', 'info')}] {ev.get('message', '')}")

    def _on_loaded(self, ev: dict[str, Any]) -> None:
        reused = " (reused)" if ev.get("reused") else ""
        self.append_log(f"Model loaded in {ev.get('load_time_s', 0):.2f} s{reused}")

    def _on_trial_finished(self, ev: dict[str, Any]) -> None:
        if self._trial_started is not None:
            self._finished_durations.append(time.monotonic() - self._trial_started)
        self.sweep_progress.setValue(len(self._finished_durations))
        cause = f" ({ev.get('failure_cause')})" if ev.get("failure_cause") else ""
        tps = (ev.get("metrics") or {}).get("output_tokens_per_s")
        figure = f", {tps:,.1f} tok/s" if isinstance(tps, (int, float)) else ""
        where = f"run #{ev.get('run_id')}" if not ev.get("recovery_file") else (
            f"NOT STORED ({ev.get('store_error')}); saved to {ev['recovery_file']} (imported at next start "
            "or with `inferlab import --recover`)")
        self.append_log(f"Trial {ev.get('index', 0) + 1} finished: {ev.get('status')}{cause}{figure} → {where}")
        row = self._placement_rows.get(int(ev.get("index", -1)))
        if row is not None:
            self.placement.setItem(row, len(PLACEMENT_COLUMNS) - 1,
                                   QTableWidgetItem(f"{ev.get('status')}{cause}{figure} → {where}"))
        self._update_eta()

    def _on_trial_skipped(self, ev: dict[str, Any]) -> None:
        why = ev.get("reason") or f"already done (run #{ev.get('run_id')})"
        self.append_log(f"Trial {ev.get('index', 0) + 1} {why}")

    def _on_sweep_paused(self, ev: dict[str, Any]) -> None:
        self.trial_label.setText(f"Sweep {ev.get('sweep_id')} paused after the current trial (Resume to go on).")
        self.append_log("Sweep paused")

    def _on_sweep_finished(self, ev: dict[str, Any]) -> None:
        self.trial_label.setText(f"Sweep {ev.get('sweep_id')} {ev.get('status')}.")
        self.eta_label.setText("done")
        self.append_log(f"Sweep {ev.get('sweep_id')} finished: {ev.get('status')}")

    def _update_eta(self) -> None:
        done = len(self._finished_durations)
        if not self._total:
            return
        if not done:
            self.eta_label.setText(f"{done}/{self._total} — ETA after the first trial")
            return
        mean_s = sum(self._finished_durations) / done
        running_s = time.monotonic() - self._trial_started if self._trial_started and done < self._total else 0.0
        remaining_s = max(mean_s * (self._total - done) - running_s, 0.0)
        self.eta_label.setText(f"{done}/{self._total} — ETA {_duration(remaining_s)}")


def _duration(seconds: float) -> str:
    minutes, s = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{s:02d}s"
