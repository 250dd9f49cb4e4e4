"""Runs a sweep off the GUI thread: `app.sweeps.run_profile` in a QThread, its events as a Qt signal.

The GUI never waits on the worker: the thread owns its own Store connection, events arrive through a
queued signal, and pause/stop are `threading.Event`s the sweep checks between (and, for stop, during)
trials. A worker crash, OOM or hang comes back as a failed trial event, never as an exception here.
"""

from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

log = logging.getLogger("inferlab.ui.sweep_runner")


class SweepRunner(QObject):
    """Lives in its own QThread; `run` blocks that thread for the whole sweep."""

    event = Signal(dict)
    finished = Signal(object)  # the sweep id, or None if the sweep could not start
    failed = Signal(str)

    def __init__(self, profile: Any, store_url: str, python: str | None = None, cluster: str | None = None,
                 first: Mapping[str, Any] | None = None, origin: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.profile, self.first, self.origin = profile, first, origin  # first, origin: see run_profile
        self.store_url = store_url
        self.python = python
        self.cluster = cluster  # None: this machine, one trial at a time; else a Ray address or 'auto'
        self.stop = threading.Event()
        self.pause = threading.Event()

    def run(self) -> None:
        from app.core.transport import make_transport
        from app.store import Store
        from app.sweeps import run_profile

        sweep_id = None
        try:
            with Store(self.store_url) as store:
                host = getattr(self.profile, "host", None)  # a remote host runs its own default python3
                transport = make_transport(host, None if host else self.python)
                sweep_id = run_profile(self.profile, store, on_event=self.event.emit, stop=self.stop,
                                       pause=self.pause, transport=transport, cluster=self.cluster,
                                       first=self.first, origin=self.origin)
        except Exception as exc:  # the sweep's own errors (bad profile, store) are shown, not raised
            log.exception("sweep %r stopped by an error", getattr(self.profile, "name", "?"))
            self.failed.emit(f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}")
        self.finished.emit(sweep_id)


class SweepController(QObject):
    """Starts one sweep at a time and exposes pause/resume/cancel and whether one is running."""

    event = Signal(dict)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._runner: SweepRunner | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def paused(self) -> bool:
        return self._runner is not None and self._runner.pause.is_set()

    def start(self, profile: Any, store_url: str, python: str | None = None, cluster: str | None = None,
              first: Mapping[str, Any] | None = None, origin: Mapping[str, Any] | None = None) -> None:
        if self.running:
            raise RuntimeError("a sweep is already running")
        thread = QThread()
        thread.setObjectName("inferlab-sweep")
        runner = SweepRunner(profile, store_url, python, cluster, first, origin)
        runner.moveToThread(thread)
        thread.started.connect(runner.run)
        runner.event.connect(self.event)
        runner.failed.connect(self.failed)
        runner.finished.connect(self._on_finished)
        self._thread, self._runner = thread, runner
        thread.start()

    def toggle_pause(self) -> bool:
        """Pause after the current trial, or resume; returns whether it is now paused."""
        if self._runner is None:
            return False
        if self._runner.pause.is_set():
            self._runner.pause.clear()
        else:
            self._runner.pause.set()
        return self._runner.pause.is_set()

    def cancel(self) -> None:
        """Stop the sweep: the running trial is cancelled and no further trial starts."""
        if self._runner is not None:
            self._runner.pause.clear()
            self._runner.stop.set()

    def wait(self, timeout_ms: int = 30_000) -> bool:
        """Block until the sweep thread ends (used on quit, after cancel)."""
        return self._thread is None or self._thread.wait(timeout_ms)

    def _on_finished(self, sweep_id: object) -> None:
        thread = self._thread
        self._thread, self._runner = None, None
        if thread is not None:
            thread.quit()
            thread.wait(5000)
            thread.deleteLater()
        self.finished.emit(sweep_id)
