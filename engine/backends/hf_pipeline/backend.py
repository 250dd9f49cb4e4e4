"""`hf-pipeline`: `transformers.pipeline("text-generation")` called as users call it — the whole
repetition's prompts in one call with `batch_size` — with every decode step timed by a streamer."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from engine.backends import hf_common
from engine.backends.base import Backend as BaseBackend
from engine.backends.base import LoadInfo, ProgressFn, Request
from engine.config import TrialConfig
from engine.errors import EngineError
from engine.results import Measurement, RequestRecord

START_NOTE = ("hf-pipeline: a request's start is when the pipeline began its batch (the call start for the "
              "first batch, else the previous batch's end), so it includes tokenization and post-processing")


class Backend(BaseBackend):
    """One pipeline call per repetition; the pipeline batches the prompts itself."""

    name: ClassVar[str] = "hf-pipeline"
    ttft_method: ClassVar[str] = hf_common.STREAMER_TTFT_METHOD

    @classmethod
    def availability(cls) -> tuple[bool, str]:
        return hf_common.availability()

    @classmethod
    def check(cls, config: TrialConfig) -> None:
        hf_common.check_common(config)

    def __init__(self, config: TrialConfig) -> None:
        super().__init__(config)
        self.pipe: Any = None
        self.model: Any = None
        self._tokenizer: Any = None
        self.draft: Any = None
        self.device = "cpu"
        self._gaps_ms: list[float] = []
        self._spec: hf_common.SpecCounter | None = None
        self._samples: list[str] = []

    def load(self) -> LoadInfo:
        from transformers import pipeline

        self.model, self._tokenizer, info, self.draft, self._spec = hf_common.load_for_generation(self.config)
        self.device = info.resolved["device"]
        self.pipe = pipeline("text-generation", model=self.model, tokenizer=self._tokenizer)
        return LoadInfo(info.resolved, info.weights_bytes, (*info.notes, START_NOTE))

    def tokenizer(self) -> Any:
        return self._tokenizer

    def run(self, config: TrialConfig, requests: Sequence[Request], repetition: int, t0: float,
            cancel: threading.Event, progress: ProgressFn) -> list[RequestRecord]:
        self._gaps_ms = []
        if self._spec is not None:
            self._spec.reset()
        hf_common.check_cancel(cancel)
        size = config.common.batch_size
        recorder = hf_common.StepRecorder(cancel)
        kw = hf_common.generation_kwargs(config, self._tokenizer, max(r.max_new_tokens for r in requests))
        if self.draft is not None:
            kw["assistant_model"] = self.draft
        prompts = [r.prompt for r in requests]
        mark = self._spec.begin_request() if self._spec else None
        start = time.perf_counter()
        outputs = self.pipe(prompts, batch_size=size, streamer=recorder, return_full_text=False, **kw)
        hf_common.synchronize(self.device)
        batches = [requests[i:i + size] for i in range(0, len(requests), size)]
        if len(recorder.calls) != len(batches) or len(outputs) != len(requests):
            raise EngineError(f"hf-pipeline made {len(recorder.calls)} generate calls for {len(batches)} batches")
        stop_ids = hf_common.stop_token_ids(self.model, self._tokenizer, config.common.ignore_eos)
        records: list[RequestRecord] = []
        for k, (call, batch) in enumerate(zip(recorder.calls, batches, strict=True)):
            batch_start = start if k == 0 else recorder.calls[k - 1].end_s
            records.extend(hf_common.records_from_call(call, batch, repetition, batch_start, t0, stop_ids,
                                                       self._gaps_ms))
        if self._spec is not None and mark is not None:
            self._spec.end_requests(mark, sum(r.input_tokens for r in records),
                                    sum(r.output_tokens for r in records), len(records))
        self._samples = [_generated_text(o) for o in outputs[:2]]
        progress(len(records))
        return records

    def sample_outputs(self) -> list[str]:
        return self._samples

    def inter_token_gaps_ms(self) -> list[float]:
        return self._gaps_ms

    def extra_metrics(self) -> dict[str, Measurement]:
        return self._spec.metrics() if self._spec is not None else {}

    def perplexity(self, text: str) -> float | None:
        return hf_common.perplexity(self.model, self._tokenizer, text, self.device)

    def greedy_token_ids(self, prompts: Sequence[str], max_new_tokens: int) -> list[list[int]] | None:
        return hf_common.greedy_token_ids(self.model, self._tokenizer, self.draft, self.config, prompts,
                                          max_new_tokens, self.device)

    def unload(self) -> None:
        if self._spec is not None:
            self._spec.close()
        self.pipe = self.model = self.draft = self._tokenizer = self._spec = None
        hf_common.free_memory(self.device)


def _generated_text(output: Any) -> str:
    """The pipeline's generated text for one prompt (a list of one dict per returned sequence)."""
    first = output[0] if isinstance(output, list) else output
    text = first.get("generated_text", "") if isinstance(first, dict) else ""
    return text if isinstance(text, str) else str(text[-1].get("content", "")) if text else ""
