"""The Runs view's "Re-tune here…" action, offscreen, over a real store: it asks for the budget, then runs the
re-tune through the sweep runner (real worker, demo model): the source sweep's best first, then the budget."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QInputDialog

from app.store import Store
from app.sweeps import parse_profile, run_profile

PROFILE = """
name = "gui-retune-source"
engine = "hf-generate"
model = "demo"
strategy = "random"
[options]
device = "cpu"
input_tokens = 8
num_requests = 2
warmup_requests = 0
repetitions = 1
idle_baseline_s = 0.0
[axes]
batch_size = [1, 2]
output_tokens = [1, 3]
[budget]
n_trials = 2
seed = 2
[[objectives]]
metric = "output_tokens_per_s"
direction = "maximize"
"""


@pytest.mark.slow
def test_retune_here_asks_the_budget_and_runs_the_retune(qtbot, make_window, store_url: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    with Store(store_url) as store:
        source = run_profile(parse_profile(PROFILE, "<test>"), store)
        best = max(store.list_runs(sweep_id=source), key=lambda r: r.value("output_tokens_per_s") or 0.0)
    asked: list[str] = []

    def get_int(_parent: object, title: str, label: str, *_args: object) -> tuple[int, bool]:
        asked.append(f"{title}: {label}")
        return 1, True

    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(get_int))
    window = make_window()
    runs = window.runs
    assert runs.table.actions() == [runs.retune_action] and not runs.retune_action.isEnabled()
    runs.table.setCurrentIndex(runs.model.index(0, 0))
    assert runs.retune_action.isEnabled() and runs.retune_action.text() == f"Re-tune sweep {source} here…"
    with qtbot.waitSignal(window.controller.finished, timeout=240_000) as finished:
        runs.retune_action.trigger()
    assert asked and asked[0].startswith(f"Re-tune here: Sweep {source}'s best configuration")
    retune = finished.args[0]
    with Store(store_url) as store:
        sweep = store.get_sweep(retune)
        made = store.list_runs(sweep_id=retune, sort="id")
    assert sweep.status == "finished" and sweep.profile["origin"]["source_sweep"] == source
    assert len(made) == 2 and made[0].config == best.config  # the transferred run, then the budget of 1
    shown = window.statusBar().currentMessage()
    assert shown.startswith("gain (re-tuned / transferred): ")
    better = max(made, key=lambda r: r.value("output_tokens_per_s") or 0.0)
    ratio = better.value("output_tokens_per_s") / made[0].value("output_tokens_per_s")
    assert f"x{ratio:.4g} ({(ratio - 1) * 100:+.1f} %)" in shown
