"""Quantized and speculative configs really run, with acceptance and quality figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
    result = client.run_trial(tiny(quality_guard=True, num_requests=2, repetitions=1, dtype="float32"))
    assert result.value("perplexity") > 1.0
    assert result.metrics["quality_agreement"].status == "unavailable"
    assert "reference" in result.metrics["quality_agreement"].method


def test_speculative_itl_has_one_gap_per_decoding_step(client: WorkerClient, tmp_path: Path) -> None:
    # A repetitive prompt the demo model keeps repeating: prompt lookup accepts several tokens per step.
    path = tmp_path / "repeat.jsonl"
    path.write_text(json.dumps({"prompt": "one two three four five six seven eight. " * 6}) + "\n")
    result = client.run_trial(tiny(speculative="prompt-lookup", batch_size=1, num_requests=2, repetitions=1,
                                   workload="jsonl", prompt_file=str(path), output_tokens=24))
    assert result.status == "ok", result.failure_message
    tokens, requests = result.value("output_tokens_total"), len(result.requests)
    assert tokens == 2 * 24 and result.value("spec_mean_accepted_tokens") > 0.5
    # generated = steps × (1 + accepted per step): one gap between successive steps of each request
    steps = round(tokens / (1 + result.value("spec_mean_accepted_tokens")))
    itl = result.metrics["itl_ms_p50"]
    assert itl.n == steps - requests < tokens - requests
    assert itl.value > 0 and "step" in itl.method


def test_reduced_precision_alone_is_compared_with_the_float32_reference(client: WorkerClient) -> None:
    result = client.run_trial(tiny(dtype="bfloat16", quality_guard=True, num_requests=2, repetitions=1))
    assert result.status == "ok", result.failure_message
    agreement = result.metrics["quality_agreement"]
    assert agreement.status == "measured" and 0.0 <= agreement.value <= 1.0 and "float32" in agreement.method
    assert result.metrics["perplexity_ratio"].status == "measured"
    assert 0.8 < result.value("perplexity_ratio") < 1.5


@pytest.mark.parametrize(("scheme", "label", "max_weight_bytes"), [
    ("torchao-int8-weight", "int8 weight-only", 0.6 * 538e6),
    ("torchao-int8-dynamic", "int8 dynamic activation", 0.6 * 538e6),
    ("torchao-int4-weight", "per group of 32", 0.45 * 538e6),
])
def test_torchao_scheme_runs_labelled_with_quality_guard(client: WorkerClient, scheme: str, label: str,
                                                         max_weight_bytes: float) -> None:
    result = client.run_trial(tiny(quantization=scheme, quality_guard=True, num_requests=2, repetitions=1))
    assert result.status == "ok", result.failure_message
    applied = result.environment["model"]["quantization_applied"]
    assert applied.startswith("torchao: ") and label in applied
    assert result.value("model_weights_bytes") < max_weight_bytes  # int linear weights, fp32 embeddings
    agreement = result.metrics["quality_agreement"]
    assert agreement.status == "measured" and 0.0 <= agreement.value <= 1.0
    assert 0.8 < result.value("perplexity_ratio") < 1.5


def test_torchao_int4_refuses_a_model_whose_layers_its_groups_do_not_divide(client: WorkerClient,
                                                                           tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama", "hidden_size": 100,
                                                      "intermediate_size": 256}))
    result = client.run_trial(tiny(model=str(tmp_path), quantization="torchao-int4-weight"))
    assert result.status == "failed" and result.failure_cause == "unsupported"
    assert result.failure_message.startswith("quantization: ") and "hidden_size = 100" in result.failure_message


def test_quantized_kv_cache_bytes_are_measured_against_the_default_cache(client: WorkerClient) -> None:
    base = tiny(dtype="float32", input_tokens=64, num_requests=2, repetitions=1)
    default = client.run_trial(base)
    int4 = client.run_trial({**base, "kv_cache_dtype": "quanto-int4", "quality_guard": True})
    assert default.status == int4.status == "ok", (default.failure_message, int4.failure_message)
    full, packed = default.metrics["kv_cache_bytes"], int4.metrics["kv_cache_bytes"]
    assert full.status == packed.status == "measured" and "quantized data and scales" in packed.method
    # float32 keys and values: 2 requests × (64 + 5) tokens (the last new token is never fed back)
    # × 30 layers × 3 kv heads × 64 dims × 2 (k, v) × 4 bytes
    assert full.value == 2 * 69 * 30 * 3 * 64 * 2 * 4
    assert packed.value < 0.5 * full.value  # the 64-token prompt packed to 4 bits, the 6 new tokens in float
    assert int4.metrics["quality_agreement"].status == "measured"  # not taken for the reference itself


def test_quantized_kv_cache_with_a_static_cache_is_refused(client: WorkerClient) -> None:
    result = client.run_trial(tiny(kv_cache_dtype="quanto-int2", cache_implementation="static"))
    assert result.status == "failed" and result.failure_cause == "unsupported"
    assert result.failure_message.startswith("kv_cache_dtype: ") and "QuantizedCache" in result.failure_message


def test_quanto_int4_weights_run_with_quality_guard(client: WorkerClient) -> None:
    # quanto's packed int4 tensors fail under torch.inference_mode; the trial runs them under no_grad
    result = client.run_trial(tiny(quantization="int4-weight", quality_guard=True, num_requests=2, repetitions=1))
    assert result.status == "ok", result.failure_message
    assert result.value("output_tokens_total") == 2 * 6
    assert result.value("model_weights_bytes") < 0.6 * 538e6
    assert result.metrics["quality_agreement"].status == "measured" and result.value("perplexity") > 1.0
