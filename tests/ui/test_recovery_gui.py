"""The GUI brings back results an earlier session could not store: at start it imports every pending
recovery file into its store, says so in the status bar and the Live log, and removes the files."""

from __future__ import annotations

import time
from pathlib import Path

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
