"""hf-pipeline takes the quantized KV cache hf-generate has, and measures the cache's bytes from the
cache the pipeline's own generate calls leave (the pipeline itself drops it)."""

from __future__ import annotations

from app.core.worker_client import WorkerClient
from tests.engine.conftest import tiny

# The demo model: 30 layers × 3 KV heads × 64 dims, keys and values.
KV_FLOATS_PER_TOKEN = 30 * 3 * 64 * 2


def test_pipeline_quantized_kv_cache_bytes_are_measured_against_the_default_cache(client: WorkerClient) -> None:
    base = tiny(engine="hf-pipeline", dtype="float32", input_tokens=64, num_requests=2, repetitions=1)
    default = client.run_trial(base)
    int4 = client.run_trial({**base, "kv_cache_dtype": "quanto-int4", "quality_guard": True})
    assert default.status == int4.status == "ok", (default.failure_message, int4.failure_message)
    full, packed = default.metrics["kv_cache_bytes"], int4.metrics["kv_cache_bytes"]
    assert full.status == packed.status == "measured" and "quantized data and scales" in packed.method
    assert full.n == packed.n == 1  # one generate call: both requests in one batch
    fed = max(r.input_tokens for r in default.requests)
    # float32 keys and values of the padded batch; the last new token is never fed back
    assert full.value == 2 * (fed + base["output_tokens"] - 1) * KV_FLOATS_PER_TOKEN * 4
    assert packed.value < 0.5 * full.value
    assert int4.metrics["quality_agreement"].status == "measured"
    assert int4.config["kv_cache_dtype"] == "quanto-int4"


def test_pipeline_quantized_kv_cache_with_speculation_is_refused(client: WorkerClient) -> None:
    result = client.run_trial(tiny(engine="hf-pipeline", kv_cache_dtype="quanto-int2", speculative="prompt-lookup",
                                   batch_size=1))
    assert result.status == "failed" and result.failure_cause == "unsupported"
    assert result.failure_message.startswith("kv_cache_dtype: ") and "QuantizedCache" in result.failure_message
