"""The GUI's "Run sweeps on…" setting: saved in the settings, and the next sweep goes to that Ray cluster
(here one that does not answer: the sweep stops with the reason, and nothing is stored)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QInputDialog

pytest.importorskip("ray", reason="the cluster extra (inferlab[cluster]) is not installed")

UNREACHABLE = "ray://127.0.0.1:1"  # nothing listens on port 1: Ray Client gives up after ~30 s


@pytest.mark.cluster
@pytest.mark.slow
def test_sweep_goes_to_the_chosen_cluster_and_an_unreachable_one_is_reported(
        qtbot, make_window, fill_tiny_trial, settings, monkeypatch: pytest.MonkeyPatch) -> None:
    window = make_window()
    # the user types the address in the dialog and presses OK
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kwargs: (f" {UNREACHABLE} ", True))
    window.choose_cluster()
    assert settings.value("cluster") == UNREACHABLE and window.cluster() == UNREACHABLE

    fill_tiny_trial(window)
    with qtbot.waitSignal(window.controller.failed, timeout=120_000) as failed:
        window.experiment.request_run()
        assert f"on Ray cluster {UNREACHABLE}" in window.worker_label.text()
    assert f"cannot join the Ray cluster at {UNREACHABLE!r}" in failed.args[0]
    qtbot.waitUntil(lambda: not window.controller.running, timeout=10_000)
    assert window.store.list_runs() == [] and "Sweep stopped" in window.statusBar().currentMessage()
