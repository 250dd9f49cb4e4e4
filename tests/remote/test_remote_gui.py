"""The GUI with a remote machine, over a real sshd (offscreen Qt): the Machine picker lists the hosts of
the SSH config, the engine Python set for the chosen host is saved per host, and a sweep started from
the view runs its worker there with that Python while the Live view charts the telemetry the remote
worker streams (CPU and RAM here; GPUs on a host that has them, through the same events)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from app.core.transport import SshTransport, make_transport
from app.envs.settings import load_settings
from app.store import Store
from app.sweeps import parse_profile
from app.ui.experiment_view import ExperimentView
from app.ui.live_view import LiveView
from app.ui.sweep_runner import SweepController
from tests.remote.conftest import HOST, SshServer

PROFILE = """\
name = "remote-gui"
engine = "hf-generate"
model = "demo"
repetitions = 1

[options]
device = "cpu"
input_tokens = 8
output_tokens = 24
num_requests = 2
warmup_requests = 0
idle_baseline_s = 0.0
telemetry_hz = 20.0

[axes]
batch_size = [1, 2]
"""


@pytest.mark.slow
def test_the_machine_picker_sets_the_host_python_and_live_shows_the_remote_telemetry(
        qtbot: QtBot, ssh_server: SshServer, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERLAB_SSH_CONFIG", str(ssh_server.ssh_config))
    view = ExperimentView()
    qtbot.addWidget(view)
    hosts = [view.machine_box.itemData(i) for i in range(view.machine_box.count())]
    assert hosts == [None, HOST]
    assert not view.host_python_button.isEnabled()  # this computer: the first-run choice applies
    view.apply_profile(parse_profile(PROFILE, "remote-gui.toml"))
    view.machine_box.setCurrentIndex(view.machine_box.findData(HOST))
    assert view.host_python_button.isEnabled()
    assert view.host_python_label.text() == f"Engine Python on {HOST}: python3"
    view.set_host_python(sys.executable)
    assert load_settings().host_pythons == {HOST: sys.executable}
    assert view.host_python_label.text() == f"Engine Python on {HOST}: {sys.executable}"
    profile = view.build_profile()
    assert profile.host == HOST

    live = LiveView()
    qtbot.addWidget(live)
    controller = SweepController()
    events: list[dict[str, Any]] = []
    controller.event.connect(live.handle_event)
    controller.event.connect(events.append)
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    with qtbot.waitSignal(controller.finished, timeout=600_000) as finished:
        controller.start(profile, store_url)
    telemetry = [e for e in events if e["type"] == "telemetry"]
    assert telemetry, [e["type"] for e in events]
    assert live.charts.series_names()[-2:] == ["cpu_percent", "ram_used_gib"]
    assert live.charts._buffer is not None and len(live.charts._buffer.times()) == len(telemetry)
    with Store(store_url) as store:
        runs = store.list_runs(sweep_id=finished.args[0], sort="id")
        assert [r.status for r in runs] == ["ok", "ok"]
        environments = [store.get_run(r.id).environment for r in runs]
    assert all(e["host"] == HOST for e in environments)
    transport = make_transport(HOST, None)
    assert isinstance(transport, SshTransport)  # what the sweep runner made: the saved Python, the configured file
    assert (transport.python, transport.ssh_config) == (sys.executable, ssh_server.ssh_config)
