"""What a loaded `vllm.LLM` actually runs with, and its speculative-decoding counters.

Effective settings come from the engine's resolved `vllm_config` (vLLM fills in defaults that depend on
context length and device). Speculative acceptance comes from vLLM's aggregate Prometheus-style counters
(`LLM.get_metrics()`), differenced over one run: vLLM 0.32 also has per-request spec metrics
(`per_request_spec_decode_metrics`), but the aggregate counters are what it always exposes offline.
"""

from __future__ import annotations

from typing import Any

from engine.results import Measurement

_SPEC_COUNTERS = ("vllm:spec_decode_num_drafts", "vllm:spec_decode_num_draft_tokens",
                  "vllm:spec_decode_num_accepted_tokens")
_SPEC_METHOD = ("vLLM spec_decode counters differenced over the measured run (aggregate over all "
                "requests; vLLM gives no per-request figure here)")


def settings(llm: Any) -> dict[str, Any]:
    """Effective engine settings read back from `llm.llm_engine.vllm_config`."""
    import vllm
    from vllm.platforms import current_platform

    vc = llm.llm_engine.vllm_config
    sched, cache, model, par = vc.scheduler_config, vc.cache_config, vc.model_config, vc.parallel_config
    blocks = cache.num_gpu_blocks
    spec = vc.speculative_config
    return {
        "vllm_version": vllm.__version__,
        "platform": current_platform.device_type,
        "dtype": str(model.dtype).removeprefix("torch."),
        "max_model_len": model.max_model_len,
        "quantization": model.quantization,
        "max_num_seqs": sched.max_num_seqs,
        "max_num_batched_tokens": sched.max_num_batched_tokens,
        "enable_chunked_prefill": sched.enable_chunked_prefill,
        "async_scheduling": sched.async_scheduling,
        "enable_prefix_caching": cache.enable_prefix_caching,
        "kv_cache_dtype": cache.cache_dtype,
        "kv_cache_block_size_tokens": cache.block_size,
        "kv_cache_blocks": blocks,
        "kv_cache_tokens": None if blocks is None else blocks * cache.block_size,
        "kv_cache_memory_bytes": cache.kv_cache_memory_bytes,
        "gpu_memory_utilization": cache.gpu_memory_utilization,
        "enforce_eager": model.enforce_eager,
        "compilation_mode": str(vc.compilation_config.mode),
        "tensor_parallel_size": par.tensor_parallel_size,
        "pipeline_parallel_size": par.pipeline_parallel_size,
        "speculative_method": None if spec is None else spec.method,
        "num_speculative_tokens": None if spec is None else spec.num_speculative_tokens,
    }


def spec_counters(llm: Any) -> dict[str, float]:
    """Current values of the spec-decode counters (summed over engines); empty if vLLM has none."""
    values: dict[str, float] = {}
    for metric in llm.get_metrics():
        if metric.name in _SPEC_COUNTERS:
            values[metric.name] = values.get(metric.name, 0.0) + float(metric.value)
    return values


def counter_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


def spec_measurements(delta: dict[str, float]) -> dict[str, Measurement]:
    """Acceptance rate and accepted draft tokens per step, or 'unavailable' with the reason."""
    drafts = delta.get("vllm:spec_decode_num_drafts", 0.0)
    proposed = delta.get("vllm:spec_decode_num_draft_tokens", 0.0)
    accepted = delta.get("vllm:spec_decode_num_accepted_tokens", 0.0)
    if not delta:
        reason = "this vLLM exposes no spec_decode counters"
        return {"spec_acceptance_rate": Measurement.unavailable("ratio", reason),
                "spec_mean_accepted_tokens": Measurement.unavailable("tokens", reason)}
    if proposed <= 0 or drafts <= 0:
        reason = "the speculator proposed no draft tokens in this run (no n-gram match)"
        return {"spec_acceptance_rate": Measurement.unavailable("ratio", reason),
                "spec_mean_accepted_tokens": Measurement.unavailable("tokens", reason)}
    return {
        "spec_acceptance_rate": Measurement.measured(accepted / proposed, "ratio",
                                                     "accepted / proposed draft tokens; " + _SPEC_METHOD,
                                                     n=int(proposed)),
        "spec_mean_accepted_tokens": Measurement.measured(
            accepted / drafts, "tokens", "accepted draft tokens per drafting step (bonus token excluded); "
            + _SPEC_METHOD, n=int(drafts)),
    }
