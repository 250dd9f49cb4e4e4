"""`inferlab sweep --cluster HOST:PORT` on a port where nothing listens fails within its connect timeout,
with a message that names the address and the fix, exit code 2, and nothing written to the store
(Ray alone would retry such an address for minutes)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.cli.exit_codes import Exit
from app.store import Store

pytest.importorskip("ray", reason="the cluster extra (inferlab[cluster]) is not installed")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # free once the socket closes: nothing listens there


def test_a_cluster_address_that_does_not_answer_fails_within_the_timeout(tmp_path: Path) -> None:
    profile = tmp_path / "tiny.toml"
    profile.write_text('name = "tiny"\nengine = "hf-generate"\nmodel = "demo"\n[options]\ndevice = "cpu"\n'
                       "output_tokens = 2\n[axes]\nbatch_size = [1, 2]\n")
    store = f"sqlite:///{tmp_path / 'store.db'}"
    port = _closed_port()
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "app.cli.main", "sweep", str(profile), "--store", store,
                           "--cluster", f"127.0.0.1:{port}", "--cluster-timeout", "5"],
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    assert done.returncode == Exit.USAGE, done.stderr
    assert f"cannot join the Ray cluster at '127.0.0.1:{port}'" in done.stderr
    assert "did not accept a connection within 5 s" in done.stderr and "--cluster-timeout" in done.stderr
    assert elapsed < 60, f"took {elapsed:.0f} s"  # the CLI's own start is most of it; Ray alone: > 2 min
    with Store(store) as opened:
        assert opened.list_runs() == []
