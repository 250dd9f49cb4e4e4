"""What the two transformers backends share: model, tokenizer, draft model and speculative counter,
and every Backend method that does not depend on how generation is called. Subclasses add `run`."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any, ClassVar

from engine.backends import hf_common
from engine.backends.base import Backend, LoadInfo
from engine.config import TrialConfig
from engine.errors import UnsupportedError
from engine.results import Measurement


class HFBackend(Backend):
    """A transformers model loaded once; `run` (in the subclass) calls generate or a pipeline on it."""

    ttft_method: ClassVar[str] = hf_common.STREAMER_TTFT_METHOD

    @classmethod
    def check(cls, config: TrialConfig) -> None:
        hf_common.check_common(config)
        if hf_common.kv_cache_dtype_of(config) != "auto":
            if config.common.speculative != "none":
                raise UnsupportedError("kv_cache_dtype", "a quantized KV cache is transformers' QuantizedCache, "
                                       "which assisted generation cannot crop: use speculative='none'")
            if importlib.util.find_spec("optimum.quanto") is None:
                raise UnsupportedError("kv_cache_dtype", "a quanto-quantized KV cache needs optimum-quanto "
                                       "(not installed)")

    def __init__(self, config: TrialConfig) -> None:
        super().__init__(config)
        self.model: Any = None
        self._tokenizer: Any = None
        self.draft: Any = None
        self.device = "cpu"
        self._gaps_ms: list[float] = []
        self._batch_sizes: list[int] = []
        self._spec: hf_common.SpecCounter | None = None
        self._kv_bytes: list[int] = []  # KV cache bytes after each generate call of the last repetition

    def load(self) -> LoadInfo:
        """The model and tokenizer, plus the draft model (speculative='draft') and the acceptance
        counter (any speculation)."""
        self.model, self._tokenizer, info = hf_common.load(self.config)
        self.device = info.resolved["device"]
        speculative = self.config.common.speculative
        if speculative == "draft":
            self.draft = hf_common.load_draft(self.config, self.device, self.model.dtype)
        if speculative != "none":
            self._spec = hf_common.SpecCounter(self.model)
        return info

    def tokenizer(self) -> Any:
        return self._tokenizer

    def output_token_counting(self) -> tuple[str, bool]:
        return ("generated token ids per request, up to and including the EOS token where a request stops on "
                "it (the EOS token is counted)"), False

    def batch_sizes(self) -> list[int]:
        return self._batch_sizes

    def inter_token_gaps_ms(self) -> list[float]:
        return self._gaps_ms

    def extra_metrics(self) -> dict[str, Measurement]:
        metrics = self._spec.metrics() if self._spec is not None else {}
        if self._kv_bytes:
            kind = hf_common.kv_cache_dtype_of(self.config)
            metrics["kv_cache_bytes"] = Measurement.measured(
                max(self._kv_bytes), "B", "largest, over the last repetition's generate calls, sum of the KV cache "
                f"tensors' bytes after the call (kv_cache_dtype {kind!r}: keys and values"
                + (", quantized data and scales, and the full-precision residual)" if kind != "auto" else ")"),
                n=len(self._kv_bytes))
        return metrics

    def greedy_token_ids(self, prompts: Sequence[str], max_new_tokens: int) -> list[list[int]] | None:
        return hf_common.greedy_token_ids(self.model, self._tokenizer, self.draft, self.config, prompts,
                                          max_new_tokens, self.device)

    def perplexity(self, text: str) -> float | None:
        return hf_common.perplexity(self.model, self._tokenizer, text, self.device,
                                    self.config.common.quantization)

    def unload(self) -> None:
        if self._spec is not None:
            self._spec.close()
        self.model = self.draft = self._tokenizer = self._spec = None
        hf_common.free_memory(self.device)
