"""`vllm`: offline `vllm.LLM`, `batch_size` prompts per engine call, per-request timing from vLLM's own
request metrics.

Timing (per completion, seconds on `time.perf_counter()` relative to the runner's `t0`), the points of
vLLM's benchmark (request sent → first token; e2e to the last token) as far as offline vLLM shows them:
- start: before the batch's chat templating and tokenization (every request of a batch starts together);
- first and last token: `RequestOutput.metrics.first_token_ts` / `last_token_ts`, both stamped by the
  engine core when the step that produced the token returned (engine monotonic clock, mapped onto
  perf_counter), so neither includes detokenization or the trip back to this process.
With `n > 1` each completion is its own record (its own token count, index = request index × n +
completion index); vLLM reports the timestamps of the completion that finished last only, and every
completion of the request carries those.
Nothing is derived by dividing totals. The engine loop mirrors `LLM.generate` (`enqueue`, then
`llm_engine.step()` until done) so it can report progress and abort within one engine step on cancel.
"""

from __future__ import annotations

import functools
import gc
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar

from engine.backends.base import Backend as BaseBackend
from engine.backends.base import LoadInfo, ProgressFn, Request, prompt_text
from engine.backends.vllm import core_log, engine_args, readback
from engine.backends.vllm.phases import PhaseTimes
from engine.config import TrialConfig
from engine.errors import CancelledError
from engine.results import Measurement, RequestRecord


