"""The Live view's log says why a sweep trial was not run (an out-of-memory stop, or done before)."""

from __future__ import annotations

from app.ui.live_view import LiveView


def test_the_log_says_why_a_trial_is_not_run(qtbot) -> None:
    view = LiveView()
    qtbot.addWidget(view)
    reason = ("not run: out of memory at batch_size=4 with every other option equal (batch_size stops after out "
              "of memory)")
    view.handle_event({"type": "trial-skipped", "index": 2, "total": 4, "run_id": None, "reason": reason})
    view.handle_event({"type": "trial-skipped", "index": 0, "total": 4, "run_id": 7})
    assert view.log.toPlainText().splitlines()[-2:] == [f"Trial 3 {reason}", "Trial 1 already done (run #7)"]
