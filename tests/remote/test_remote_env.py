"""Over a real sshd: the remote worker gets its environment variables through its stdin, so no command
line on either machine (here both are this one: every /proc/*/cmdline) carries their values."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import psutil

from app.core.transport import SshTransport
from app.core.worker_client import WorkerClient
from tests.remote.conftest import HOST, SshServer


def _argvs_containing(text: str) -> list[str]:
    """The command lines of every process on this machine that contain `text`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes()
        except OSError:  # the process ended while we looked
            continue
        if text.encode() in argv:
            found.append(argv.replace(b"\0", b" ").decode(errors="replace"))
    return found


def test_a_remote_worker_has_its_env_and_no_argv_shows_it(ssh_server: SshServer, data_dir: Path) -> None:
    secret = f"s3cret-{uuid.uuid4().hex}"
    transport = SshTransport(HOST, sys.executable, ssh_config=ssh_server.ssh_config,
                             env={"INFERLAB_DATA_DIR": str(data_dir)})
    client = WorkerClient(transport=transport, env={"INFERLAB_TEST_SECRET": secret})
    try:
        hello = client.start(timeout_s=120)
        environ = psutil.Process(hello["pid"]).environ()  # the worker runs on the loopback "host"
        assert environ["INFERLAB_TEST_SECRET"] == secret
        assert environ["INFERLAB_DATA_DIR"] == str(data_dir)
        assert _argvs_containing(secret) == []
        assert _argvs_containing("--env-stdin"), "the worker was not started over ssh with its env on stdin"
    finally:
        client.close()
