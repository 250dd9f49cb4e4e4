"""Run a blocking call (an environment probe, NVML, opening the store) off the GUI thread.

The result comes back as a Qt signal, delivered on the GUI thread (queued across threads), so a
slow or hung interpreter never freezes a window. Exceptions come back as text on `failed`, and
their tracebacks go to the log.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger("inferlab.ui.background")


class BackgroundCall(QObject):
    """`start()` returns at once; later exactly one of `done(result)` or `failed(message)` arrives."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any], name: str = "inferlab-background") -> None:
        super().__init__()
        self._fn = fn
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> BackgroundCall:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # reported to the GUI as text; a probe failure must not kill the app
            log.exception("%s failed", self._thread.name)
            self._deliver(self.failed, f"{type(exc).__name__}: {exc}")
            return
        self._deliver(self.done, result)

    @staticmethod
    def _deliver(signal: Any, value: Any) -> None:
        """Emit unless the receiving window closed first (Qt then has deleted this object's C++ side)."""
        try:
            signal.emit(value)
        except RuntimeError:  # "Signal source has been deleted": nobody is left to tell
            pass
