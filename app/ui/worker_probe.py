"""Asks a real worker what it can run: starts `WorkerClient` in a `BackgroundCall`, reports the hello.

The GUI process never imports an inference library; the worker's hello lists each backend's
availability with the reason. NVML is read here too (app.envs.gpus, cheap, no torch) to disable GPU-only options.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from app.envs.gpus import discover_gpus
from app.ui.background import BackgroundCall


class WorkerProbe(QObject):
    """`start()` returns at once; `hello` or `failed` arrives later on the GUI thread."""

    hello = Signal(dict)
    failed = Signal(str)

    def __init__(self, python: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.python = python
        self._call: BackgroundCall | None = None

    def start(self) -> None:
        """Probe in the background; a failure (logged with its traceback) is shown, the form stays usable."""
        self._call = BackgroundCall(self._probe, "inferlab-worker-probe")
        self._call.done.connect(self._on_done)
        self._call.failed.connect(self.failed)
        self._call.start()

    def _on_done(self, hello: dict[str, Any]) -> None:
        self.hello.emit(hello)

    def _probe(self) -> dict[str, Any]:
        from app.core.worker_client import WorkerClient

        with WorkerClient(self.python) as client:
            hello = dict(client.start(timeout_s=120))
        hello["gpus"] = nvml_gpus()
        return hello


def nvml_gpus() -> dict[str, Any]:
    """{"count": n, "names": [...], "reason": ""} from NVML, or {"count": 0, "names": [], "reason": why not}."""
    report = discover_gpus()
    names = [g.name for g in report.gpus]
    return {"count": len(names), "names": names, "reason": report.reason or ("" if names else "NVML reports no GPU")}
