"""Asks a real worker what it can run: starts `WorkerClient` on a background thread, reports the hello.

The GUI process never imports an inference library; the worker's hello lists each backend's
availability with the reason. NVML is read here too (app.envs.gpus, cheap, no torch) to disable GPU-only options.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

from app.envs.gpus import discover_gpus


class WorkerProbe(QObject):
    """`start()` returns at once; `hello` or `failed` arrives later on the GUI thread."""

    hello = Signal(dict)
    failed = Signal(str)

    def __init__(self, python: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.python = python
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._probe, name="inferlab-worker-probe", daemon=True)
        self._thread.start()

    def _probe(self) -> None:
        try:
            from app.core.worker_client import WorkerClient

            with WorkerClient(self.python) as client:
                hello = dict(client.start(timeout_s=120))
        except Exception as exc:  # shown in the status bar; the form stays usable
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        hello["gpus"] = nvml_gpus()
        self.hello.emit(hello)


def nvml_gpus() -> dict[str, Any]:
    """{"count": n, "names": [...], "reason": ""} from NVML, or {"count": 0, "names": [], "reason": why not}."""
    report = discover_gpus()
    names = [g.name for g in report.gpus]
    return {"count": len(names), "names": names, "reason": report.reason or ("" if names else "NVML reports no GPU")}
