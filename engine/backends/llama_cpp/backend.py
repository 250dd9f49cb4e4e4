"""`llama-cpp`: llama-cpp-python running a GGUF file as stored (llama.cpp's own quantized kernels), one
request at a time, every generated token timed as llama-cpp-python's token generator yields it.

Prompts are templated and tokenized by the transformers tokenizer read from the same GGUF file, so the
token ids fed to llama.cpp are the ones the hf engines feed (same prompts, same lengths).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from engine import environment
from engine.backends.base import Backend as BaseBackend
from engine.backends.base import LoadInfo, ProgressFn, Request, prompt_text
from engine.config import TrialConfig
from engine.errors import CancelledError, UnsupportedError
from engine.models.resolve import resolve
from engine.results import RequestRecord

TTFT_METHOD = ("start: perf_counter before the request's chat templating and tokenization; first/last token: "
               "perf_counter when llama-cpp-python's token generator (Llama.generate) yields the token, i.e. after "
               "its llama_decode and sampling returned on the CPU")


def _gpu_offload() -> bool:
    import llama_cpp

    return bool(llama_cpp.llama_supports_gpu_offload())


def _has_gpu() -> bool:
    from engine.meters import nvml

    return bool(nvml.gpus()[0])


class Backend(BaseBackend):
    """One `llama_cpp.Llama` per load; each request is one `Llama.generate` token loop from an empty
    KV cache (no prefix reuse between requests)."""

    name: ClassVar[str] = "llama-cpp"
    ttft_method: ClassVar[str] = TTFT_METHOD

    @classmethod
    def check(cls, config: TrialConfig) -> None:
        c, opts = config.common, config.engine_options
        if c.device == "cuda" and not _gpu_offload():
            raise UnsupportedError("device", "this llama-cpp-python build has no GPU offload (it was built for "
                                   "the CPU); reinstall it built with CMAKE_ARGS=-DGGML_CUDA=on")
        if c.workload != "jsonl" and c.input_tokens + c.output_tokens > opts.n_ctx:
            raise UnsupportedError("n_ctx", f"input_tokens + output_tokens = {c.input_tokens + c.output_tokens} "
                                   f"does not fit the context of {opts.n_ctx} tokens; raise n_ctx")

    def __init__(self, config: TrialConfig) -> None:
        super().__init__(config)
        self._llm: Any = None
        self._tokenizer: Any = None
        self._path: Path | None = None
        self._device = "cpu"
        self._threads = 1
        self._gaps_ms: list[float] = []
        self._sample_ids: list[list[int]] = []

    def load(self) -> LoadInfo:
        from llama_cpp import Llama, llama_model_size
        from transformers import AutoTokenizer

        c, opts = self.config.common, self.config.engine_options
        source = resolve(c.model, gguf=True)
        assert source.gguf_file is not None  # resolve(gguf=True) refuses anything else
        self._path = source.path / source.gguf_file
        self._device = "cuda" if c.device != "cpu" and _gpu_offload() and _has_gpu() else "cpu"
        self._threads = opts.n_threads or environment.compute_threads()
        self._llm = Llama(str(self._path), n_ctx=opts.n_ctx, n_batch=opts.n_batch, n_threads=self._threads,
                          n_threads_batch=self._threads, flash_attn=opts.flash_attn,
                          n_gpu_layers=-1 if self._device == "cuda" else 0, verbose=False)
        self._tokenizer = AutoTokenizer.from_pretrained(str(source.path), gguf_file=source.gguf_file)
        notes = ("GGUF tensors run as stored by llama.cpp's kernels (not dequantized); prompts tokenized by "
                 "transformers' tokenizer from the same GGUF file (the token ids the hf engines feed)",
                 "one request at a time (llama-cpp-python decodes one sequence), each from an empty KV cache")
        resolved = {**source.describe(), "device": self._device, "format": "gguf",
                    "n_gpu_layers": "all" if self._device == "cuda" else 0}
        # The weights llama.cpp loaded (its own count of the model's tensor bytes); `_model` is the
        # pinned llama-cpp-python's handle of the loaded model.
        return LoadInfo(resolved=resolved, weights_bytes=int(llama_model_size(self._llm._model.model)),
                        notes=notes)

    def tokenizer(self) -> Any:
        return self._tokenizer

    def _encode(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text, add_special_tokens=False))

    def _tokens(self, ids: list[int], seed: int, temperature: float, top_p: float) -> Iterator[int]:
        """llama-cpp-python's token loop from an empty KV cache: greedy at temperature 0, else
        temperature + top-p only (its top-k, min-p and repeat penalty off, as in the hf engines)."""
        self._llm.reset()
        self._llm.set_seed(seed)
        return self._llm.generate(ids, temp=temperature, top_p=top_p if temperature > 0 else 1.0, top_k=0,
                                  min_p=0.0, typical_p=1.0, repeat_penalty=1.0, reset=True)

    def _stop_ids(self, ignore_eos: bool) -> set[int]:
        if ignore_eos:
            return set()
        ids = {int(self._llm.token_eos())}
        if self._tokenizer.eos_token_id is not None:
            ids.add(int(self._tokenizer.eos_token_id))
        return ids

    def run(self, config: TrialConfig, requests: Sequence[Request], repetition: int, t0: float,
            cancel: threading.Event, progress: ProgressFn) -> list[RequestRecord]:
        c = config.common
        stop_ids = self._stop_ids(c.ignore_eos)
        n_ctx = config.engine_options.n_ctx
        self._gaps_ms = []
        self._sample_ids = []
        records: list[RequestRecord] = []
        for req in requests:
            if cancel.is_set():
                raise CancelledError("trial cancelled")
            start = time.perf_counter()
            ids = self._encode(prompt_text(self._tokenizer, req.prompt))
            if len(ids) + req.max_new_tokens > n_ctx:
                records.append(RequestRecord(repetition, req.index, len(ids), 0, start - t0, None,
                                             time.perf_counter() - t0, ok=False,
                                             error=f"{len(ids)} prompt + {req.max_new_tokens} new tokens exceed "
                                                   f"n_ctx {n_ctx}"))
                progress(len(records))
                continue
            times: list[float] = []
            out: list[int] = []
            for token in self._tokens(ids, c.seed + req.index, c.temperature, c.top_p):
                times.append(time.perf_counter())
                out.append(token)
                if len(out) >= req.max_new_tokens or token in stop_ids:
                    break
                if cancel.is_set():
                    raise CancelledError("trial cancelled")
            self._gaps_ms.extend((b - a) * 1e3 for a, b in zip(times, times[1:], strict=False))
            if len(self._sample_ids) < 2:
                self._sample_ids.append(out)
            records.append(RequestRecord(repetition, req.index, len(ids), len(out), start - t0,
                                         times[0] - t0 if times else None, (times[-1] if times else start) - t0))
            progress(len(records))
        return records

    def output_token_counting(self) -> tuple[str, bool]:
        return ("tokens yielded by llama-cpp-python's generator per request, up to and including the EOS token "
                "where a request stops on it (the EOS token is counted)"), False

    def inter_token_gaps_ms(self) -> list[float]:
        return self._gaps_ms

    def sample_outputs(self) -> list[str]:
        return [self._tokenizer.decode(ids, skip_special_tokens=True) for ids in self._sample_ids]

    def greedy_token_ids(self, prompts: Sequence[str], max_new_tokens: int) -> list[list[int]] | None:
        out = []
        for text in prompts:
            ids: list[int] = []
            for token in self._tokens(self._encode(text), self.config.common.seed, 0.0, 1.0):
                ids.append(token)
                if len(ids) >= max_new_tokens:
                    break
            out.append(ids)
        return out

    def perplexity(self, text: str) -> float | None:
        """exp(mean next-token loss) over the text's tokens, from the logits of every position (a
        second context on the same file with `logits_all`, so the measured one keeps its settings)."""
        import numpy as np
        from llama_cpp import Llama

        ids = self._encode(text)
        opts = self.config.engine_options
        llm = Llama(str(self._path), n_ctx=max(len(ids), 16), n_batch=len(ids), logits_all=True,
                    n_threads=self._threads, n_threads_batch=self._threads, flash_attn=opts.flash_attn,
                    n_gpu_layers=-1 if self._device == "cuda" else 0, verbose=False)
        try:
            llm.eval(ids)
            logits = np.asarray(llm.scores[:len(ids) - 1], dtype=np.float64)
        finally:
            llm.close()
        peak = logits.max(axis=1, keepdims=True)
        log_norm = peak[:, 0] + np.log(np.exp(logits - peak).sum(axis=1))
        loss = float(np.mean(log_norm - logits[np.arange(len(ids) - 1), ids[1:]]))
        return math.exp(loss)

    def runtime_settings(self) -> dict[str, Any]:
        import llama_cpp

        if self._llm is None:
            return {}
        return {"n_ctx": self._llm.n_ctx(), "n_batch": self._llm.n_batch, "n_threads": self._threads,
                "gpu_offload_built": _gpu_offload(),
                "system_info": llama_cpp.llama_print_system_info().decode(errors="replace").strip()}

    def unload(self) -> None:
        if self._llm is not None:
            self._llm.close()
        self._llm = self._tokenizer = None
