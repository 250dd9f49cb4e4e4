"""Engine test fixtures: one real worker process shared by a module, tiny trials on the demo model."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.core.worker_client import WorkerClient

# One compute thread: the suite runs on a 2-core runner shared with other work, where two spinning
# OpenMP threads slow a 135M model by ~10x. Figures here are checked for consistency, not speed.
WORKER_ENV = {"INFERLAB_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

TINY: dict[str, Any] = {
    "engine": "hf-generate", "model": "demo", "batch_size": 2, "num_requests": 4, "warmup_requests": 1,
    "repetitions": 2, "input_tokens": 16, "output_tokens": 6, "telemetry_hz": 20.0, "idle_baseline_s": 0.0,
}


def tiny(**overrides: Any) -> dict[str, Any]:
    """A tiny trial config (seconds on the demo model) with overrides."""
    return {**TINY, **overrides}


@pytest.fixture(scope="module")
def client(demo_model_dir: Any) -> Iterator[WorkerClient]:
    """A started worker shared by the tests of one module."""
    c = WorkerClient(env=WORKER_ENV)
    c.start()
    yield c
    c.close()
