"""Sweep editor: axes (values or ranges), strategy, budget, objectives and constraints.

It edits the `app.sweeps.profile` dataclasses; the window turns them into a validated `Profile` by
round-tripping through the profile parser, so the GUI accepts exactly what a TOML file may say.
Axis values are typed as a comma list (`1, 2, 4, 8`, `"sdpa", "eager"`) or a range
(`1..64 log`, `0.1..0.9 num=5`, `16..128 step=16`); a trailing `stop_after_oom` stops climbing the
axis after an out-of-memory failure (`1, 2, 4, 8 stop_after_oom`). `engine` may be swept too
(`hf-pipeline, vllm`); a loaded axis keeps its `when` condition while its option is unchanged.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.sweeps.profile import DIRECTIONS, STRATEGIES, Axis, Constraint, Objective
from engine import registry
from engine.errors import ConfigError
from engine.metric_names import CATALOGUE
from engine.schema import OptionInfo, brief

STOP_WORD = "stop_after_oom"
RANGE_RE = re.compile(r"^\s*(?P<low>[-+0-9.e]+)\s*\.\.\s*(?P<high>[-+0-9.e]+)(?P<rest>.*)$")
CONSTRAINT_RE = re.compile(r"^\s*(?P<metric>[a-z0-9_]+)\s*(?P<op><=|>=|<|>)\s*(?P<bound>[-+0-9.e]+)\s*$")


class SweepEditor(QWidget):
    """Axes table plus the search settings. `axes()`, `objectives()`, `constraints()` raise ConfigError
    naming the row that is wrong."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.infos: dict[str, OptionInfo] = {}
        self.axes_table = QTableWidget(0, 2)
        self.axes_table.setHorizontalHeaderLabels(["Swept option", "Values or range"])
        self.axes_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.axes_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.axes_table.verticalHeader().setVisible(False)
        self.axes_table.setToolTip("Values: 1, 2, 4, 8 — or a range: 1..64 log, 16..128 step=16, 0.1..0.9 num=5")
        self.add_axis_button = QPushButton("Add axis")
        self.remove_axis_button = QPushButton("Remove axis")
        self.strategy = QComboBox()
        self.strategy.addItems(STRATEGIES)
        self.n_trials = QSpinBox()
        self.n_trials.setRange(0, 100_000)
        self.n_trials.setSpecialValueText("all grid points")
        self.n_trials.setToolTip("Trial budget (random/optuna need one; 0 runs a whole grid)")
        self.timeout_min = QSpinBox()
        self.timeout_min.setRange(0, 7 * 24 * 60)
        self.timeout_min.setSuffix(" min")
        self.timeout_min.setSpecialValueText("no time limit")
        self.objective_metric = QComboBox()
        self.objective_metric.addItems(list(CATALOGUE))
        self.objective_metric.setCurrentText("output_tokens_per_s")
        # sized to a typical name, not the catalogue's longest (the list still shows every name in full)
        self.objective_metric.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.objective_metric.setMinimumContentsLength(22)
        self.objective_direction = QComboBox()
        self.objective_direction.addItems(DIRECTIONS)
        self.constraints_edit = QPlainTextEdit()
        self.constraints_edit.setPlaceholderText("One per line, e.g. ttft_ms_p99 <= 200")
        self.constraints_edit.setMaximumHeight(60)
        self._build_layout()
        self.add_axis_button.clicked.connect(lambda: self.add_axis())
        self.remove_axis_button.clicked.connect(self.remove_axis)
        self.axes_table.itemChanged.connect(self.changed)
        self.constraints_edit.textChanged.connect(self.changed)

    def _build_layout(self) -> None:
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_axis_button)
        buttons.addWidget(self.remove_axis_button)
        buttons.addStretch(1)
        objective = QHBoxLayout()
        objective.addWidget(self.objective_direction)
        objective.addWidget(self.objective_metric, 1)
        form = QFormLayout()
        form.addRow("Strategy", self.strategy)
        form.addRow("Budget (trials)", self.n_trials)
        form.addRow("Time limit", self.timeout_min)
        form.addRow("Objective", objective)
        form.addRow("Constraints", self.constraints_edit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.axes_table, 1)
        layout.addLayout(buttons)
        layout.addLayout(form)

    def set_options(self, infos: dict[str, OptionInfo]) -> None:
        """The options an axis may sweep (the current engine's), and `engine` itself."""
        self.infos = infos
        for row in range(self.axes_table.rowCount()):
            box = self.axes_table.cellWidget(row, 0)
            if isinstance(box, QComboBox):
                current = box.currentText()
                box.clear()
                box.addItems(["engine", *infos])
                box.setCurrentText(current)

    def add_axis(self, name: str = "batch_size", values: str = "1, 4, 16", when: Any = None) -> None:
        """A row sweeping `name`; `when` (a loaded axis's condition) stays with it while `name` is unchanged."""
        row = self.axes_table.rowCount()
        self.axes_table.insertRow(row)
        box = QComboBox()
        box.addItems(["engine", *self.infos])
        box.setCurrentText(name)
        box.currentIndexChanged.connect(self.changed)
        self.axes_table.setCellWidget(row, 0, box)
        item = QTableWidgetItem(values)
        item.setData(Qt.ItemDataRole.UserRole, (name, when) if when else None)
        self.axes_table.setItem(row, 1, item)
        self.changed.emit()

    def remove_axis(self) -> None:
        row = self.axes_table.currentRow()
        if row < 0:
            row = self.axes_table.rowCount() - 1
        if row >= 0:
            self.axes_table.removeRow(row)
            self.changed.emit()

    def clear_axes(self) -> None:
        self.axes_table.setRowCount(0)

    # -- reading -------------------------------------------------------------------------------------
    def axes(self) -> tuple[Axis, ...]:
        out = []
        for row in range(self.axes_table.rowCount()):
            box = self.axes_table.cellWidget(row, 0)
            assert isinstance(box, QComboBox)
            item = self.axes_table.item(row, 1)
            axis = parse_axis(box.currentText(), item.text() if item else "", self.infos)
            kept = item.data(Qt.ItemDataRole.UserRole) if item else None
            out.append(dataclasses.replace(axis, when=kept[1]) if kept and kept[0] == axis.name else axis)
        return tuple(out)

    def objectives(self) -> tuple[Objective, ...]:
        return (Objective(self.objective_metric.currentText(), self.objective_direction.currentText()),)

    def constraints(self) -> tuple[Constraint, ...]:
        out = []
        for n, line in enumerate(self.constraints_edit.toPlainText().splitlines(), start=1):
            if not line.strip():
                continue
            m = CONSTRAINT_RE.match(line)
            if m is None or m["metric"] not in CATALOGUE:
                raise ConfigError(f"constraints line {n}", f"got {brief(line.strip())}; expected "
                                  "'<metric> <=|>=|<|> <number>' with a catalogue metric name")
            out.append(Constraint(m["metric"], m["op"], _number(m["bound"], f"constraints line {n}", float)))
        return tuple(out)

    # -- writing (from a loaded profile) ------------------------------------------------------------
    def load(self, axes: tuple[Axis, ...], strategy: str, n_trials: int | None, timeout_s: float | None,
             objectives: tuple[Objective, ...], constraints: tuple[Constraint, ...]) -> None:
        self.clear_axes()
        for axis in axes:
            self.add_axis(axis.name, axis_text(axis), dict(axis.when))
        self.strategy.setCurrentText(strategy)
        self.n_trials.setValue(n_trials or 0)
        self.timeout_min.setValue(int(round((timeout_s or 0) / 60)))
        if objectives:
            self.objective_metric.setCurrentText(objectives[0].metric)
            self.objective_direction.setCurrentText(objectives[0].direction)
        self.constraints_edit.setPlainText("\n".join(str(c) for c in constraints))


