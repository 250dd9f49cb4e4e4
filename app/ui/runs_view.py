"""Runs view: every run in the store in a sortable, filterable table; multi-select to compare or delete;
the table's context menu re-tunes the current run's sweep here ("Re-tune here…")."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.store import Store, env_fields
from app.ui.compare_view import run_details_html
from app.ui.runs_model import RunsTableModel
from engine import registry

STATUSES = ("", "ok", "failed", "cancelled")
ANY_ENVIRONMENT = "any environment"


class RunsView(QWidget):
    """The table, its filters, and actions on the selection."""

    compare_requested = Signal(list)
    retune_requested = Signal(int)  # the sweep id

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.model = RunsTableModel(store, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.horizontalHeader().setSortIndicator(0, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                   | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setWordWrap(False)
        self.text_filter = QLineEdit()
        self.text_filter.setPlaceholderText("Filter: model, engine, notes, config, error text…")
        self.status_filter = QComboBox()
        self.status_filter.addItems([s or "any status" for s in STATUSES])
        self.engine_filter = QComboBox()
        self.engine_filter.addItems(["any engine", *registry.names()])
        self.env_field = QComboBox()  # an environment field (GPU, host, driver, library) and text it contains
        self.env_field.addItems([ANY_ENVIRONMENT, *env_fields.FIELDS])
        self.env_value = QLineEdit()
        self.env_value.setPlaceholderText("…contains (e.g. H200)")
        self.count_label = QLabel()
        self.compare_button = QPushButton("Compare selected")
        self.delete_button = QPushButton("Delete selected…")
        self.refresh_button = QPushButton("Refresh")
        self.details = QTextBrowser()
        self.retune_action = QAction("Re-tune here…", self)
        self.retune_action.setToolTip("Run this run's sweep's best configuration here, then search here for a "
                                      "better one: the re-tuning gain")
        self.retune_action.setEnabled(False)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.addAction(self.retune_action)
        self.confirm_box: QMessageBox | None = None
        self._build_layout()
        self.text_filter.returnPressed.connect(self.apply_filters)
        self.text_filter.editingFinished.connect(self.apply_filters)
        self.status_filter.currentIndexChanged.connect(self.apply_filters)
        self.engine_filter.currentIndexChanged.connect(self.apply_filters)
        self.env_field.currentIndexChanged.connect(self.apply_filters)
        self.env_value.editingFinished.connect(self.apply_filters)
        self.compare_button.clicked.connect(self.request_compare)
        self.delete_button.clicked.connect(self.delete_selected)
        self.refresh_button.clicked.connect(self.refresh)
        self.retune_action.triggered.connect(self.request_retune)
        self.table.selectionModel().currentRowChanged.connect(self._show_current)
        self.model.modelReset.connect(self._update_count)
        self.model.modelReset.connect(self._fit_columns)
        self.model.rowsInserted.connect(self._update_count)
        self._update_count()
        self._fit_columns()

    def _build_layout(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(self.text_filter, 3)
        bar.addWidget(self.status_filter)
        bar.addWidget(self.engine_filter)
        bar.addWidget(self.env_field)
        bar.addWidget(self.env_value, 1)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.compare_button)
        bar.addWidget(self.delete_button)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 4)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([1100, 320])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.count_label)

    def apply_filters(self) -> None:
        status = self.status_filter.currentText()
        engine = self.engine_filter.currentText()
        field, value = self.env_field.currentText(), self.env_value.text().strip()
        self.model.set_filters(text=self.text_filter.text().strip() or None,
                               status=None if status.startswith("any") else status,
                               engine=None if engine.startswith("any") else engine,
                               environment=(env_fields.Condition(field, "~=", value),)
                               if field != ANY_ENVIRONMENT and value else None)

    def refresh(self) -> None:
        self.model.refresh()

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.model.run_at(r).id for r in rows]

    def request_compare(self) -> None:
        ids = self.selected_ids()
        if ids:
            self.compare_requested.emit(ids)

    def current_sweep(self) -> int | None:
        """The sweep of the current run (None: no current run, or a run outside any sweep)."""
        index = self.table.currentIndex()
        return self.model.run_at(index.row()).sweep_id if index.isValid() else None

    def request_retune(self) -> None:
        sweep_id = self.current_sweep()
        if sweep_id is not None:
            self.retune_requested.emit(sweep_id)

    def delete_selected(self) -> None:
        """Delete the selected runs after the user confirms (the store deletes them atomically)."""
        ids = self.selected_ids()
        if not ids:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Delete runs",
                          f"Delete {len(ids)} run(s) ({', '.join(f'#{i}' for i in ids[:10])}"
                          f"{'…' if len(ids) > 10 else ''}) and their telemetry? This cannot be undone.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.confirm_box = box
        answer = box.exec()
        self.confirm_box = None
        if answer == QMessageBox.StandardButton.Yes:
            self.store.delete_runs(ids)
            self.model.refresh()

    def _show_current(self) -> None:
        index = self.table.currentIndex()
        sweep_id = self.current_sweep()
        self.retune_action.setEnabled(sweep_id is not None)
        self.retune_action.setText("Re-tune here…" if sweep_id is None else f"Re-tune sweep {sweep_id} here…")
        if index.isValid():
            self.details.setHtml(run_details_html(self.store.get_run(self.model.run_at(index.row()).id)))

    def _fit_columns(self) -> None:
        """Size columns to the first page (later pages keep the widths: no rescan of every row)."""
        self.table.resizeColumnsToContents()
        for column in range(self.model.columnCount()):
            self.table.setColumnWidth(column, min(self.table.columnWidth(column), 260))

    def _update_count(self) -> None:
        self.count_label.setText(f"{self.model.total():,} run(s) match; {self.model.rowCount():,} loaded")
