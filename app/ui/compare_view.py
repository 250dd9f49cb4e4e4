"""Compare view: grouped bars, throughput landscape (per group), Pareto scatter, telemetry overlays and
the series view (a metric against one option, a line per group, small multiples) for the chosen runs,
with a details panel that opens the run a bar or point was clicked on."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app import compare
from app.store import RunDetail, RunSummary, Store
from app.ui.compare_charts import (
    BarCharts,
    LandscapeChart,
    ParetoChart,
    SeriesChart,
    TelemetryOverlay,
    display_value,
)
from engine.metric_names import info

DEFAULT_PARETO = ("energy_j_per_output_token", "output_tokens_per_s")
# Runs with a quality guard (compressed or speculative ones): speed vs quality, memory as marker area.
QUALITY_PARETO = ("output_tokens_per_s", "quality_agreement", "peak_rss_bytes")
NO_SIZE = "(none)"
ALL_RUNS = "(all runs)"
NO_PANELS = "(one panel)"
HEADER_IDS = 12
PICKERS_PER_ROW = 3


class CompareView(QWidget):
    """Charts over the runs given to `show_runs`; `export_requested` asks the window for a report."""

    export_requested = Signal()

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.runs: list[RunSummary] = []
        self._details: list[RunDetail] | None = None  # requests and telemetry: read when first shown
        self.header = QLabel("Select runs in the Runs view and press Compare (Ctrl+M).")
        self.header.setObjectName("viewHeader")
        self.hover_label = QLabel(" ")
        self.hover_label.setObjectName("hoverLabel")
        self.bars = BarCharts()
        self.pareto = ParetoChart()
        self.landscape = LandscapeChart()
        self.telemetry = TelemetryOverlay()
        self.series = SeriesChart()
        self.land_group, self.land_group_value = QComboBox(), QComboBox()
        self.series_metric, self.series_x, self.series_group = QComboBox(), QComboBox(), QComboBox()
        self.series_panel, self.series_y = QComboBox(), QComboBox()
        self.series_y.addItems(["shared", "free"])
        self.landscape_note, self.series_note = QLabel(), QLabel()
        for note in (self.landscape_note, self.series_note):
            note.setWordWrap(True)
            note.setObjectName("chartNote")
        self.x_param, self.y_param, self.land_metric = QComboBox(), QComboBox(), QComboBox()
        self.pareto_x, self.pareto_y, self.pareto_size = QComboBox(), QComboBox(), QComboBox()
        self.telemetry_key = QComboBox()
        for key, (label, _unit) in compare.TELEMETRY_FIELDS.items():
            self.telemetry_key.addItem(label, key)
        self.detail_panel = QTextBrowser()
        self.detail_panel.setObjectName("runDetails")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.bars, "Bars")
        self.tabs.addTab(self._with_controls(self.landscape, ("x", self.x_param), ("y", self.y_param),
                                             ("metric", self.land_metric), ("group", self.land_group),
                                             ("=", self.land_group_value), note=self.landscape_note), "Landscape")
        self.tabs.addTab(self._with_controls(self.pareto, ("x", self.pareto_x), ("y", self.pareto_y),
                                             ("size", self.pareto_size)), "Pareto")
        self.tabs.addTab(self._with_controls(self.telemetry, ("field", self.telemetry_key)), "Telemetry")
        self.tabs.addTab(self._with_controls(self.series, ("metric", self.series_metric), ("x", self.series_x),
                                             ("line per", self.series_group), ("panel per", self.series_panel),
                                             ("y scale", self.series_y), note=self.series_note), "Series")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.tabs)
        splitter.addWidget(self.detail_panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([1000, 380])
        self.export_button = QPushButton("Export report…")
        self.export_button.clicked.connect(self.export_requested)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.hover_label)
        for chart in (self.bars, self.pareto, self.series):
            chart.run_clicked.connect(self.open_run)
        for chart in (self.bars, self.pareto, self.landscape, self.series):
            chart.hovered.connect(self.hover_label.setText)
        self.land_group.currentIndexChanged.connect(self._fill_group_values)
        self.land_group.currentIndexChanged.connect(self._update_landscape)
        for box in (self.x_param, self.y_param, self.land_metric, self.land_group_value):
            box.currentIndexChanged.connect(self._update_landscape)
        for box in (self.series_metric, self.series_x, self.series_group, self.series_panel, self.series_y):
            box.currentIndexChanged.connect(self._update_series)
        for box in (self.pareto_x, self.pareto_y, self.pareto_size):
            box.currentIndexChanged.connect(self._update_pareto)
        self.telemetry_key.currentIndexChanged.connect(self._update_telemetry)
        self._stale: set[int] = set()
        self.tabs.currentChanged.connect(self._refresh_current_tab)

    def _refresh_current_tab(self) -> None:
        index = self.tabs.currentIndex()
        if index in self._stale:
            self._stale.discard(index)
            (self._update_bars, self._update_landscape, self._update_pareto, self._update_telemetry,
             self._update_series)[index]()

    def show_runs(self, run_ids: Sequence[int]) -> None:
        """Load the runs from the store (summaries and environment fields; telemetry when its tab is shown)
        and rebuild every chart."""
        ids = list(run_ids)
        by_id = {r.id: r for r in self.store.list_runs(ids=ids, sort="id")}
        listed = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
        self.runs = compare.with_environment_options(listed, self.store.environment_fields(list(by_id)))
        self._details = None
        shown = ", ".join(f"#{r.id}" for r in self.runs[:HEADER_IDS])  # the whole list would widen the window
        more = f" and {len(self.runs) - HEADER_IDS} more" if len(self.runs) > HEADER_IDS else ""
        self.header.setText(f"Comparing {len(self.runs)} run(s): {shown}{more}")
        self._fill_pickers()
        self._stale = set(range(self.tabs.count()))  # each chart is built when its tab is shown
        self._refresh_current_tab()
        if self.runs:
            self.open_run(self.runs[0].id)

    def open_run(self, run_id: int) -> None:
        """Show one run's details (config, every figure with status and method, failure cause)."""
        self.detail_panel.setHtml(run_details_html(self.store.get_run(run_id)))

    def _with_controls(self, chart: QWidget, *pickers: tuple[str, QComboBox], note: QLabel | None = None) -> QWidget:
        """The chart under its pickers (three to a row, so the window's minimum width stays put), a note
        line under it."""
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        for start in range(0, len(pickers), PICKERS_PER_ROW):
            row = QHBoxLayout()
            for label, combo in pickers[start:start + PICKERS_PER_ROW]:
                row.addWidget(QLabel(label))
                combo.setMinimumContentsLength(14)
                row.addWidget(combo)
            row.addStretch(1)
            layout.addLayout(row)
        layout.addWidget(chart, 1)
        if note is not None:
            layout.addWidget(note)
        return box

    def _fill_pickers(self) -> None:
        params = compare.swept_parameters(self.runs)
        metrics = compare.numeric_metrics(self.runs)
        axes = [p for p in params if p not in compare.RUN_KEYS] or params  # options first: models are groups
        _refill(self.x_param, params, axes[0] if axes else None)
        _refill(self.y_param, params, axes[1] if len(axes) > 1 else (axes[0] if axes else None))
        _refill(self.land_metric, metrics, "output_tokens_per_s")
        if QUALITY_PARETO[1] in metrics:
            _refill(self.pareto_x, metrics, QUALITY_PARETO[0])
            _refill(self.pareto_y, metrics, QUALITY_PARETO[1])
            _refill(self.pareto_size, [NO_SIZE, *metrics], QUALITY_PARETO[2])
        else:
            _refill(self.pareto_x, metrics, DEFAULT_PARETO[0] if DEFAULT_PARETO[0] in metrics else "ttft_ms_p50")
            _refill(self.pareto_y, metrics, DEFAULT_PARETO[1])
            _refill(self.pareto_size, [NO_SIZE, *metrics], NO_SIZE)
        keys = compare.differing_options(self.runs)
        # a landscape is drawn per model (else per engine) where they differ, never over a silent mix
        _refill(self.land_group, [ALL_RUNS, *keys], next((k for k in ("model", "engine") if k in keys), None))
        self._fill_group_values()
        options = [k for k in keys if k not in compare.RUN_KEYS]
        x = "batch_size" if "batch_size" in options else (options[0] if options else None)
        group = next((k for k in ("engine", "model", *keys) if k in keys and k != x), None)
        _refill(self.series_metric, metrics, "output_tokens_per_s")
        _refill(self.series_x, options, x)
        _refill(self.series_group, keys, group)
        _refill(self.series_panel, [NO_PANELS, *keys], "model" if "model" in keys and group != "model" else None)

    def _fill_group_values(self) -> None:
        key = self.land_group.currentText()
        values = [] if key in ("", ALL_RUNS) else [str(v) for v in compare.groups(self.runs, key)]
        _refill(self.land_group_value, values, values[0] if values else None)
        self.land_group_value.setEnabled(bool(values))

    def _update_bars(self) -> None:
        self.bars.set_runs(self.runs)

    def _update_landscape(self) -> None:
        x, y, m = self.x_param.currentText(), self.y_param.currentText(), self.land_metric.currentText()
        if not (x and y and m):
            return
        key, runs, group = self.land_group.currentText(), self.runs, ""
        if key not in ("", ALL_RUNS):
            index = max(self.land_group_value.currentIndex(), 0)
            value, runs = list(compare.groups(self.runs, key).items())[index]
            group = f"{key} = {value}"
        self.landscape.set_runs(runs, x, y, m, group)
        land = self.landscape.landscape
        self.landscape_note.setText(f"* {land.note} (hover a cell; pick a group to split them)."
                                    if land is not None and land.note else "")

    def _update_pareto(self) -> None:
        x, y, size = self.pareto_x.currentText(), self.pareto_y.currentText(), self.pareto_size.currentText()
        if x and y:
            self.pareto.set_runs(self.runs, x, y, None if size in ("", NO_SIZE) else size)

    def _update_series(self) -> None:
        m, x, group = self.series_metric.currentText(), self.series_x.currentText(), self.series_group.currentText()
        if not (m and x and group):
            self.series_note.setText("A series needs an option that differs between the runs.")
            return
        panel = self.series_panel.currentText()
        self.series.set_runs(self.runs, m, x, group, None if panel in ("", NO_PANELS) else panel,
                             shared_y=self.series_y.currentText() == "shared")
        data = self.series.data
        assert data is not None
        self.series_note.setText(" ".join([f"x: {x}, {data.scale} scale.", *data.notes]))

    def _update_telemetry(self) -> None:
        key = self.telemetry_key.currentData()
        if key:
            if self._details is None:
                self._details = self.store.get_runs([r.id for r in self.runs])
            self.telemetry.set_runs(self._details, key)


