"""Trial config → `vllm.LLM` keyword arguments, and the refusals checked before anything loads.

Every throughput-shaping engine argument is set explicitly (None only where the option itself says
"vLLM's default", and then the effective value is read back after loading). Arguments the installed
vLLM does not know, or that this platform cannot run, are refused with the reason.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from engine import rules
from engine.config import TrialConfig
from engine.errors import UnsupportedError
from engine.models.resolve import resolve

# Common `quantization` choices → vLLM's `quantization` argument (None: no quantization method).
_QUANTIZATION = {"none": None, "fp8": "fp8", "awq": "awq", "gptq": "gptq"}
_NOT_IN_VLLM = {
    "int8-weight": "vLLM has no on-the-fly int8 weight-only method for an unquantized checkpoint in InferLab; "
                   "use an int8 (compressed-tensors/GPTQ) checkpoint or the hf-* backends",
    "int4-weight": "vLLM quantizes to 4 bits only from a pre-quantized (AWQ/GPTQ) checkpoint; "
                   "choose quantization='awq'/'gptq' with such a model, or the hf-* backends",
    **{name: "torchao schemes are applied at load by the hf-* engines; vLLM runs only checkpoints already "
              "serialized with torchao" for name in ("torchao-int8-weight", "torchao-int8-dynamic",
                                                     "torchao-int4-weight")},
    "bnb-8bit": "bitsandbytes is not a quantization method of this vLLM build (and is CUDA-only)",
    "bnb-4bit": "bitsandbytes is not a quantization method of this vLLM build (and is CUDA-only)",
}


def model_path(config: TrialConfig) -> Path:
    """The safetensors folder vLLM loads (GGUF files are refused: vLLM's GGUF path is experimental)."""
    source = resolve(config.common.model)
    if source.kind == "gguf":
        raise UnsupportedError("model", "the vllm backend loads a safetensors model folder, not a .gguf file "
                               "(use 'demo', a folder or an HF-cache id)")
    return source.path


def speculative_config(config: TrialConfig) -> dict[str, Any] | None:
    """vLLM's `speculative_config` dict for the common speculative options, or None."""
    c = config.common
    if c.speculative in ("ngram", "prompt-lookup"):
        return {"method": "ngram", "num_speculative_tokens": c.num_speculative_tokens,
                "prompt_lookup_max": c.prompt_lookup_max, "prompt_lookup_min": 1}
    if c.speculative == "draft":
        source = resolve(c.draft_model or "", field="draft_model")
        return {"method": "draft_model", "model": str(source.path),
                "num_speculative_tokens": c.num_speculative_tokens}
    if c.speculative == "eagle":
        raise UnsupportedError("speculative", "EAGLE needs a trained EAGLE head checkpoint, which no InferLab "
                               "option names yet (draft_model is reserved for speculative='draft')")
    return None


def llm_kwargs(config: TrialConfig) -> dict[str, Any]:
    """Keyword arguments of `vllm.LLM(...)` for this trial (no vLLM import needed)."""
    c, o = config.common, config.engine_options
    tensor, pipeline = rules.parallel_sizes(config)
    kwargs: dict[str, Any] = {
        "model": str(model_path(config)),
        "dtype": c.dtype,
        "quantization": _QUANTIZATION.get(c.quantization),
        "trust_remote_code": c.trust_remote_code,
        "seed": c.seed,
        "gpu_memory_utilization": o.gpu_memory_utilization,
        "kv_cache_memory_bytes": o.kv_cache_memory_bytes,
        "max_num_seqs": o.max_num_seqs,
        "max_num_batched_tokens": o.max_num_batched_tokens,
        "enable_chunked_prefill": o.enable_chunked_prefill,
        "enable_prefix_caching": o.enable_prefix_caching,
        "enforce_eager": o.enforce_eager,
        "tensor_parallel_size": tensor,
        "pipeline_parallel_size": pipeline,
        "kv_cache_dtype": o.kv_cache_dtype,
        "max_model_len": o.max_model_len,
        "speculative_config": speculative_config(config),
        # Per-request timestamps (RequestOutput.metrics) and the spec-decode counters need stats on.
        "disable_log_stats": False,
    }
    return kwargs


def check(config: TrialConfig) -> None:
    """Refuse what the installed vLLM or this platform cannot run (imports vLLM, loads no weights)."""
    c, o = config.common, config.engine_options
    if c.quantization in _NOT_IN_VLLM:
        raise UnsupportedError("quantization", _NOT_IN_VLLM[c.quantization])
    if o.max_model_len is not None and c.input_tokens + c.output_tokens > o.max_model_len:
        raise UnsupportedError("max_model_len", f"input_tokens + output_tokens = {c.input_tokens + c.output_tokens}"
                               f" exceeds max_model_len = {o.max_model_len}")
    kwargs = llm_kwargs(config)
    _check_known(kwargs)
    _check_platform(config)


def _check_known(kwargs: dict[str, Any]) -> None:
    from vllm.engine.arg_utils import EngineArgs

    known = {f.name for f in dataclasses.fields(EngineArgs)}
    for name in kwargs:
        if name not in known:
            raise UnsupportedError(name, "this vLLM version has no such engine argument")


def _check_platform(config: TrialConfig) -> None:
    from vllm.platforms import current_platform

    c, o = config.common, config.engine_options
    if not current_platform.is_cpu():
        return
    if c.device == "cuda":
        raise UnsupportedError("device", "this vLLM installation runs on the CPU platform (no CUDA build/GPU)")
    if c.num_gpus > 1:
        raise UnsupportedError("num_gpus", f"got {c.num_gpus}; tensor and pipeline parallelism need several GPUs, "
                               "and vLLM runs on the CPU platform here")
    if c.quantization == "fp8":
        raise UnsupportedError("quantization", "vLLM's fp8 weight method has no CPU kernels (CPU platform here)")
    _check_cpu_kv_dtype(o.kv_cache_dtype)


def _check_cpu_kv_dtype(kv_cache_dtype: str) -> None:
    import torch
    from vllm.v1.attention.backends.cpu_attn import CPUAttentionBackend

    supported = CPUAttentionBackend.supported_kv_cache_dtypes
    if kv_cache_dtype not in supported:
        raise UnsupportedError("kv_cache_dtype", f"the vLLM CPU attention backend supports {list(supported)}")
    if kv_cache_dtype.startswith("fp8") and not (torch.cpu._is_avx512_supported()
                                                 or torch.cpu._is_amx_tile_supported()):
        raise UnsupportedError("kv_cache_dtype", "an fp8 KV cache on CPU needs x86 AVX-512 or AMX")
