"""Real trials launched from the window on the demo model: result in the runs table, cancel, worker killed.

Each test starts a real worker process and loads the real demo model (tens of seconds on two cores).
"""

from __future__ import annotations

import os

import psutil
import pytest

pytestmark = pytest.mark.slow
TRIAL_TIMEOUT_MS = 240_000


def _finished_rows(window) -> list:
    model = window.runs.model
    return [model.run_at(i) for i in range(model.rowCount())]


def test_trial_from_the_form_lands_in_the_runs_table(qtbot, make_window, fill_tiny_trial) -> None:
    window = make_window()
    fill_tiny_trial(window, telemetry_hz=10.0)
    events: list[dict] = []
    window.controller.event.connect(events.append)
    with qtbot.waitSignal(window.controller.finished, timeout=TRIAL_TIMEOUT_MS):
        qtbot.keyClick(window.experiment.run_button, " ")  # the real button (Ctrl+R triggers the same slot)
        assert window.controller.running and window.tabs.currentWidget() is window.live
    rows = _finished_rows(window)
    assert len(rows) == 1 and rows[0].status == "ok", rows
    assert rows[0].value("output_tokens_per_s") > 0
    assert rows[0].config["output_tokens"] == 4
    kinds = {e["type"] for e in events}
    assert {"sweep-started", "trial-started", "progress", "trial-finished", "sweep-finished"} <= kinds
    assert window.live.charts._buffer is not None and window.live.charts._buffer.size > 0
    assert "Trial 1 finished: ok" in window.live.log.toPlainText()
    assert window.experiment.run_button.isEnabled()


def _wait_until_loaded(qtbot, window) -> None:
    """Block until the worker reports the model loaded: the trial is then running (warm-up first)."""
    seen: list[dict] = []
    window.controller.event.connect(seen.append)
    qtbot.waitUntil(lambda: any(e.get("type") == "loaded" for e in seen), timeout=TRIAL_TIMEOUT_MS)


def test_cancel_stops_the_trial_and_marks_the_run_cancelled(qtbot, make_window, fill_tiny_trial) -> None:
    window = make_window()
    fill_tiny_trial(window, output_tokens=512, num_requests=64, warmup_requests=4)
    window.experiment.request_run()
    _wait_until_loaded(qtbot, window)
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        window.cancel_action.trigger()
    rows = _finished_rows(window)
    assert len(rows) == 1 and rows[0].status == "cancelled" and rows[0].failure_cause == "cancelled", rows


def test_killed_worker_leaves_window_alive_and_run_marked_with_cause(qtbot, make_window, fill_tiny_trial) -> None:
    window = make_window()
    fill_tiny_trial(window, output_tokens=512, num_requests=64, warmup_requests=4)
    window.experiment.request_run()
    _wait_until_loaded(qtbot, window)
    workers = [p for p in psutil.Process(os.getpid()).children(recursive=True)
               if "engine" in " ".join(p.cmdline())]
    assert workers, "no worker process found"
    with qtbot.waitSignal(window.controller.finished, timeout=60_000):
        for proc in workers:
            proc.kill()
    rows = _finished_rows(window)
    assert len(rows) == 1 and rows[0].status == "failed", rows
    assert rows[0].failure_cause == "killed", rows[0].failure_cause  # a SIGKILL the client did not send
    assert window.isVisible() and window.experiment.run_button.isEnabled()
    assert "failed" in window.live.log.toPlainText()
