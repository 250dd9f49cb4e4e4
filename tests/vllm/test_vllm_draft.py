"""vLLM draft-model speculation on CPU with the demo's self-speculative draft (its first decoder layers,
built by `python -m engine.models draft`), at batch size > 1, with vLLM's acceptance counters and the
per-request speed-up against the same config without speculation.

Two engines load here (the speculative one, then the baseline): a few minutes on two cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.worker_client import WorkerClient
from tests.vllm.test_vllm_offline import BASE

pytestmark = [pytest.mark.vllm, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
DRAFT_LAYERS = 4
SPEC_TOKENS = 3


@pytest.fixture(scope="module")
def draft_model(demo_model_dir: Path) -> str:
    """The demo's first-4-layer draft, built (or found) by the engine's own command in a child process:
    building imports transformers, which never enters the test process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "engine.models", "draft", "--layers", str(DRAFT_LAYERS)],
                          env=env, capture_output=True, text=True, timeout=600, check=True)
    return str(json.loads(done.stdout.splitlines()[-1])["path"])


def test_draft_model_speculation_runs_batched_with_acceptance_and_speedup(demo_model_dir: Path,
                                                                           draft_model: str) -> None:
    config = {**BASE, "speculative": "draft", "draft_model": draft_model, "num_speculative_tokens": SPEC_TOKENS,
              "workload": "chat", "input_tokens": 48, "output_tokens": 16, "batch_size": 4, "num_requests": 8,
              "speedup_baseline": True}
    client = WorkerClient(heartbeat_timeout_s=120.0)
    client.start(timeout_s=180)
    try:
        result = client.run_trial(config)
    finally:
        client.close()
    assert result.status == "ok", result.failure_message
    runtime = result.environment["runtime"]
    assert runtime["speculative_method"] == "draft_model" and runtime["num_speculative_tokens"] == SPEC_TOKENS
    assert result.environment["model"]["speculative_config"]["model"] == draft_model
    assert all(r.output_tokens == 16 for r in result.requests) and len(result.requests) == 8
    # The untrained 4-of-30-layer draft is rarely right: the figures must be measured, not high.
    rate, accepted = result.metrics["spec_acceptance_rate"], result.metrics["spec_mean_accepted_tokens"]
    assert rate.status == "measured" and 0.0 <= rate.value <= 1.0 and "spec_decode counters" in rate.method
    assert accepted.status == "measured" and 0.0 <= accepted.value <= SPEC_TOKENS
    speedup = result.metrics["spec_speedup"]
    assert speedup.status == "measured" and speedup.value > 0 and speedup.n == 8
