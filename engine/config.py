"""The trial configuration: what one measured trial runs, validated before anything loads.

A trial has options common to every engine (this module) and options of its engine (the dataclass in
`engine/backends/<name>/config.py`). Sweeps, profiles and the GUI address both by flat name
(`batch_size`, `max_num_seqs`), so `TrialConfig.from_flat` and `to_flat` are the one way in and out.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from engine import registry, rules
from engine.errors import ConfigError
from engine.schema import OptionInfo, build, option, options_of, to_dict

QUANTIZATION_CHOICES = ("none", "int8-weight", "int4-weight", "torchao-int8-weight", "torchao-int8-dynamic",
                        "torchao-int4-weight", "bnb-8bit", "bnb-4bit", "fp8", "awq", "gptq")
PROMPT_ORDERS = ("given", "sorted", "shuffled")
SPECULATIVE_CHOICES = ("none", "draft", "prompt-lookup", "ngram", "eagle")


@dataclasses.dataclass(frozen=True)
class CommonOptions:
    """Options every engine understands (an engine refuses those it cannot honour, with the reason)."""

    model: str = option("demo", "Model: 'demo' (built-in SmolLM2-135M), a local HF folder, a .gguf file, "
                        "or an HF-cache id such as 'org/name' (never downloaded).", load_time=True)
    device: str = option("auto", "Where to run; 'auto' picks CUDA when present.",
                         choices=("auto", "cpu", "cuda"), load_time=True)
    dtype: str = option("auto", "Weight and activation precision; 'auto' keeps the checkpoint's.",
                        choices=("auto", "float32", "bfloat16", "float16"), load_time=True)
    num_gpus: int = option(1, "GPUs the trial uses: CUDA devices 0..num_gpus-1 of the worker (transformers shards "
                           "with device_map='auto', vLLM with tensor × pipeline parallelism).", min=1, max=64,
                           load_time=True)
    gpu_devices: str | None = option(None, "The GPUs to use, as CUDA_VISIBLE_DEVICES takes them: nvidia-smi "
                                     "indices or GPU UUIDs, comma-separated, exactly num_gpus of them (None: the "
                                     "first num_gpus the worker sees).", load_time=True, advanced=True)
    quantization: str = option("none", "Weight quantization; each engine accepts those its hardware runs.",
                               choices=QUANTIZATION_CHOICES, load_time=True)
    trust_remote_code: bool = option(False, "Run code shipped inside the model folder (off unless you trust it).",
                                     load_time=True, advanced=True)
    workload: str = option("synthetic", "Prompts: synthetic (exact input token count), chat-formatted, "
                           "or a JSONL file of your own.", choices=("synthetic", "chat", "jsonl"))
    prompt_file: str | None = option(None, "JSONL prompt file (one {\"prompt\": ...} per line) for workload=jsonl.")
    prompt_order: str = option("given", "Order the measured requests are sent in: as given, sorted by prompt length "
                               "(shortest first, so a batch holds similar lengths), or shuffled with the trial's "
                               "seed.", choices=PROMPT_ORDERS)
    input_tokens: int = option(128, "Prompt length in tokens (synthetic and chat workloads).", min=1,
                               max=131072, unit="tokens")
    output_tokens: int = option(64, "Tokens to generate per request (the maximum, if stopping naturally).",
                                min=1, max=131072, unit="tokens")
    ignore_eos: bool = option(True, "Generate exactly output_tokens (ignore end-of-sequence) for fixed lengths.")
    batch_size: int = option(8, "Requests per generate call (HF), per engine call (vLLM), or in flight "
                             "(server).", min=1, max=4096, unit="requests")
    num_requests: int = option(32, "Measured requests per repetition.", min=1, max=1_000_000, unit="requests")
    warmup_requests: int = option(8, "Requests run before measuring (not recorded).", min=0, max=100_000,
                                  unit="requests")
    repetitions: int = option(3, "Measured repetitions; their median carries a 95% CI of the median from 6 on.",
                              min=1, max=1000)
    temperature: float = option(0.0, "Sampling temperature; 0 means greedy.", min=0.0, max=10.0)
    top_p: float = option(1.0, "Nucleus sampling mass.", min=0.0, max=1.0, advanced=True)
    seed: int = option(0, "Seed for prompts and sampling.", min=0, max=2**31 - 1, advanced=True)
    speculative: str = option("none", "Speculative decoding method.", choices=SPECULATIVE_CHOICES, load_time=True)
    draft_model: str | None = option(None, "Draft model for speculative='draft' (same forms as model).",
                                     load_time=True)
    num_speculative_tokens: int = option(4, "Tokens proposed per speculative step.", min=1, max=64,
                                         load_time=True)
    prompt_lookup_max: int = option(3, "Longest n-gram matched by prompt-lookup/ngram speculation.", min=1,
                                    max=32, load_time=True)
    speedup_baseline: bool = option(False, "For a speculative trial, also run the same requests with "
                                    "speculative='none' after measuring, and record the per-request speed-up "
                                    "(spec_speedup).", advanced=True)
    telemetry_hz: float = option(10.0, "Telemetry sampling rate (0 turns the sampler off).", min=0.0,
                                 max=100.0, unit="Hz", advanced=True)
    idle_baseline_s: float = option(1.0, "Seconds of idle power measured before the model loads (for net energy).",
                                    min=0.0, max=60.0, unit="s", advanced=True)
    quality_guard: bool = option(False, "Compare greedy outputs and perplexity with the reference "
                                 "(float32, unquantized, non-speculative, default KV cache) config.", advanced=True)
    timeout_s: float = option(1800.0, "A trial running longer than this fails with cause 'timeout'.",
                              min=1.0, max=7 * 86400.0, unit="s", advanced=True)


@dataclasses.dataclass(frozen=True)
class TrialConfig:
    """One trial: the engine, the common options and the engine's own options."""

    engine: str
    common: CommonOptions
    engine_options: Any

    @classmethod
    def from_flat(cls, data: Mapping[str, Any]) -> TrialConfig:
        """Validate a flat mapping (`engine` plus any common or engine option) into a TrialConfig; options
        not given take their defaults (an option the engine fixes: its fixed value)."""
        engine = data.get("engine")
        if engine not in registry.engines():
            raise ConfigError("engine", f"got {engine!r}; allowed: one of " + ", ".join(registry.names()))
        engine_cls = registry.options_class(engine)
        common_names = set(options_of(CommonOptions))
        engine_names = set(options_of(engine_cls))
        # An option the engine fixes (registry `fixed`) defaults to its one allowed value.
        rest = {**registry.spec(engine).fixed, **{k: v for k, v in data.items() if k != "engine"}}
        unknown = sorted(set(rest) - common_names - engine_names)
        if unknown:
            raise ConfigError(unknown[0], f"unknown option for engine {engine!r}; known: "
                              + ", ".join([*options_of(CommonOptions), *options_of(engine_cls)]))
        common = build(CommonOptions, {k: v for k, v in rest.items() if k in common_names})
        engine_options = build(engine_cls, {k: v for k, v in rest.items() if k in engine_names})
        config = cls(engine, common, engine_options)
        config.check_consistency()
        return config

    def to_flat(self) -> dict[str, Any]:
        """Flat JSON-ready dict; `from_flat(to_flat())` gives back an equal config."""
        return {"engine": self.engine, **to_dict(self.common), **to_dict(self.engine_options)}

    def load_key(self) -> tuple[tuple[str, Any], ...]:
        """Identity of what is loaded: trials with equal keys share one loaded model."""
        infos = all_options(self.engine)
        return tuple((k, v) for k, v in self.to_flat().items() if k == "engine" or infos[k].load_time)

    def worker_env(self) -> dict[str, str]:
        """Environment variables the worker process must be started with for this trial: `gpu_devices` as
        CUDA_VISIBLE_DEVICES, its indices in PCI bus order (nvidia-smi's numbering); nothing otherwise."""
        if self.common.gpu_devices is None:
            return {}
        listed = ",".join(rules.gpu_device_entries(self.common.gpu_devices))
        return {"CUDA_VISIBLE_DEVICES": listed, "CUDA_DEVICE_ORDER": "PCI_BUS_ID"}

    def check_consistency(self) -> None:
        """Cross-option rules known without loading anything (`engine.rules`)."""
        rules.check(self)


def all_options(engine: str) -> dict[str, OptionInfo]:
    """Every option of a trial on `engine`: common first, then the engine's own."""
    return {**options_of(CommonOptions), **options_of(registry.options_class(engine))}
