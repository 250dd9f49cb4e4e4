"""`hf-generate`: transformers `model.generate` on left-padded batches, every decode step timed."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from engine.backends import hf_common
from engine.backends.base import ProgressFn, Request, prompt_text
from engine.backends.hf_base import HFBackend
from engine.config import TrialConfig
from engine.errors import UnsupportedError
from engine.results import RequestRecord


class Backend(HFBackend):
    """Batches of `batch_size` requests, each batch one `generate` call."""

    name: ClassVar[str] = "hf-generate"

    @classmethod
    def check(cls, config: TrialConfig) -> None:
        super().check(config)
        opts = config.engine_options
        if opts.cache_implementation == "static" and config.common.speculative != "none":
            raise UnsupportedError("cache_implementation", "assisted generation needs a croppable (dynamic) cache")
        if opts.kv_cache_dtype != "auto" and opts.cache_implementation != "dynamic":
            raise UnsupportedError("kv_cache_dtype", "a quantized KV cache is transformers' QuantizedCache, a "
                                   "dynamic cache: use cache_implementation='dynamic'")

    def __init__(self, config: TrialConfig) -> None:
        super().__init__(config)
        self._sample_ids: list[Any] = []

    def _texts(self, requests: Sequence[Request]) -> list[str]:
        return [prompt_text(self._tokenizer, r.prompt) for r in requests]

    def _generate_kwargs(self, config: TrialConfig, max_new_tokens: int) -> dict[str, Any]:
        kw = hf_common.generation_kwargs(config, self._tokenizer, max_new_tokens)
        kw["return_dict_in_generate"] = True  # the cache comes back, to measure its bytes
        if config.engine_options.cache_implementation == "static":
            kw["cache_implementation"] = "static"
        if self.draft is not None:
            kw["assistant_model"] = self.draft
        return kw

    def run(self, config: TrialConfig, requests: Sequence[Request], repetition: int, t0: float,
            cancel: threading.Event, progress: ProgressFn) -> list[RequestRecord]:
        self._gaps_ms = []
        if self._spec is not None:
            self._spec.reset()
        stop_ids = hf_common.stop_token_ids(self.model, self._tokenizer, config.common.ignore_eos)
        records: list[RequestRecord] = []
        self._sample_ids = []
        self._kv_bytes = []
        self._batch_sizes = []
        size = config.common.batch_size
        for i in range(0, len(requests), size):
            hf_common.check_cancel(cancel)
            batch = requests[i:i + size]
            start_s = time.perf_counter()
            enc = self._tokenizer(self._texts(batch), return_tensors="pt", padding=True,
                                  add_special_tokens=False).to(self.device)
            recorder = hf_common.StepRecorder(cancel)
            kw = self._generate_kwargs(config, max(r.max_new_tokens for r in batch))
            mark = self._spec.begin_request() if self._spec else None
            with hf_common.grad_free(config.common.quantization):
                generated = self.model.generate(**enc, streamer=recorder, **kw)
            out = generated.sequences
            self._kv_bytes.append(hf_common.kv_cache_bytes(generated.past_key_values))
            del generated
            if not self._sample_ids:  # keep references only; decoded after the window
                self._sample_ids = [out[row, enc["input_ids"].shape[1]:] for row in range(min(2, len(batch)))]
            hf_common.synchronize(self.device, config.common.num_gpus)
            # records carry the token count actually fed (after tokenization)
            lengths = enc["attention_mask"].sum(dim=1).tolist()
            fed = [dataclasses.replace(r, input_tokens=int(n)) for r, n in zip(batch, lengths, strict=True)]
            new = hf_common.records_from_call(recorder.calls[0], fed, repetition, start_s, t0, stop_ids,
                                              self._gaps_ms)
            if self._spec is not None and mark is not None:
                self._spec.end_requests(mark, sum(r.input_tokens for r in new), sum(r.output_tokens for r in new),
                                        len(new))
            records.extend(new)
            self._batch_sizes.append(len(new))
            progress(len(records))
        return records

    def sample_outputs(self) -> list[str]:
        return [self._tokenizer.decode(ids, skip_special_tokens=True) for ids in self._sample_ids]

