"""Out of memory is an outcome: a real host OOM in a real worker is stored with cause `oom`, not `crash`.

The worker runs under an address-space limit (RLIMIT_AS, `ulimit -v`), so the trial's one huge allocation
fails the same way on any machine, whatever its RAM and overcommit policy, and nothing is ever touched.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.worker_client import WorkerClient
from engine.runner import classify
from tests.engine.conftest import WORKER_ENV

ADDRESS_SPACE_KB = 32 * 1024 * 1024  # 32 GiB: the model loads, a 400 GB static KV cache cannot

# A static KV cache of 4096 requests × (8 + 131072) positions: one 412 GB tensor per layer, allocated at the
# first layer of the first forward, before any real compute.
HUGE_CACHE: dict[str, Any] = {
    "engine": "hf-generate", "model": "demo", "batch_size": 4096, "num_requests": 4096, "warmup_requests": 0,
    "repetitions": 1, "input_tokens": 8, "output_tokens": 131072, "cache_implementation": "static",
    "idle_baseline_s": 0.0, "telemetry_hz": 2.0,
}


def limited_python(folder: Path) -> str:
    """A Python launcher that runs this interpreter under RLIMIT_AS (the worker's real memory limit)."""
    path = folder / "python-limited"
    path.write_text(f'#!/bin/sh\nulimit -v {ADDRESS_SPACE_KB}\nexec "{sys.executable}" "$@"\n')
    path.chmod(0o755)
    return str(path)


@pytest.fixture(scope="module")
def limited_client(demo_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerClient]:
    client = WorkerClient(limited_python(tmp_path_factory.mktemp("python")), env=WORKER_ENV)
    client.start()
    yield client
    client.close()


def test_a_host_allocation_failure_in_the_worker_is_oom(limited_client: WorkerClient) -> None:
    result = limited_client.run_trial(HUGE_CACHE)
    assert result.status == "failed" and result.failure_cause == "oom", result.failure_message
    assert "can't allocate memory" in (result.failure_message or "")
    assert any(n.startswith("traceback:") for n in result.notes)
    # the worker survives its OOM and runs the next trial
    ok = limited_client.run_trial({**HUGE_CACHE, "batch_size": 1, "num_requests": 1, "output_tokens": 2,
                                   "cache_implementation": "dynamic"})
    assert ok.status == "ok", ok.failure_message


def test_out_of_memory_errors_map_to_oom_and_others_to_crash() -> None:
    import torch

    for exc in (MemoryError(), torch.OutOfMemoryError("CUDA out of memory"),
                RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"),
                RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 9 bytes. Error code "
                             "12 (Cannot allocate memory)")):
        assert classify(exc)[0] == "oom", exc
    assert classify(RuntimeError("shape mismatch"))[0] == "crash"
