"""The study's workload options on the demo model: prompt order and the per-batch median throughput."""

from __future__ import annotations

import json
from pathlib import Path

from app.core.worker_client import WorkerClient
from tests.engine.conftest import tiny

WORDS = ("alpha", "beta gamma delta epsilon zeta eta theta", "iota kappa", "lambda mu nu xi omicron",
         "pi rho sigma tau upsilon phi chi psi omega one two three")


def _sent_lengths(client: WorkerClient, prompt_file: Path, **options: object) -> list[int]:
    """Prompt lengths of the measured requests in the order they were sent (one per batch)."""
    result = client.run_trial(tiny(workload="jsonl", prompt_file=str(prompt_file), batch_size=1, num_requests=5,
                                   warmup_requests=0, repetitions=1, output_tokens=2, **options))
    assert result.status == "ok", result.failure_message
    records = sorted(result.requests, key=lambda r: r.start_s)
    assert [r.index for r in records] == list(range(5))  # the index is the place in the order sent
    return [r.input_tokens for r in records]


def test_prompt_order_given_sorted_shuffled(client: WorkerClient, tmp_path: Path) -> None:
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps({"prompt": w}) + "\n" for w in WORDS))
    given = _sent_lengths(client, path)
    assert given != sorted(given)  # the file is not in length order
    assert _sent_lengths(client, path, prompt_order="sorted") == sorted(given)
    shuffled = _sent_lengths(client, path, prompt_order="shuffled", seed=3)
    assert sorted(shuffled) == sorted(given) and shuffled != given
    assert _sent_lengths(client, path, prompt_order="shuffled", seed=3) == shuffled  # the seed fixes the order
    result = client.run_trial(tiny(prompt_order="sorted", repetitions=1))
    assert result.config["prompt_order"] == "sorted"
    assert any("prompt order sorted" in n for n in result.notes)


def test_batch_median_throughput_per_generate_call(client: WorkerClient) -> None:
    for engine in ("hf-generate", "hf-pipeline"):
        result = client.run_trial(tiny(engine=engine, num_requests=5, batch_size=2, repetitions=2))
        assert result.status == "ok", result.failure_message
        m = result.metrics["batch_median_output_tokens_per_s"]
        assert m.status == "measured" and m.n == 6, (engine, m)  # batches of 2, 2, 1 in each of 2 repetitions
        assert "median over 6 batches of 2 repetition(s)" in m.method
        # a batch's wall time leaves out the gaps between batches: near the window's throughput, not below half
        window = result.value("output_tokens_per_s")
        assert window is not None and m.value is not None and 0.5 * window < m.value < 3 * window, (engine, m, window)


def test_batch_median_is_unavailable_without_batch_calls() -> None:
    from engine.meters.latency import Repetition, batch_median_metric
    from engine.results import RequestRecord

    records = [RequestRecord(0, i, 16, 6, 0.01 * i, 0.02 * i + 0.05, 0.5 + 0.01 * i) for i in range(4)]
    m = batch_median_metric([Repetition(records, 0.6)], "openai")["batch_median_output_tokens_per_s"]
    assert m.status == "unavailable" and m.value is None and "openai" in m.method
