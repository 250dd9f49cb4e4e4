"""The fastest honest baseline InferLab's throughput is compared with: a hand-timed `model.generate`
loop in the calling process, under `torch.inference_mode()`, with no streamer, on the same model
folder, dtype, cache, prompts and compute threads as an InferLab trial config. Used by
bench/engine_fidelity.py and bench/gpu_check.py.

Decode throughput = batch × (N − 1) / (time of an N-token generate − time of a 1-token generate),
i.e. the time after the first token, like InferLab's decode_tokens_per_s.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from engine import environment, workloads
from engine.backends import hf_common
from engine.config import TrialConfig
from engine.models.resolve import resolve


class BareLoop:
    """One batch of `batch_size` prompts of the trial `config` (a flat InferLab config), generated
    greedily for exactly `output_tokens` tokens."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        trial = TrialConfig.from_flat(config)
        c = trial.common
        torch.set_num_threads(environment.compute_threads())
        path = str(resolve(c.model).path)
        self.torch = torch
        self.device = hf_common.device_of(trial)
        self.batch, self.new_tokens = c.batch_size, c.output_tokens
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=c.dtype).to(self.device).eval()
        self.cache = {"cache_implementation": "static"} \
            if getattr(trial.engine_options, "cache_implementation", "dynamic") == "static" else {}
        requests = workloads.build(trial, self.tokenizer, self.batch)
        self.inputs = self.tokenizer([r.prompt for r in requests], return_tensors="pt", padding=True,
                                     add_special_tokens=False).to(self.device)

    def generate_s(self, new_tokens: int) -> float:
        """Seconds of one generate call of exactly `new_tokens` tokens (device work included)."""
        hf_common.synchronize(self.device)
        t = time.perf_counter()
        with self.torch.inference_mode():
            self.model.generate(**self.inputs, max_new_tokens=new_tokens, min_new_tokens=new_tokens,
                                do_sample=False, pad_token_id=self.tokenizer.pad_token_id, **self.cache)
        hf_common.synchronize(self.device)
        return time.perf_counter() - t

    def repetition(self) -> tuple[float, float]:
        """(decode tok/s, output tok/s) of one repetition."""
        first = self.generate_s(1)
        full = self.generate_s(self.new_tokens)
        return self.batch * (self.new_tokens - 1) / (full - first), self.batch * self.new_tokens / full

    def close(self) -> None:
        """Free the model (and its device memory)."""
        self.model = self.inputs = None
        hf_common.free_memory(self.device)
