"""A self-speculative draft built from the demo model's first layers drives real assisted generation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.core.worker_client import WorkerClient
from tests.engine.conftest import tiny

ROOT = Path(__file__).resolve().parents[2]


def test_draft_command_builds_a_truncated_demo_and_assisted_generation_runs_with_it(
        client: WorkerClient, demo_model_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / demo_model_dir.name).symlink_to(demo_model_dir)
    env = {**os.environ, "INFERLAB_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "engine.models", "draft", "--layers", "4"], env=env,
                          capture_output=True, text=True, timeout=600, check=True)
    event = json.loads(done.stdout.splitlines()[-1])
    assert event["event"] == "draft" and event["layers"] == 4
    folder = Path(event["path"])
    assert folder == tmp_path / "models" / f"{demo_model_dir.name}-draft-4L"
    assert json.loads((folder / "config.json").read_text())["num_hidden_layers"] == 4
    refused = subprocess.run([sys.executable, "-m", "engine.models", "draft", "--layers", "30"], env=env,
                             capture_output=True, text=True, timeout=600)
    assert refused.returncode == 1 and "between 1 and 29" in json.loads(refused.stdout.splitlines()[-1])["message"]

    result = client.run_trial(tiny(speculative="draft", draft_model=str(folder), batch_size=1, num_requests=2,
                                   repetitions=1, output_tokens=12, quality_guard=True))
    assert result.status == "ok", result.failure_message
    # An untrained 4-of-30-layer draft is rarely right (~0.2 % of its proposals were accepted on the demo):
    # the figures must be measured, not high.
    rate = result.metrics["spec_acceptance_rate"]
    assert rate.status == "measured" and 0.0 <= rate.value <= 1.0 and rate.n
    assert result.metrics["spec_mean_accepted_tokens"].status == "measured"
    assert result.value("quality_agreement") == 1.0  # greedy assisted generation keeps the target's output
