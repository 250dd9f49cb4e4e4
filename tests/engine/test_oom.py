"""Out of memory is an outcome: a real host OOM in a real worker (`tests.memory_limit`) is stored with
cause `oom`, not `crash`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.worker_client import WorkerClient
from engine.runner import classify
from tests.engine.conftest import WORKER_ENV
from tests.memory_limit import HUGE_CACHE, limited_python


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