class Backend(BaseBackend):
    """One `vllm.LLM` engine per load key; `run` feeds it `batch_size` prompts at a time."""

    name: ClassVar[str] = "vllm"
    ttft_method: ClassVar[str] = (
        "start: perf_counter before the batch's chat templating and tokenization; first/last token: "
        "RequestOutput.metrics.first_token_ts/last_token_ts, stamped by the engine core (same monotonic clock); "
        "with n > 1 every completion carries the timestamps of the one that finished last; "
        "ITL not observable offline")

    @classmethod
    def check(cls, config: TrialConfig) -> None:
        engine_args.check(config)

    def __init__(self, config: TrialConfig) -> None:
        super().__init__(config)
        self.llm: Any = None
        self._tokenizer: Any = None
        self._spec_delta: dict[str, float] | None = None
        self._phases = PhaseTimes()  # over the measured repetitions so far
        self._batch_sizes: list[int] = []
        self._log = core_log.get()
        self._mark = 0  # the engine core's output line where the current trial began

    def load(self) -> LoadInfo:
        from transformers import AutoTokenizer
        from vllm import LLM

        kwargs = engine_args.llm_kwargs(self.config)
        self._mark = self._log.mark()
        # The engine core's processes start here and keep the log's pipe as their stdout and stderr.
        with self._log.attached(), self._log.out_of_memory_as_oom(self._mark):
            self.llm = LLM(**kwargs)
        self._tokenizer = AutoTokenizer.from_pretrained(kwargs["model"],
                                                        trust_remote_code=self.config.common.trust_remote_code)
        resolved = {"path": kwargs["model"], "format": "safetensors", "engine": "vllm.LLM",
                    "speculative_config": kwargs["speculative_config"]}
        notes = ("Per-request TTFT and e2e from vLLM's RequestOutput.metrics.first_token_ts and last_token_ts "
                 "(engine-core clock, same monotonic clock as the runner), from a start taken before "
                 "templating and tokenization.",
                 "Weights size not read from vLLM (its loader does not expose it offline).",
                 "Sampling seeded engine-wide (vLLM seed = trial seed), not per request.",
                 "vLLM's engine core and its workers are child processes: the worker's peak RSS does not "
                 "include their memory.")
        return LoadInfo(resolved=resolved, weights_bytes=None, notes=notes)

    def tokenizer(self) -> Any:
        return self._tokenizer

    def runtime_settings(self) -> dict[str, Any]:
        return {} if self.llm is None else readback.settings(self.llm)

    def output_token_counting(self) -> tuple[str, bool]:
        return ("len(CompletionOutput.token_ids) per completion, including the EOS token where a completion "
                "stops on it (the EOS token is counted)"), False

    def extra_metrics(self) -> dict[str, Measurement]:
        spec = {} if self._spec_delta is None else readback.spec_measurements(self._spec_delta)
        return {**self._phases.measurements(), **spec}

    def begin_trial(self) -> None:
        """Mark where this trial's engine-core output begins (a pipe round-trip, kept out of the timed window)."""
        self._mark = self._log.mark()

    def batch_sizes(self) -> list[int]:
        return self._batch_sizes

    def run(self, config: TrialConfig, requests: Sequence[Request], repetition: int, t0: float,
            cancel: threading.Event, progress: ProgressFn) -> list[RequestRecord]:
        with self._log.out_of_memory_as_oom(self._mark):
            return self._run(config, requests, repetition, t0, cancel, progress)

    def _run(self, config: TrialConfig, requests: Sequence[Request], repetition: int, t0: float,
             cancel: threading.Event, progress: ProgressFn) -> list[RequestRecord]:
        speculative = config.common.speculative != "none"
        if repetition <= 0:  # warm-up (-1) or the first measured repetition: start counting afresh
            self._phases = PhaseTimes()
        before = readback.spec_counters(self.llm) if speculative else None
        # Engine timestamps are time.monotonic(); map them onto perf_counter (identical on Linux).
        offset_s = time.monotonic() - time.perf_counter()
        records: list[RequestRecord] = []
        self._batch_sizes = []
        size = config.common.batch_size
        for i in range(0, len(requests), size):
            if cancel.is_set():
                raise CancelledError("cancelled between engine calls")
            batch = requests[i:i + size]
            new = self._run_batch(config, batch, repetition, t0, offset_s, cancel,
                                  functools.partial(_offset_progress, progress, len(records)))
            records += new
            self._batch_sizes.append(len(new))
        if before is not None:
            self._spec_delta = readback.counter_delta(before, readback.spec_counters(self.llm))
        return records

    def _run_batch(self, config: TrialConfig, batch: Sequence[Request], repetition: int, t0: float,
                   offset_s: float, cancel: threading.Event, progress: ProgressFn) -> list[RequestRecord]:
        start = time.perf_counter()  # the request is "sent": chat templating and tokenization are timed
        prompts = [{"prompt_token_ids": self._token_ids(r.prompt)} for r in batch]
        params = [self._sampling_params(config, r.max_new_tokens) for r in batch]
        ids = self.llm.enqueue(prompts, params, use_tqdm=False)
        finished = self._drain(ids, cancel, progress)
        # Outputs carry vLLM's external ids (a counter, in submission order), as LLM.generate sorts them.
        ordered = [finished[k] for k in sorted(finished, key=int)]
        records = []
        for req, (out, seen) in zip(batch, ordered, strict=True):
            first, end = _engine_times(out.metrics, seen, offset_s)
            self._phases.add(out.metrics)
            records += [RequestRecord(
                repetition=repetition, index=req.index * len(out.outputs) + c.index,
                input_tokens=len(out.prompt_token_ids), output_tokens=len(c.token_ids), start_s=start - t0,
                first_token_s=None if first is None else first - t0, end_s=end - t0) for c in out.outputs]
        return records

    def _drain(self, ids: list[str], cancel: threading.Event, progress: ProgressFn) -> dict[str, tuple[Any, float]]:
        """Step the engine until every request is finished; {external id: (output, perf_counter seen)}.
        `ids` are the internal ids `enqueue` returns (used to abort)."""
        engine = self.llm.llm_engine
        finished: dict[str, tuple[Any, float]] = {}
        while engine.has_unfinished_requests():
            if cancel.is_set():
                engine.abort_request(ids, internal=True)
                while engine.has_unfinished_requests():
                    engine.step()
                raise CancelledError("cancelled during an engine call")
            outputs = engine.step()
            seen = time.perf_counter()
            for out in outputs:
                if out.finished:
                    finished[out.request_id] = (out, seen)
            if outputs:
                progress(len(finished))
        return finished

    def _token_ids(self, prompt: str | list[dict[str, str]]) -> list[int]:
        """Prompt tokens exactly as the workload counted them (chat: template text, no extra specials)."""
        return list(self._tokenizer.encode(prompt_text(self._tokenizer, prompt), add_special_tokens=False))

    @staticmethod
    def _sampling_params(config: TrialConfig, max_tokens: int) -> Any:
        from vllm import SamplingParams

        c = config.common
        # seed=None on purpose: sampling is seeded engine-wide (EngineArgs.seed). Per-request seeds make
        # vLLM 0.32's CPU sampler fail ("CPU Generator does not use offset") and take a slower
        # per-request generator path that vLLM's own benchmark does not use.
        return SamplingParams(n=config.engine_options.n, temperature=c.temperature, top_p=c.top_p,
                              max_tokens=max_tokens, min_tokens=0, ignore_eos=c.ignore_eos, seed=None,
                              top_k=0, min_p=0.0, repetition_penalty=1.0, presence_penalty=0.0,
                              frequency_penalty=0.0)

    def greedy_token_ids(self, prompts: Sequence[str], max_new_tokens: int) -> list[list[int]] | None:
        from vllm import SamplingParams

        params = SamplingParams(n=1, temperature=0.0, max_tokens=max_new_tokens, ignore_eos=True)
        with self._log.out_of_memory_as_oom(self._mark):
            outputs = self.llm.generate([{"prompt_token_ids": self._token_ids(p)} for p in prompts], params,
                                        use_tqdm=False)
        return [list(o.outputs[0].token_ids) for o in outputs]

    def unload(self) -> None:
        if self.llm is None:
            return
        self.llm.llm_engine.engine_core.shutdown()
        self._log.sync()  # the engine core's last lines reach the worker's stderr before the worker goes on
        self.llm = None
        self._tokenizer = None
        gc.collect()


def _engine_times(metrics: Any, seen: float, offset_s: float) -> tuple[float | None, float]:
    """(first token, last token) on perf_counter from the engine core's timestamps; where vLLM gives no
    metrics, (None, when the worker received the finished output)."""
    if metrics is None or not metrics.first_token_ts:
        return None, seen
    return metrics.first_token_ts - offset_s, metrics.last_token_ts - offset_s


def _offset_progress(progress: ProgressFn, done_before: int, done_in_batch: int) -> None:
    progress(done_before + done_in_batch)
