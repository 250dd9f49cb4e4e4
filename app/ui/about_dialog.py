"""Help → About: the app's version and the versions that matter for a bug report.

The engine environment's versions (torch, transformers, vLLM) and the NVIDIA driver are gathered by the
probe on a background thread: the GUI process never imports torch or any inference library.
"""

from __future__ import annotations

import platform
import sys
from dataclasses import dataclass

import pyqtgraph
from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QPixmap
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

import engine
from app import __version__ as app_version
from app.envs.gpus import NvmlReport, discover_gpus
from app.envs.probe import EnvReport, run_probe
from app.envs.settings import engine_python
from app.shipped import shipped_dir
from app.ui.background import BackgroundCall

ICONS_DIR = shipped_dir("assets") / "icons"
PENDING = "probing…"


@dataclass(frozen=True)
class EngineVersions:
    env: EnvReport | None  # None: no engine interpreter chosen yet
    nvml: NvmlReport


def gather_engine_versions(python: str | None) -> EngineVersions:
    """Probe the engine interpreter and NVML (blocking: call off the GUI thread)."""
    return EngineVersions(run_probe(python) if python else None, discover_gpus())


class AboutDialog(QDialog):
    """Versions of the app, Qt, the engine environment and the NVIDIA driver; `probed` fires once the
    background probe has filled in the engine rows."""

    probed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About InferLab")
        self.setMinimumWidth(640)
        self._values: dict[str, QLabel] = {}
        layout = QVBoxLayout(self)
        layout.addLayout(self._header())
        form = QFormLayout()
        for key, value in [("InferLab", app_version), ("Engine package", engine.__version__),
                           ("App Python", platform.python_version()), ("PySide6 (Qt)", pyside_version),
                           ("pyqtgraph", pyqtgraph.__version__), ("Engine environment", PENDING),
                           ("torch", PENDING), ("transformers", PENDING), ("vLLM", PENDING),
                           ("NVIDIA driver", PENDING), ("GPUs", PENDING)]:
            label = QLabel(value)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self._values[key] = label
            form.addRow(key + ":", label)
        layout.addLayout(form)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = QPushButton("Copy versions")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.versions_text()))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        python = engine_python()
        self._call = BackgroundCall(lambda: gather_engine_versions(python), "inferlab-about-probe")
        self._call.done.connect(self._show_engine_versions)
        self._call.failed.connect(self._show_probe_failure)
        self._call.start()

    def _header(self) -> QHBoxLayout:
        row = QHBoxLayout()
        icon = QLabel()
        icon.setPixmap(QPixmap(str(ICONS_DIR / "inferlab-128.png")).scaled(
            96, 96, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))
        row.addWidget(icon)
        text = QLabel(f"<h2>InferLab {app_version}</h2><p>Desktop profiler for LLM inference: HF "
                      "transformers and vLLM, sweeps, live telemetry, honest meters.</p>"
                      "<p>Licensed under the Apache License 2.0.</p>")
        text.setWordWrap(True)
        row.addWidget(text, 1)
        return row

    def value(self, key: str) -> str:
        """The text shown for one row (e.g. 'torch')."""
        return self._values[key].text()

    def versions_text(self) -> str:
        """All rows as 'key: value' lines (what 'Copy versions' puts on the clipboard)."""
        return "\n".join(f"{key}: {label.text()}" for key, label in self._values.items()) + \
            f"\nOS: {platform.platform()}\nApp executable: {sys.executable}"

    def _set(self, key: str, text: str) -> None:
        self._values[key].setText(text)

    def _show_engine_versions(self, found: EngineVersions) -> None:
        env = found.env
        if env is None:
            for key in ("Engine environment", "torch", "transformers", "vLLM"):
                self._set(key, "unavailable: no engine environment chosen yet (run the first-run setup)")
        elif not env.ok:
            self._set("Engine environment", f"unavailable: {env.error}")
            for key in ("torch", "transformers", "vLLM"):
                self._set(key, "unavailable: the engine environment could not be probed")
        else:
            self._set("Engine environment", f"{env.python} (Python {env.version})")
            self._set("torch", env.torch_summary())
            self._set("transformers", env.packages.get("transformers") or "absent")
            self._set("vLLM", env.packages.get("vllm") or "absent")
        nvml = found.nvml
        if nvml.available:
            self._set("NVIDIA driver", f"{nvml.driver_version} (CUDA driver {nvml.cuda_driver_version})")
            self._set("GPUs", "; ".join(f"{g.name} ({g.memory_text()})" for g in nvml.gpus)
                      or "none")
        else:
            self._set("NVIDIA driver", f"unavailable: {nvml.reason}")
            self._set("GPUs", "none found")
        self.adjustSize()
        self.probed.emit()

    def _show_probe_failure(self, message: str) -> None:
        for key in ("Engine environment", "torch", "transformers", "vLLM", "NVIDIA driver", "GPUs"):
            self._set(key, f"unavailable: the probe failed ({message})")
        self.probed.emit()