def parse_axis(name: str, text: str, infos: dict[str, OptionInfo]) -> Axis:
    """An Axis from the editor's text; ConfigError naming the axis if the text is not understood."""
    if name == "engine":
        engines = tuple(dict.fromkeys(part.strip().strip("'\"") for part in text.split(",") if part.strip()))
        unknown = [e for e in engines if e not in registry.engines()]
        if unknown or not engines:
            raise ConfigError("axis engine", f"got {brief(text)}; expected engines among {', '.join(registry.names())}")
        return Axis(name, values=engines)
    info = infos.get(name)
    if info is None:
        raise ConfigError(f"axis {name}", "not an option of this engine")
    stop = text.rstrip().endswith(STOP_WORD)
    text = text.rstrip().removesuffix(STOP_WORD) if stop else text
    return dataclasses.replace(_axis(name, text, info), stop_after_oom=stop)


def _axis(name: str, text: str, info: OptionInfo) -> Axis:
    m = RANGE_RE.match(text)
    field = f"axis {name}"
    if m is not None:
        kw: dict[str, Any] = {"log": False, "num": None, "step": None}
        for word in m["rest"].split():
            if word == "log":
                kw["log"] = True
            elif word.startswith("num="):
                kw["num"] = _number(word[4:], field, int)
            elif word.startswith("step="):
                kw["step"] = _number(word[5:], field, float)
            else:
                raise ConfigError(field, f"unknown range word {brief(word)}; use log, num=N, step=S")
        return Axis(name, low=_number(m["low"], field, float), high=_number(m["high"], field, float),
                    integer=info.type is int, **kw)
    values = tuple(_value(info, part.strip(), name) for part in text.split(",") if part.strip())
    if not values:
        raise ConfigError(f"axis {name}", "needs values (1, 2, 4) or a range (1..64 log)")
    return Axis(name, values=values)


def _number(text: str, field: str, kind: type[int] | type[float]) -> Any:
    """`text` as an int or a finite float; ConfigError naming `field` otherwise."""
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(field, f"{brief(text)} is not {'an integer' if kind is int else 'a number'}") from None
    if not math.isfinite(value):
        raise ConfigError(field, f"got {brief(text)}; expected a finite number")
    return value


def axis_text(axis: Axis) -> str:
    stop = f" {STOP_WORD}" if axis.stop_after_oom else ""
    if axis.values is not None:
        return ", ".join(str(v) for v in axis.values) + stop
    words = [f"{axis.low:g}..{axis.high:g}"]
    if axis.log:
        words.append("log")
    if axis.num is not None:
        words.append(f"num={axis.num}")
    if axis.step is not None:
        words.append(f"step={axis.step:g}")
    return " ".join(words) + stop


def _value(info: OptionInfo, text: str, name: str) -> Any:
    text = text.strip("'\"")
    try:
        if info.type is bool:
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true"
        if info.type is int:
            return int(text)
        if info.type is float:
            return float(text)
    except ValueError:
        raise ConfigError(f"axis {name}", f"value {brief(text)} is not {info.allowed()}") from None
    return text
