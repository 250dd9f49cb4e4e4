"""Widgets of the first-run dialog: one box per step (status, details, fix) and the environments table."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.envs.checks import Check, runnable_engines
from app.envs.probe import EnvReport

STATUS_MARKS = {"pending": "○", "running": "…", "ok": "✔", "warning": "⚠", "error": "✖"}
STATUS_COLOURS = {"ok": "#2e7d32", "warning": "#b26a00", "error": "#c62828"}
ENV_COLUMNS = ("Source", "Interpreter", "Python", "torch", "transformers", "vLLM", "Can run")


class StepBox(QGroupBox):
    """One step: a status line, then details and (when something is wrong) how to fix it."""

    def __init__(self, title: str) -> None:
        super().__init__(title)
        self.status = "pending"
        layout = QVBoxLayout(self)
        self.summary = QLabel()
        self.details = QLabel()
        self.fix = QLabel()
        for label in (self.summary, self.details, self.fix):
            label.setWordWrap(True)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
        self.set_state("pending", "Waiting")

    def set_state(self, status: str, summary: str, details: tuple[str, ...] = (), fix: str = "") -> None:
        self.status = status
        colour = STATUS_COLOURS.get(status, "")
        self.summary.setText(f"{STATUS_MARKS[status]} {summary}")
        self.summary.setStyleSheet(f"color: {colour}; font-weight: bold;" if colour else "")
        self.details.setText("\n".join(details))
        self.details.setVisible(bool(details))
        self.fix.setText(f"How to fix: {fix}" if fix else "")
        self.fix.setVisible(bool(fix))

    def set_check(self, check: Check) -> None:
        self.set_state(check.status, check.summary, check.details,
                       check.fix if check.status != "ok" else "")

    def text(self) -> str:
        """Everything the box shows, as plain text (for tests and copy/paste)."""
        return "\n".join(w.text() for w in (self.summary, self.details, self.fix) if w.text())


def env_row(env: EnvReport) -> list[str]:
    if not env.ok:
        return [env.source, env.python, "?", "?", "?", "?", env.error]
    runs = runnable_engines(env)
    why = next((c.reason for c in env.capabilities.values() if not c.available), "")
    return [env.source, env.python, env.version, env.torch_summary(),
            env.packages.get("transformers") or "absent", env.packages.get("vllm") or "absent",
            ", ".join(runs) if runs else f"nothing ({why})"]


class EnvTable(QTableWidget):
    """The discovered Python environments and what each can run (read-only)."""

    def __init__(self) -> None:
        super().__init__(0, len(ENV_COLUMNS))
        self.setHorizontalHeaderLabels(ENV_COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.verticalHeader().setVisible(False)
        self.horizontalHeader().setStretchLastSection(True)

    def show_envs(self, envs: list[EnvReport]) -> None:
        self.setRowCount(len(envs))
        for row, env in enumerate(envs):
            for column, text in enumerate(env_row(env)):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.setItem(row, column, item)
        self.resizeColumnsToContents()
