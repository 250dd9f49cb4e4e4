"""`hf-pipeline`: `transformers.pipeline("text-generation")` called as users call it — the whole
repetition's prompts in one call with `batch_size` — with every decode step timed by a streamer."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from engine.backends import hf_common
from engine.backends.base import LoadInfo, ProgressFn, Request
from engine.backends.hf_base import HFBackend
from engine.config import TrialConfig
from engine.errors import EngineError
from engine.results import RequestRecord

START_NOTE = ("hf-pipeline: a request's start is when the pipeline began its batch (the call start for the "
              "first batch, else the previous batch's end), so it includes tokenization and post-processing")


class Backend(HFBackend):
    """One pipeline call per repetition; the pipeline batches the prompts itself."""

    name: ClassVar[str] = "hf-pipeline"
    ttft_method: ClassVar[str] = ("start: perf_counter when the pipeline began the request's batch (the call "
                                  "start for the first batch, else the previous batch's end), before its "
                                  "templating and tokenization; first/last token: perf_counter at the decode "
                                  "step that produced it, via a generate streamer (CUDA-synchronised on GPU)")

    def __init__(self, config: TrialConfig) -> None:
        super().__init__(config)
        self.pipe: Any = None
        self._fed_tokens: list[int] = []
        self._samples: list[str] = []

    def load(self) -> LoadInfo:
        from transformers import pipeline

        info = super().load()
        self.pipe = pipeline("text-generation", model=self.model, tokenizer=self._tokenizer)
        self.pipe.preprocess = self._counting_preprocess(self.pipe.preprocess)
        return LoadInfo(info.resolved, info.weights_bytes, (*info.notes, START_NOTE))

    def _counting_preprocess(self, preprocess: Any) -> Any:
        """Wrap the pipeline's per-prompt preprocessing to record how many tokens it feeds the model
        (its own chat templating and tokenization, e.g. continuing a final assistant message)."""
        def counting(*args: Any, **kwargs: Any) -> Any:
            model_inputs = preprocess(*args, **kwargs)
            self._fed_tokens.append(int(model_inputs["input_ids"].shape[-1]))
            return model_inputs
        return counting

    def _measuring_generate(self, generate: Any) -> Any:
        """The model's `generate` as the pipeline calls it, also keeping the bytes of the KV cache each call
        leaves (the pipeline itself drops the cache); it returns the token ids, as a plain call does."""
        def measuring(*args: Any, **kwargs: Any) -> Any:
            output = generate(*args, **{**kwargs, "return_dict_in_generate": True})
            self._kv_bytes.append(hf_common.kv_cache_bytes(output.past_key_values))
            return output.sequences
        return measuring

    def run(self, config: TrialConfig, requests: Sequence[Request], repetition: int, t0: float,
            cancel: threading.Event, progress: ProgressFn) -> list[RequestRecord]:
        self._gaps_ms = []
        if self._spec is not None:
            self._spec.reset()
        hf_common.check_cancel(cancel)
        size = config.common.batch_size
        recorder = hf_common.StepRecorder(cancel, on_end=progress)  # live progress per batch, not per repetition
        kw = hf_common.generation_kwargs(config, self._tokenizer, max(r.max_new_tokens for r in requests))
        if self.draft is not None:
            kw["assistant_model"] = self.draft
        prompts = [r.prompt for r in requests]
        mark = self._spec.begin_request() if self._spec else None
        self._fed_tokens = []
        self._kv_bytes = []
        self.model.generate = self._measuring_generate(type(self.model).generate.__get__(self.model))
        start = time.perf_counter()
        try:
            with hf_common.grad_free(config.common.quantization):  # the pipeline's own is no_grad, ~2% slower
                outputs = self.pipe(prompts, batch_size=size, streamer=recorder, return_full_text=False, **kw)
        finally:
            del self.model.generate  # back to the class's method (quality guard, other callers)
        hf_common.synchronize(self.device, config.common.num_gpus)
        if len(self._fed_tokens) != len(requests):
            raise EngineError(f"hf-pipeline preprocessed {len(self._fed_tokens)} prompts for {len(requests)}")
        # records carry the token count the pipeline actually fed, not the workload's count
        fed = [dataclasses.replace(r, input_tokens=n) for r, n in zip(requests, self._fed_tokens, strict=True)]
        batches = [fed[i:i + size] for i in range(0, len(fed), size)]
        if len(recorder.calls) != len(batches) or len(outputs) != len(requests):
            raise EngineError(f"hf-pipeline made {len(recorder.calls)} generate calls for {len(batches)} batches")
        stop_ids = hf_common.stop_token_ids(self.model, self._tokenizer, config.common.ignore_eos)
        records: list[RequestRecord] = []
        self._batch_sizes = [len(batch) for batch in batches]
        for k, (call, batch) in enumerate(zip(recorder.calls, batches, strict=True)):
            batch_start = start if k == 0 else recorder.calls[k - 1].end_s
            records.extend(hf_common.records_from_call(call, batch, repetition, batch_start, t0, stop_ids,
                                                       self._gaps_ms))
        if self._spec is not None and mark is not None:
            self._spec.end_requests(mark, sum(r.input_tokens for r in records),
                                    sum(r.output_tokens for r in records), len(records))
        self._samples = [_generated_text(o) for o in outputs[:2]]
        return records

    def sample_outputs(self) -> list[str]:
        return self._samples

    def unload(self) -> None:
        self.pipe = None
        super().unload()


def _generated_text(output: Any) -> str:
    """The pipeline's generated text for one prompt (a list of one dict per returned sequence)."""
    first = output[0] if isinstance(output, list) else output
    text = first.get("generated_text", "") if isinstance(first, dict) else ""
    return text if isinstance(text, str) else str(text[-1].get("content", "")) if text else ""
