"""`RunsTableModel`: a Qt table model over the store, fetched page by page (never a copy of everything).

`rowCount` grows through `canFetchMore`/`fetchMore` as the view scrolls; sorting and filtering are done
by the store's query (ORDER BY / WHERE), so a 10,000-run store opens as fast as a 10-run one. Tags
and notes are editable and written straight back to the store.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from app.store import RunSummary, Store, StoreError
from engine.metric_names import HEADLINE_METRICS, info

log = logging.getLogger("inferlab.ui.runs_model")

PAGE_ROWS = 200
AnyIndex = QModelIndex | QPersistentModelIndex
STATUS_COLORS = {"ok": "#3fa56b", "failed": "#d9534f", "cancelled": "#c7922e"}


@dataclasses.dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[RunSummary], Any]
    sort_key: str | None  # the store's sort key, None if the store cannot sort by it
    tooltip: str = ""


def _metric_column(name: str) -> Column:
    mi = info(name)
    return Column(f"{mi.label} ({mi.unit})", lambda r: _metric_text(r, name), name, mi.meaning)


def _metric_text(run: RunSummary, name: str) -> str:
    m = run.metrics.get(name)
    if m is None or m.value is None:
        return "n/a"
    value = m.value / 1024**2 if m.unit == "B" else m.value
    text = f"{value:,.1f} MiB" if m.unit == "B" else (f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}")
    return text + (" (est.)" if m.status == "estimated" else "") + (" ⚠" if m.caveat else "")


COLUMNS = (
    Column("ID", lambda r: r.id, "id"),
    Column("Created", lambda r: datetime.datetime.fromtimestamp(r.created_at).strftime("%Y-%m-%d %H:%M"),
           "created_at"),
    Column("Status", lambda r: r.status, "status"),
    Column("Cause", lambda r: r.failure_cause or "", "failure_cause", "Why a failed/cancelled run stopped"),
    Column("Engine", lambda r: r.engine, "engine"),
    Column("Model", lambda r: r.model, "model"),
    Column("Batch", lambda r: r.config.get("batch_size", ""), "config.batch_size"),
    Column("In/out tokens", lambda r: f"{r.config.get('input_tokens', '?')}/{r.config.get('output_tokens', '?')}",
           "config.input_tokens", "Prompt / generated tokens per request; sorts by prompt tokens"),
    *(_metric_column(name) for name in HEADLINE_METRICS[:5]),
    Column("Sweep", lambda r: r.sweep_id or "", "sweep_id"),
    Column("Source", lambda r: r.source, "source"),
    Column("Tags", lambda r: ", ".join(r.tags), None),
    Column("Notes", lambda r: r.notes, None),
)
TAGS_COLUMN = 15
NOTES_COLUMN = 16
STATUS_COLUMN = 2


class RunsTableModel(QAbstractTableModel):
    """Runs of the store matching `filters`, newest first unless sorted otherwise."""

    def __init__(self, store: Store, parent: Any = None) -> None:
        super().__init__(parent)
        self.store = store
        self.filters: dict[str, Any] = {}
        self.sort_key: str | None = None
        self._rows: list[RunSummary] = []
        self._total = 0
        self.refresh()

    # -- queries -------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the count and the first page (after a run lands, a filter or a sort changes)."""
        self.beginResetModel()
        self._total = self.store.count_runs(**self.filters)
        self._rows = self.store.list_runs(**self.filters, limit=PAGE_ROWS, offset=0, sort=self.sort_key)
        self.endResetModel()

    def set_filters(self, **filters: Any) -> None:
        self.filters = {k: v for k, v in filters.items() if v not in (None, "")}
        self.refresh()

    def canFetchMore(self, parent: AnyIndex = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent: AnyIndex = QModelIndex()) -> None:  # noqa: B008
        page = self.store.list_runs(**self.filters, limit=PAGE_ROWS, offset=len(self._rows), sort=self.sort_key)
        if not page:
            self._total = len(self._rows)
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._rows.extend(page)
        self.endInsertRows()

    def total(self) -> int:
        """Runs matching the filters (loaded or not)."""
        return self._total

    def run_at(self, row: int) -> RunSummary:
        return self._rows[row]

    def row_of(self, run_id: int) -> int:
        return next((i for i, r in enumerate(self._rows) if r.id == run_id), -1)

    # -- Qt model interface --------------------------------------------------------------------------
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        column = COLUMNS[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.header
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tooltip or (None if column.sort_key else "The store cannot sort by this column.")
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run = self._rows[index.row()]
        column = COLUMNS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return column.value(run)
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == STATUS_COLUMN:
            return QColor(STATUS_COLORS.get(run.status, "#888888"))
        if role == Qt.ItemDataRole.ToolTipRole:
            if run.failure_message and index.column() in (STATUS_COLUMN, STATUS_COLUMN + 1):
                return f"{run.failure_cause}: {run.failure_message}"
            m = run.metrics.get(column.sort_key or "")
            if m is not None:
                return "\n".join(t for t in (f"{m.status}: {m.method}", m.statistics_note) if t)
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        if index.column() in (TAGS_COLUMN, NOTES_COLUMN):
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.EditRole or index.column() not in (TAGS_COLUMN, NOTES_COLUMN):
            return False
        run = self._rows[index.row()]
        try:
            if index.column() == TAGS_COLUMN:
                tags = tuple(dict.fromkeys(t.strip() for t in str(value).split(",") if t.strip()))
                self.store.set_tags(run.id, tags)
                run = dataclasses.replace(run, tags=tags)
            else:
                self.store.set_notes(run.id, str(value))
                run = dataclasses.replace(run, notes=str(value))
        except StoreError:  # deleted meanwhile, or a tag the store refuses: the cell keeps its old text
            log.exception("run %s: edit not stored", run.id)
            return False
        self._rows[index.row()] = run
        self.dataChanged.emit(index, index, [role])
        return True

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column].sort_key
        if key is None:
            return
        self.sort_key = ("-" if order == Qt.SortOrder.DescendingOrder else "") + key
        self.refresh()
