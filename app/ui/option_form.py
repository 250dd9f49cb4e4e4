"""A form generated from the option schema: one editor per `OptionInfo`, help as tooltip, advanced
options in a collapsible group, invalid values flagged next to the field that is wrong.

Editors by type: choices → combo box (choices the engine or hardware cannot run are disabled with the
reason as tooltip), bool → check box (optional bool → default/true/false), int/float → spin box
(optional numbers → line edit where empty means "engine default"), str → line edit.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QDoubleValidator, QIntValidator, QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from engine import registry
from engine.config import all_options
from engine.schema import OptionInfo

OPTIONAL_BOOL_TEXT = ("default", "true", "false")
INT_LIMIT = 2**31 - 1


class OptionForm(QWidget):
    """Editors for every option of one engine except those in `skip` (edited elsewhere, e.g. model)."""

    changed = Signal()

    def __init__(self, skip: tuple[str, ...] = ("model",), parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.skip = skip
        self.engine = ""
        self.infos: dict[str, OptionInfo] = {}
        self.editors: dict[str, QWidget] = {}
        self.error_labels: dict[str, QLabel] = {}
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._body: QWidget | None = None

    def set_engine(self, engine: str) -> None:
        """Rebuild the editors for `engine`, keeping values of options both engines share."""
        old = self.values() if self.infos else {}
        self.engine = engine
        self.infos = {k: v for k, v in all_options(engine).items() if k not in self.skip}
        if self._body is not None:
            self._body.deleteLater()
        self._body = self._build()
        self._layout.addWidget(self._body)
        self.set_values({k: info.default for k, info in self.infos.items()})
        self.set_values({k: v for k, v in old.items() if k in self.infos})
        self._disable_fixed(registry.spec(engine))

    def values(self) -> dict[str, Any]:
        """The flat option values shown (optional fields left empty are None)."""
        return {name: _read(self.editors[name], info) for name, info in self.infos.items()}

    def set_values(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name in self.editors:
                _write(self.editors[name], self.infos[name], value)

    def show_error(self, field: str, message: str) -> bool:
        """Flag `field` as invalid with `message`; False if the form has no such field."""
        self.clear_errors()
        label = self.error_labels.get(field)
        if label is None:
            return False
        label.setText(message)
        label.show()
        self.editors[field].setProperty("invalid", True)
        _repolish(self.editors[field])
        return True

    def clear_errors(self) -> None:
        for name, label in self.error_labels.items():
            if label.isVisible():
                label.hide()
                self.editors[name].setProperty("invalid", False)
                _repolish(self.editors[name])

    def disable_choice(self, field: str, choice: Any, reason: str) -> None:
        """Grey out one choice of a combo box with the reason as its tooltip."""
        editor = self.editors.get(field)
        if not isinstance(editor, QComboBox) or self.infos[field].type is bool:
            return
        index = editor.findData(choice)
        model = editor.model()
        if index >= 0 and isinstance(model, QStandardItemModel):
            item = model.item(index)
            item.setEnabled(False)
            item.setToolTip(reason)
            item.setText(f"{choice} — {reason}")

    def _disable_fixed(self, spec: registry.EngineSpec) -> None:
        """Show the values the engine fixes, with every other choice disabled and the reason."""
        self.set_values(dict(spec.fixed))
        for name, value in spec.fixed.items():
            info = self.infos.get(name)
            if info is None or not info.choices:
                continue
            for choice in info.choices:
                if choice != value:
                    self.disable_choice(name, choice, f"{spec.fixed_reason} (engine {spec.name})")

    def _build(self) -> QWidget:
        body = QWidget()
        outer = QVBoxLayout(body)
        outer.setContentsMargins(0, 0, 0, 0)
        basic = QFormLayout()
        advanced_box = QGroupBox("Advanced")
        advanced_box.setCheckable(True)
        advanced_box.setChecked(False)
        advanced_inner = QWidget()
        advanced = QFormLayout(advanced_inner)
        box_layout = QVBoxLayout(advanced_box)
        box_layout.addWidget(advanced_inner)
        advanced_inner.setVisible(False)
        advanced_box.toggled.connect(advanced_inner.setVisible)
        self.editors, self.error_labels = {}, {}
        for name, info in self.infos.items():
            editor = self._editor(info)
            editor.setObjectName(f"option_{name}")
            editor.setToolTip(_tooltip(info))
            error = QLabel()
            error.setObjectName("fieldError")
            error.setWordWrap(True)
            error.hide()
            column = QWidget()
            col_layout = QVBoxLayout(column)
            col_layout.setContentsMargins(0, 0, 0, 0)
            col_layout.setSpacing(1)
            col_layout.addWidget(editor)
            col_layout.addWidget(error)
            label = QLabel(name + (f" ({info.unit})" if info.unit else ""))
            label.setToolTip(info.help)
            (advanced if info.advanced else basic).addRow(label, column)
            self.editors[name] = editor
            self.error_labels[name] = error
        outer.addLayout(basic)
        if advanced.rowCount():
            outer.addWidget(advanced_box)
        self.advanced_box = advanced_box
        return body

    def _editor(self, info: OptionInfo) -> QWidget:
        if info.type is bool and info.optional:
            box = QComboBox()
            for text in OPTIONAL_BOOL_TEXT:
                box.addItem(text, {"default": None, "true": True, "false": False}[text])
            box.currentIndexChanged.connect(self.changed)
            return box
        if info.choices:
            box = QComboBox()
            for choice in info.choices:
                box.addItem(str(choice), choice)
            box.currentIndexChanged.connect(self.changed)
            return box
        if info.type is bool:
            check = QCheckBox()
            check.toggled.connect(self.changed)
            return check
        if info.type in (int, float) and not info.optional:
            spin = _spin(info)
            spin.valueChanged.connect(self.changed)
            return spin
        edit = QLineEdit()
        if info.optional:
            edit.setPlaceholderText("empty: engine default" if info.type is not str else "empty: none")
        if info.type is int:
            edit.setValidator(QIntValidator(int(info.min or 0), int(min(info.max or INT_LIMIT, INT_LIMIT))))
        elif info.type is float:
            edit.setValidator(QDoubleValidator())
        edit.textChanged.connect(self.changed)
        return edit


def _spin(info: OptionInfo) -> QSpinBox | QDoubleSpinBox:
    if info.type is int:
        spin: QSpinBox | QDoubleSpinBox = QSpinBox()
        spin.setRange(int(info.min if info.min is not None else -INT_LIMIT),
                      int(min(info.max if info.max is not None else INT_LIMIT, INT_LIMIT)))
    else:
        spin = QDoubleSpinBox()
        spin.setDecimals(3)
        spin.setRange(info.min if info.min is not None else -1e12, info.max if info.max is not None else 1e12)
    if info.unit:
        spin.setSuffix(f" {info.unit}")
    spin.setKeyboardTracking(False)
    return spin


def _tooltip(info: OptionInfo) -> str:
    extra = [f"Allowed: {info.allowed()}", f"Default: {info.default!r}"]
    if info.load_time:
        extra.append("Changing it reloads the model.")
    return info.help + "\n" + "\n".join(extra)


def _read(editor: QWidget, info: OptionInfo) -> Any:
    if isinstance(editor, QComboBox):
        return editor.currentData()
    if isinstance(editor, QCheckBox):
        return editor.isChecked()
    if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        return editor.value()
    assert isinstance(editor, QLineEdit)
    text = editor.text().strip()
    if not text:
        return None if info.optional else ""
    if info.type is int:
        try:
            return int(text)
        except ValueError:
            return text  # validation reports it, naming the field
    if info.type is float:
        try:
            return float(text)
        except ValueError:
            return text
    return text


def _write(editor: QWidget, info: OptionInfo, value: Any) -> None:
    if isinstance(editor, QComboBox):
        index = editor.findData(value)
        if index >= 0:
            editor.setCurrentIndex(index)
    elif isinstance(editor, QCheckBox):
        editor.setChecked(bool(value))
    elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
        if value is not None:
            editor.setValue(value)
    elif isinstance(editor, QLineEdit):
        editor.setText("" if value is None else str(value))


def _repolish(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()


