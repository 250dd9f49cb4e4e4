"""The installed Qt binding must not corrupt reference counts when Python code emits a signal.

PySide6 6.12.0's `SignalInstance.emit` returns True without a new reference: every emit from Python
(ours and pyqtgraph's) drops one reference to True until the interpreter aborts. Pin 6.11.x.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(object)


def test_emitting_a_signal_keeps_reference_counts_intact(qapp) -> None:
    emitter = _Emitter()
    received = []
    emitter.fired.connect(received.append)
    before_true, before_none = sys.getrefcount(True), sys.getrefcount(None)
    for _ in range(200):
        emitter.fired.emit({"ok": True, "value": None})
    assert len(received) == 200
    received.clear()
    # With the 6.12.0 bug True loses one reference per emit (-200 here); a sound binding stays level.
    assert sys.getrefcount(True) > before_true - 50
    assert sys.getrefcount(None) > before_none - 50
