"""A sweep whose worker runs over a real SSH connection (loopback sshd; the venv's Python on the "host"):
the engine zipapp is copied once and verified, trials run the real demo model, the host is recorded,
a connection killed mid-trial is a `connection-lost` trial after which the sweep reconnects, and a
worker killed on the host (the connection intact) is not mistaken for a lost connection."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

import psutil
import pytest

from app.core.transport import REMOTE_CACHE, SshTransport
from app.core.worker_client import WorkerClient
from app.store import Store
from app.sweeps import parse_profile, run_profile
from engine.causes import FailureCause
from engine.config import TrialConfig
from tests.remote.conftest import HOST, SshServer

PROFILE = """\
name = "remote"
engine = "hf-generate"
model = "demo"
repetitions = 1

[options]
device = "cpu"
input_tokens = 8
output_tokens = {tokens}
num_requests = 2
warmup_requests = 0
idle_baseline_s = 0.0

[axes]
batch_size = [1, 2]
"""


def _transport(server: SshServer, data_dir: Path) -> SshTransport:
    return SshTransport(HOST, sys.executable, ssh_config=server.ssh_config,
                        env={"INFERLAB_DATA_DIR": str(data_dir), "INFERLAB_NUM_THREADS": "1",
                             "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})


@pytest.mark.slow
def test_a_sweep_runs_on_the_remote_host_with_the_engine_copied_once(
        ssh_server: SshServer, data_dir: Path, tmp_path: Path) -> None:
    transport = _transport(ssh_server, data_dir)
    copy = Path.home() / REMOTE_CACHE / f"engine-{transport.artifact.version}.pyz"
    copy.unlink(missing_ok=True)
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        sweep_id = run_profile(parse_profile(PROFILE.format(tokens=4), "remote.toml"), store, transport=transport)
        runs = store.list_runs(sweep_id=sweep_id)
        assert store.get_sweep(sweep_id).status == "finished"
        assert [r.status for r in runs] == ["ok", "ok"]
        assert all(store.get_run(r.id).environment["host"] == HOST for r in runs)
    assert copy.read_bytes() == transport.artifact.content


@pytest.mark.slow
def test_a_connection_killed_mid_trial_is_connection_lost_and_the_sweep_goes_on(
        ssh_server: SshServer, data_dir: Path, tmp_path: Path) -> None:
    listener = psutil.Process(ssh_server.proc.pid)
    killed: list[psutil.Process] = []
    orphans: list[psutil.Process] = []

    def on_event(event: dict) -> None:
        if event["type"] == "progress" and event["index"] == 0 and not killed:
            sessions = listener.children()  # one sshd process per connection: the network "drops"
            orphans.extend(p for s in sessions for p in s.children(recursive=True) if "python" in p.name())
            for session in sessions:
                session.send_signal(signal.SIGKILL)
            killed.extend(sessions)

    profile = parse_profile(PROFILE.format(tokens=48), "remote.toml")
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        sweep_id = run_profile(profile, store, on_event=on_event, transport=_transport(ssh_server, data_dir))
        runs = store.list_runs(sweep_id=sweep_id, sort="id")
        assert killed
        assert [(r.status, r.failure_cause) for r in runs] == [("failed", FailureCause.CONNECTION_LOST), ("ok", None)]
        assert "connection to testhost was lost" in (runs[0].failure_message or "")
        assert store.get_sweep(sweep_id).status == "finished"
    _, alive = psutil.wait_procs(orphans, timeout=60)  # the cut-off worker sees end of input and exits
    assert not alive


@pytest.mark.slow
def test_a_sweep_that_cannot_reconnect_stops_with_the_cause(
        ssh_server: SshServer, data_dir: Path, tmp_path: Path) -> None:
    stopped = threading.Event()

    def on_event(event: dict) -> None:
        if event["type"] == "progress" and event["index"] == 0 and not stopped.is_set():
            stopped.set()
            listener = psutil.Process(ssh_server.proc.pid)
            sessions = listener.children()
            listener.send_signal(signal.SIGKILL)  # the host goes away: no reconnect is possible
            for session in sessions:
                session.send_signal(signal.SIGKILL)

    profile = parse_profile(PROFILE.format(tokens=48), "remote.toml")
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        sweep_id = run_profile(profile, store, on_event=on_event, transport=_transport(ssh_server, data_dir))
        runs = store.list_runs(sweep_id=sweep_id, sort="id")
        assert [(r.status, r.failure_cause) for r in runs] == [("failed", FailureCause.CONNECTION_LOST)] * 2
        assert "ssh could not reach testhost" in (runs[1].failure_message or "")
        assert store.get_sweep(sweep_id).status == "failed"


@pytest.mark.slow
def test_a_remote_worker_killed_on_its_host_is_not_a_lost_connection(ssh_server: SshServer, data_dir: Path) -> None:
    listener = psutil.Process(ssh_server.proc.pid)
    killed: list[psutil.Process] = []

    def on_event(event: dict) -> None:
        if event["type"] == "progress" and not killed:
            workers = [p for p in listener.children(recursive=True) if "python" in p.name()]
            for worker in workers:  # what the host's OOM killer does; the connection itself stays up
                worker.send_signal(signal.SIGKILL)
            killed.extend(workers)

    client = WorkerClient(transport=_transport(ssh_server, data_dir))
    try:
        result = client.run_trial(TrialConfig.from_flat(
            {"engine": "hf-generate", "model": "demo", "device": "cpu", "input_tokens": 8, "output_tokens": 48,
             "num_requests": 2, "warmup_requests": 0, "repetitions": 1, "idle_baseline_s": 0.0}), on_event)
    finally:
        client.close()
    assert killed
    assert result.status == "failed" and result.failure_cause == FailureCause.WORKER_EXIT
    assert "exit code 255" in (result.failure_message or "")
