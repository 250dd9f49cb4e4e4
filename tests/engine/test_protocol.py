"""The worker speaks the protocol on a protected stdout: hello, run → result, errors with fields."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.protocol import PROTOCOL_VERSION, ProtocolError, decode, encode

REPO = Path(__file__).resolve().parents[2]


def test_encode_decode_round_trip_and_version_check() -> None:
    line = encode("run", id="a", config={"engine": "hf-generate"})
    assert line.endswith("\n") and "\n" not in line[:-1]
    assert decode(line) == {"v": PROTOCOL_VERSION, "type": "run", "id": "a", "config": {"engine": "hf-generate"}}
    with pytest.raises(ProtocolError, match="version"):
        decode('{"v": 999, "type": "run"}')
    with pytest.raises(ProtocolError, match="not JSON"):
        decode("Loading weights 100%")


def test_library_prints_never_reach_the_protocol_stream() -> None:
    code = ("import os, engine.worker as w; p = w.protect_stdout(); print('library noise'); "
            "os.write(1, b'raw fd noise\\n'); p.write('PROTO\\n'); p.flush()")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert out.stdout == "PROTO\n"
    assert "library noise" in out.stderr and "raw fd noise" in out.stderr


def _worker() -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "INFERLAB_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "engine"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=env, cwd="/")


def _next(proc: subprocess.Popen[str], kind: str) -> dict:
    assert proc.stdout is not None
    for line in proc.stdout:
        msg = decode(line)  # every line on the protocol stream must be a valid message
        if msg["type"] == kind:
            return msg
    raise AssertionError(f"worker closed its stream before a {kind!r} message")


def test_raw_protocol_hello_invalid_run_and_shutdown(demo_model_dir: Path) -> None:
    proc = _worker()
    try:
        hello = _next(proc, "hello")
        assert hello["protocol"] == PROTOCOL_VERSION and hello["pid"] == proc.pid
        assert hello["backends"]["hf-generate"]["available"] is True
        assert proc.stdin is not None
        proc.stdin.write(encode("run", id="bad", config={"engine": "hf-generate", "batch_size": 0}))
        proc.stdin.write('{"v": 1, "type": "teleport"}\n')
        proc.stdin.flush()
        seen = {}
        assert proc.stdout is not None
        while len(seen) < 2:
            msg = decode(proc.stdout.readline())
            if msg["type"] in ("result", "error"):
                seen[msg["type"]] = msg
        result = seen["result"]["result"]
        assert result["status"] == "failed" and result["failure_cause"] == "invalid-config"
        assert "batch_size" in result["failure_message"] and "[1, 4096]" in result["failure_message"]
        assert seen["error"]["cause"] == "protocol" and "teleport" in seen["error"]["message"]
        proc.stdin.write(encode("shutdown"))
        proc.stdin.flush()
        _next(proc, "bye")
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
