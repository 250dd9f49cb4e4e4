"""The Live view of a sweep on a real local Ray cluster (two logical GPUs, in this process, the real demo
model; offscreen Qt): a table shows where each trial ran (node, Ray's GPU ids, CUDA_VISIBLE_DEVICES) and
how it ended, the same placement each stored run records."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.store import Store
from app.sweeps import parse_profile
from app.ui.live_view import PLACEMENT_COLUMNS, LiveView
from app.ui.sweep_runner import SweepController
from tests.sweeps.test_cluster import local_cluster  # noqa: F401  (the fixture)

PROFILE = """\
name = "cluster-live"
engine = "hf-generate"
model = "demo"
strategy = "grid"
repetitions = 1

[options]
device = "auto"
input_tokens = 8
output_tokens = 1
num_requests = 1
warmup_requests = 0
idle_baseline_s = 0.0

[axes]
batch_size = [1, 2]
"""


@pytest.mark.cluster
@pytest.mark.slow
def test_live_shows_each_trials_node_and_gpus(qtbot: QtBot, local_cluster: None, tmp_path: Path) -> None:  # noqa: F811
    live = LiveView()
    qtbot.addWidget(live)
    controller = SweepController()
    controller.event.connect(live.handle_event)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    with qtbot.waitSignal(controller.finished, timeout=600_000) as finished:
        controller.start(parse_profile(PROFILE, "cluster-live.toml"), store_url, cluster="auto")
    table = live.placement
    assert table.isVisibleTo(live) and table.rowCount() == 2
    rows = {int(table.item(r, 0).text()): [table.item(r, c).text() for c in range(len(PLACEMENT_COLUMNS))]
            for r in range(table.rowCount())}
    with Store(store_url) as store:
        runs = store.list_runs(sweep_id=finished.args[0], sort="id")
        placed = {r.config["batch_size"]: store.get_run(r.id).environment["cluster"] for r in runs}
    assert sorted(placed) == [1, 2]
    for trial, (_, node, gpus, visible, result) in rows.items():
        where = placed[trial]  # grid order: trial k is batch_size k
        assert node == f"{where['node_ip']} · {where['node_id'][:8]}"
        assert gpus == ", ".join(where["gpu_ids"]) and visible == where["cuda_visible_devices"]
        assert result.startswith("ok, ") and "→ run #" in result
