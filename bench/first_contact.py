"""First contact: the trial the Experiment view starts from on this machine (sized to the GPUs NVML reports,
`app.ui.trial_sizing`), run on the demo model as the Run button runs it (`run_profile`, a fresh worker),
timed from the start: the first live tokens/s (the first measured batch's progress event) and the first
result (the trial's figure). Target: a first result within 15 s on a CPU.
Usage: .venv/bin/python bench/first_contact.py [--engine-defaults]   (the latter: the old defaults)
On a machine shared with other work, INFERLAB_NUM_THREADS=1 keeps spinning OpenMP threads from slowing
the demo model ~10x (say so beside the figure)."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TARGET_S = 15.0


def main() -> None:
    from PySide6.QtWidgets import QApplication

    from app.store import Store
    from app.sweeps import run_profile
    from app.ui.experiment_view import ExperimentView
    from app.ui.worker_probe import nvml_gpus

    app = QApplication.instance() or QApplication([])
    view = ExperimentView()
    if "--engine-defaults" not in sys.argv:
        view.set_hello({"backends": {}, "gpus": nvml_gpus()})
    app.processEvents()
    profile = view.build_profile()
    print(view.defaults_note.text() or "Trial defaults: the engine's (no hello applied)")
    marks: dict[str, float] = {}
    start = time.perf_counter()

    def on_event(event: dict[str, Any]) -> None:
        now = time.perf_counter() - start
        if event["type"] == "loaded":
            marks.setdefault("model loaded", now)
        elif event["type"] == "progress" and event.get("phase") == "measure" and event.get("tokens_per_s"):
            marks.setdefault("first live tokens/s", now)
            marks.setdefault("live rate", event["tokens_per_s"])
        elif event["type"] == "trial-finished":
            marks.setdefault("first result", now)
            marks.setdefault("result rate", (event.get("metrics") or {}).get("output_tokens_per_s") or float("nan"))

    with tempfile.TemporaryDirectory() as tmp, Store(f"sqlite:///{Path(tmp) / 'first.db'}") as store:
        run_profile(profile, store, on_event=on_event)
    for name in ("model loaded", "first live tokens/s", "first result"):
        print(f"{name:22} {marks.get(name, float('nan')):6.1f} s from Run (worker start included)")
    print(f"first live rate {marks.get('live rate', float('nan')):.1f} tok/s; "
          f"result {marks.get('result rate', float('nan')):.1f} tok/s")
    print(f"first result vs target {TARGET_S:.0f} s: ratio {marks.get('first result', float('nan')) / TARGET_S:.2f}")


if __name__ == "__main__":
    main()
