"""A real OpenSSH server on 127.0.0.1 for the remote-worker tests (the "remote host" is this machine)
and bench/remote_overhead.py.

Everything lives in a temp dir: host and user keys, authorized_keys, the server's config and pid file,
the client's config and known_hosts. The real ~/.ssh is never read or written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SSHD = "/usr/sbin/sshd"
HOST = "testhost"  # the alias in the client config


@dataclasses.dataclass
class SshServer:
    port: int
    proc: subprocess.Popen[bytes]
    ssh_config: Path
    known_hosts: Path
    host_key: Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True, timeout=30)


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited at start: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("sshd did not listen within 15 s")


def have_openssh() -> bool:
    return os.path.exists(SSHD) and shutil.which("ssh") is not None


@pytest.fixture()
def ssh_server(tmp_path: Path) -> Iterator[SshServer]:
    """sshd -D on a free loopback port, key login only, and a client config naming it `testhost`."""
    if not have_openssh():
        pytest.skip("needs OpenSSH (apt-get install openssh-server openssh-client; scripts/system-deps.sh)")
    with loopback_sshd(tmp_path) as server:
        yield server


@contextlib.contextmanager
def loopback_sshd(tmp_path: Path) -> Iterator[SshServer]:
    """Start sshd on 127.0.0.1 with everything under `tmp_path/ssh`; stop it on exit."""
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege-separation dir (root only)
    root = tmp_path / "ssh"
    root.mkdir()
    host_key, user_key = root / "host_key", root / "user_key"
    _keygen(host_key)
    _keygen(user_key)
    (root / "authorized_keys").write_text(Path(f"{user_key}.pub").read_text())
    port = _free_port()
    (root / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nAuthorizedKeysFile {root}/authorized_keys\n"
        f"PidFile {root}/sshd.pid\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nLogLevel ERROR\n")
    known_hosts = root / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {Path(f'{host_key}.pub').read_text()}")
    config = root / "ssh_config"
    config.write_text(
        f"Host {HOST}\n  HostName 127.0.0.1\n  Port {port}\n  User {getpass.getuser()}\n"
        f"  IdentityFile {user_key}\n  IdentitiesOnly yes\n  IdentityAgent none\n"
        f"  UserKnownHostsFile {known_hosts}\n  GlobalKnownHostsFile /dev/null\n")
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(root / "sshd_config")], stderr=subprocess.PIPE)
    try:
        _wait_listening(port, proc)
    except RuntimeError:
        proc.kill()
        raise
    try:
        yield SshServer(port, proc, config, known_hosts, host_key)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
