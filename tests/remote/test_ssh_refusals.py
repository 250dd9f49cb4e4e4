"""Over a real sshd: a host key that is not the recorded one is refused with the exact fix, and a failed
login is named as such; nothing is started and no password is ever asked for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.core.transport import SshTransport
from app.core.worker_client import WorkerClient, WorkerStartError
from app.store import Store
from engine.causes import FailureCause
from tests.remote.conftest import HOST, SshServer


def _start(server: SshServer) -> WorkerStartError:
    client = WorkerClient(transport=SshTransport(HOST, sys.executable, ssh_config=server.ssh_config))
    with pytest.raises(WorkerStartError) as caught:
        client.start(timeout_s=60)
    return caught.value


def test_a_changed_host_key_is_refused_with_the_ssh_keygen_fix(ssh_server: SshServer, tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True, timeout=30)
    ssh_server.known_hosts.write_text(f"[127.0.0.1]:{ssh_server.port} {Path(f'{other}.pub').read_text()}")
    error = _start(ssh_server)
    assert error.cause is FailureCause.CONNECTION_LOST
    assert "host key has CHANGED" in str(error)
    assert f"ssh-keygen -f {ssh_server.known_hosts} -R '[127.0.0.1]:{ssh_server.port}'" in str(error)


def test_an_unknown_host_key_is_refused_with_the_ssh_keyscan_fix(ssh_server: SshServer) -> None:
    ssh_server.known_hosts.write_text("")
    error = _start(ssh_server)
    assert error.cause is FailureCause.CONNECTION_LOST
    assert f"ssh-keyscan -p {ssh_server.port} 127.0.0.1 >> {ssh_server.known_hosts}" in str(error)


def test_a_failed_login_is_named_and_no_password_is_asked(ssh_server: SshServer) -> None:
    text = ssh_server.ssh_config.read_text()
    ssh_server.ssh_config.write_text(text.replace("User ", "User inferlab-nobody-"))
    error = _start(ssh_server)
    assert error.cause is FailureCause.CONNECTION_LOST
    assert "could not log in to testhost" in str(error) and "Permission denied" in str(error)
    assert "never asks for a password" in str(error)


def test_a_profile_naming_a_host_sends_the_cli_there(ssh_server: SshServer, tmp_path: Path) -> None:
    ssh_server.known_hosts.write_text("")  # refused at once: proves where the CLI went, without a trial
    profile = tmp_path / "remote.toml"
    profile.write_text(f'name = "remote"\nengine = "hf-generate"\nmodel = "demo"\nhost = "{HOST}"\n'
                       "[options]\ndevice = \"cpu\"\noutput_tokens = 2\n")
    store = f"sqlite:///{tmp_path / 'store.db'}"
    done = subprocess.run([sys.executable, "-m", "app.cli.main", "run", str(profile), "--store", store,
                           "--python", sys.executable, "--ssh-config", str(ssh_server.ssh_config)],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 1, done.stderr
    with Store(store) as opened:
        (run,) = opened.list_runs()
        sweep = opened.get_sweep(run.sweep_id)
    assert run.failure_cause == FailureCause.CONNECTION_LOST and "ssh-keyscan" in (run.failure_message or "")
    assert sweep.status == "failed"
