"""The transformers backends generate under torch.inference_mode (faster than no_grad), so InferLab is
measured against the fastest honest loop rather than a slower one."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import torch

from engine import registry, workloads
from engine.config import TrialConfig
from tests.engine.conftest import tiny


@pytest.mark.parametrize("engine", ["hf-generate", "hf-pipeline"])
def test_every_forward_of_a_trial_runs_in_inference_mode(engine: str, demo_model_dir: Path) -> None:
    config = TrialConfig.from_flat(tiny(engine=engine, num_requests=2, output_tokens=3))
    backend = registry.backend_class(engine)(config)
    backend.load()
    modes: list[bool] = []

    def record_mode(*_: Any) -> None:
        modes.append(torch.is_inference_mode_enabled())

    handle = backend.model.register_forward_pre_hook(record_mode)
    try:
        requests = workloads.build(config, backend.tokenizer(), 2)
        records = backend.run(config, requests, 0, 0.0, threading.Event(), lambda _done: None)
    finally:
        handle.remove()
        backend.unload()
    assert [r.output_tokens for r in records] == [3, 3]
    assert len(modes) >= 3 and all(modes), modes
