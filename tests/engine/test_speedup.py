"""A speculative trial with `speedup_baseline` measures its speed-up per request against a baseline pass
of the same config without speculation, and the figure sits beside the speculation metrics in reports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.core.worker_client import WorkerClient
from app.reports.model import build_report, ordered_metric_names
from app.store import Store
from engine.config import TrialConfig
from engine.speedup import baseline_config
from tests.engine.conftest import tiny

SPECULATIVE = tiny(speculative="prompt-lookup", batch_size=1, num_requests=3, repetitions=2, workload="chat",
                   input_tokens=48, output_tokens=12, speedup_baseline=True)


def test_baseline_is_the_same_config_without_speculation() -> None:
    config = TrialConfig.from_flat(tiny(speculative="draft", draft_model="demo", batch_size=1,
                                        speedup_baseline=True))
    flat = baseline_config(config).to_flat()
    assert flat == {**config.to_flat(), "speculative": "none", "draft_model": None, "speedup_baseline": False}


def test_speculative_trial_records_its_per_request_speedup(client: WorkerClient, tmp_path: Path) -> None:
    events: list[dict[str, Any]] = []
    result = client.run_trial(SPECULATIVE, on_event=events.append)
    assert result.status == "ok", result.failure_message
    speedup = result.metrics["spec_speedup"]
    assert speedup.status == "measured" and speedup.value is not None and speedup.value > 0
    assert speedup.n == 3 * 2  # every request of every repetition paired with its baseline run
    assert "speculative='none'" in speedup.method and "per output token" in speedup.method
    assert [e for e in events if e["type"] == "progress" and e["phase"] == "baseline"]
    with Store(f"sqlite:///{tmp_path / 'runs.db'}") as store:
        detail = store.get_run(store.add_run(result))
    names = ordered_metric_names([detail])
    assert names.index("spec_speedup") == names.index("spec_mean_accepted_tokens") + 1
    metrics_table = build_report([detail]).section("metrics")
    assert metrics_table is not None and "Speculative speed-up" in json.dumps(metrics_table, default=str)


def test_non_speculative_trial_says_there_is_nothing_to_compare(client: WorkerClient) -> None:
    result = client.run_trial(tiny(num_requests=2, repetitions=1, speedup_baseline=True))
    assert result.status == "ok", result.failure_message
    speedup = result.metrics["spec_speedup"]
    assert speedup.status == "unavailable" and "not speculative" in speedup.method
