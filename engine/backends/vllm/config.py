"""Options of the `vllm` backend (offline `vllm.LLM`): the engine arguments that shape throughput."""

from __future__ import annotations

import dataclasses

from engine.schema import option


@dataclasses.dataclass(frozen=True)
class Options:
    gpu_memory_utilization: float = option(0.3, "Fraction of device memory for weights + KV cache (on CPU: "
                                           "of RAM for the KV cache).", min=0.01, max=1.0, load_time=True)
    max_num_seqs: int | None = option(None, "Most sequences scheduled at once (None: vLLM's default).",
                                      min=1, max=65536, load_time=True)
    max_num_batched_tokens: int | None = option(None, "Token budget per scheduler step (None: default).",
                                                min=1, max=10_000_000, load_time=True)
    enable_chunked_prefill: bool | None = option(None, "Chunked prefill (None: vLLM's default).", load_time=True)
    enable_prefix_caching: bool = option(False, "Prefix caching (off by default here: it flatters "
                                         "repeated prompts).", load_time=True)
    enforce_eager: bool = option(False, "Skip graph capture/compilation.", load_time=True)
    tensor_parallel_size: int | None = option(None, "GPUs each layer is sharded over (None: num_gpus / "
                                              "pipeline_parallel_size; tensor × pipeline must equal num_gpus).",
                                              min=1, max=64, load_time=True)
    pipeline_parallel_size: int = option(1, "Pipeline stages the layers are split into, each on its own "
                                         "tensor-parallel group of GPUs.", min=1, max=64, load_time=True)
    kv_cache_dtype: str = option("auto", "KV cache precision.", choices=("auto", "fp8", "fp8_e4m3", "fp8_e5m2",
                                 "bfloat16"), load_time=True, advanced=True)
    max_model_len: int | None = option(None, "Context length (None: the model's).", min=16, max=10_000_000,
                                       load_time=True)
    kv_cache_memory_bytes: int | None = option(None, "Explicit KV cache size; overrides the KV sizing from "
                                               "gpu_memory_utilization (None: sized from it).", min=1 << 20,
                                               max=1 << 50, unit="B", load_time=True, advanced=True)
    n: int = option(1, "Completions per prompt (SamplingParams.n).", min=1, max=128)