def _refill(box: QComboBox, items: list[str], preferred: str | None) -> None:
    box.blockSignals(True)
    box.clear()
    box.addItems(items)
    if preferred in items:
        box.setCurrentText(preferred)
    box.blockSignals(False)


def run_details_html(detail: RunDetail) -> str:
    """HTML of one run for the details panel."""
    r = detail.summary
    esc = html.escape
    parts = [f"<h3>Run #{r.id} — {esc(r.engine)} · {esc(r.model)}</h3>",
             f"<p>Status: <b>{esc(r.status)}</b>"]
    if r.failure_cause:
        parts.append(f" — cause <b>{esc(r.failure_cause)}</b>: {esc(r.failure_message or '')}")
    parts.append(f"<br>Source: {esc(r.source)}; tags: {esc(', '.join(r.tags) or '—')}</p>")
    if r.notes:
        parts.append(f"<p>Notes: {esc(r.notes)}</p>")
    parts.append("<h4>Figures</h4><table cellspacing=4>")
    for name in sorted(r.metrics):
        m = r.metrics[name]
        ci = f" [{m.ci_label} {m.ci95_low:.4g}–{m.ci95_high:.4g}]" if m.ci_label else ""
        flag = " <b>⚠ too few samples</b>" if m.caveat else ""
        note = f"<br>{esc(m.statistics_note)}" if m.statistics_note and m.status != "unavailable" else ""
        parts.append(f"<tr><td>{esc(info(name).label)}</td><td><b>{esc(display_value(m.value, m.unit))}</b>"
                     f"{esc(ci)}{flag}</td></tr><tr><td colspan=2><small><i>{esc(m.status)}: {esc(m.method)}"
                     f"{note}</i></small></td></tr>")
    parts.append("</table>")
    if detail.notes_list:
        parts.append("<h4>Notes</h4><ul>" + "".join(f"<li>{esc(n)}</li>" for n in detail.notes_list) + "</ul>")
    parts.append(f"<h4>Config</h4><pre>{esc(json.dumps(r.config, indent=1, sort_keys=True))}</pre>")
    parts.append(f"<p>{len(detail.requests)} request records, {len(detail.telemetry)} telemetry samples.</p>")
    return "".join(parts)
