"""The GUI brings back results an earlier session could not store: at start it imports every pending
recovery file into its store, says so in the status bar and the Live log, and removes the files."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from app.store import Store
from app.store.recovery import add_run_or_recover, pending
from engine.causes import FailureCause
from engine.results import TrialResult


def test_pending_recovery_files_are_imported_at_start_with_a_visible_notice(make_window, store_url: str,
                                                                           tmp_path: Path) -> None:
    with Store(store_url) as store:
        sweep_id = store.create_sweep("gui-recover", {}, "grid")
    now = time.time()
    result = TrialResult("t-recover-1", {"engine": "hf-generate", "model": "/nope"}, "failed",
                         failure_cause=FailureCause.INVALID_CONFIG, failure_message="model: no such folder",
                         started_at=now, finished_at=now)
    read_only = store_url.replace("sqlite:///", "sqlite:///file:") + "?mode=ro&uri=true"
    with Store(read_only) as store:  # a real refusal: the database is opened read-only
        saved = add_run_or_recover(store, result, sweep_id=sweep_id, sweep_name="gui-recover")
    assert saved.recovery_file is not None and pending() == [saved.recovery_file]

    window = make_window()
    assert pending() == []
    (run,) = window.store.list_runs()
    assert (run.sweep_id, run.failure_cause) == (sweep_id, "invalid-config")
    assert window.store.find_trial("t-recover-1") == run.id
    assert window.recovery_notice == f"Recovered 1 result(s) an earlier session could not store: run(s) #{run.id}."
    assert window.statusBar().currentMessage() == window.recovery_notice
    assert window.recovery_notice in window.live.log.toPlainText()
    assert window.runs.model.rowCount() == 1


@pytest.mark.slow
def test_a_trial_the_locked_store_refuses_is_saved_and_the_window_says_where(qtbot, make_window, fill_tiny_trial,
                                                                             tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    window = make_window(url=f"sqlite:///{db}?timeout=1")
    fill_tiny_trial(window)
    lock: list[sqlite3.Connection] = []

    def on_event(event: dict) -> None:
        if event["type"] == "trial-started":
            lock.append(sqlite3.connect(db, isolation_level=None))
            lock[0].execute("BEGIN EXCLUSIVE")  # a real second writer, held past the store's 1 s timeout
        elif event["type"] == "trial-finished":
            lock[0].execute("COMMIT")
            lock[0].close()

    window.controller.event.connect(on_event)
    with qtbot.waitSignal(window.controller.finished, timeout=240_000):
        window.experiment.request_run()
    (path,) = pending()
    assert window.store.count_runs() == 0
    log = window.live.log.toPlainText()
    assert f"NOT STORED (OperationalError: (sqlite3.OperationalError) database is locked); saved to {path}" in log
    assert str(path) in window.statusBar().currentMessage() and "inferlab import --recover" in log
