"""Quantized and speculative configs really run, with acceptance and quality figures."""

from __future__ import annotations

from app.core.worker_client import WorkerClient
from tests.engine.conftest import tiny


def test_int8_weight_quantization_runs_with_quality_guard(client: WorkerClient) -> None:
    result = client.run_trial(tiny(quantization="int8-weight", quality_guard=True, num_requests=2, repetitions=1))
    assert result.status == "ok", result.failure_message
    assert result.value("output_tokens_total") == 2 * 6
    assert result.value("model_weights_bytes") < 0.6 * 538e6  # int8 linear weights, fp32 embeddings
    assert any("optimum-quanto" in n for n in result.notes)
    agreement = result.metrics["quality_agreement"]
    assert agreement.status == "measured" and 0.0 <= agreement.value <= 1.0 and agreement.n
    assert result.value("perplexity") > 1.0
    assert 0.8 < result.value("perplexity_ratio") < 1.5


def test_prompt_lookup_reports_acceptance_and_keeps_greedy_output(client: WorkerClient) -> None:
    result = client.run_trial(tiny(speculative="prompt-lookup", batch_size=1, num_requests=2, repetitions=1,
                                   input_tokens=48, output_tokens=16, quality_guard=True))
    assert result.status == "ok", result.failure_message
    assert result.value("output_tokens_total") == 2 * 16
    rate = result.metrics["spec_acceptance_rate"]
    assert rate.status == "measured" and 0.0 <= rate.value <= 1.0 and "forward" in rate.method
    assert result.value("spec_mean_accepted_tokens") >= 0.0
    # speculation must not change greedy output: agreement with the non-speculative reference is total
    assert result.value("quality_agreement") == 1.0
    assert abs(result.value("perplexity_ratio") - 1.0) < 1e-6


def test_reference_config_gets_perplexity_but_no_self_comparison(client: WorkerClient) -> None:
    result = client.run_trial(tiny(quality_guard=True, num_requests=2, repetitions=1))
    assert result.value("perplexity") > 1.0
    assert result.metrics["quality_agreement"].status == "unavailable"
    assert "reference" in result.metrics["quality_agreement"].method
