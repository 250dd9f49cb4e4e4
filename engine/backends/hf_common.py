"""What the two transformers backends share: option checks, model loading, the step recorder that
times every decode step, and the counters behind speculative-decoding figures.

torch and transformers are imported inside functions so that importing this module stays cheap.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from engine.backends import hf_quantization
from engine.backends.base import LoadInfo, Request
from engine.config import TrialConfig
from engine.errors import CancelledError, OutOfMemoryError, UnsupportedError
from engine.models.resolve import ModelSource, resolve
from engine.results import Measurement, RequestRecord

_DTYPES = {"float32": "float32", "bfloat16": "bfloat16", "float16": "float16"}
_BNB = ("bnb-8bit", "bnb-4bit")  # placed by accelerate (device_map), not moved with .to()


def cuda_available() -> bool:
    import torch

    return torch.cuda.is_available()


def device_of(config: TrialConfig) -> str:
    """The torch device a config runs on ('auto' picks CUDA when present)."""
    if config.common.device == "auto":
        return "cuda" if cuda_available() else "cpu"
    return config.common.device


def check_common(config: TrialConfig) -> None:
    """Refuse options the transformers backends cannot honour here (before anything loads)."""
    c = config.common
    if c.device == "cuda" and not cuda_available():
        raise UnsupportedError("device", "CUDA is not available to torch in this environment")
    device = device_of(config)
    if c.num_gpus > 1:
        _check_gpu_count(c.num_gpus, device)
    hf_quantization.check(c.quantization, device, resolve(c.model).path)
    if c.quantization in ("fp8", "awq", "gptq"):
        raise UnsupportedError("quantization", f"{c.quantization!r} is not applied by the transformers backends; "
                               "load a checkpoint already quantized with quantization='none', or use vllm")
    if c.dtype == "bfloat16" and device == "cuda":
        import torch

        if not torch.cuda.is_bf16_supported():
            raise UnsupportedError("dtype", "this GPU does not support bfloat16")
    if c.speculative in ("ngram", "eagle"):
        raise UnsupportedError("speculative", f"{c.speculative!r} is a vLLM method; transformers offers "
                               "'prompt-lookup' and 'draft'")


def _check_gpu_count(num_gpus: int, device: str) -> None:
    """Sharding over `num_gpus` GPUs needs torch to see that many CUDA devices."""
    import torch

    seen = torch.cuda.device_count() if device == "cuda" else 0
    if seen < num_gpus:
        raise UnsupportedError("num_gpus", f"got {num_gpus}; torch sees {seen} CUDA device(s) in this worker"
                               + ("" if device == "cuda" else " (it has no CUDA here)"))


def load(config: TrialConfig) -> tuple[Any, Any, LoadInfo]:
    """Load model and tokenizer (left padding, pad token set) for `config`; returns (model, tokenizer, info)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    c = config.common
    source = resolve(c.model)
    device = device_of(config)
    kwargs: dict[str, Any] = {"trust_remote_code": c.trust_remote_code}
    notes: list[str] = []
    if c.dtype != "auto":
        kwargs["dtype"] = _DTYPES[c.dtype]
    else:
        kwargs["dtype"] = "auto"
    attn = getattr(config.engine_options, "attn_implementation", None)
    if attn:
        kwargs["attn_implementation"] = attn
    kwargs.update(hf_quantization.load_kwargs(c.quantization, notes))
    if source.kind == "gguf":
        kwargs["gguf_file"] = source.gguf_file
        notes.append("GGUF weights are dequantized by transformers at load (no quantized-kernel speed-up)")
    tokenizer = AutoTokenizer.from_pretrained(str(source.path), trust_remote_code=c.trust_remote_code,
                                              **({"gguf_file": source.gguf_file} if source.gguf_file else {}))
    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    sharded = c.num_gpus > 1
    if sharded:
        kwargs.update(gpu_placement(_free_gpu_bytes(c.num_gpus)))
    elif c.quantization in _BNB:
        kwargs["device_map"] = device
    model = AutoModelForCausalLM.from_pretrained(str(source.path), **kwargs)
    if sharded:
        check_placement(model.hf_device_map, c.num_gpus)
        notes.append(f"sharded with device_map='auto' over CUDA devices 0..{c.num_gpus - 1} (max_memory: their "
                     "free memory at load, no host memory): " + placement_summary(model.hf_device_map))
    elif c.quantization not in _BNB:
        model.to(device)
    model.eval()
    if getattr(config.engine_options, "torch_compile", False):
        model.forward = _compile(model.forward)
        notes.append("forward compiled with torch.compile during warm-up (a full batch at least); shapes first "
                     "seen in the measured window (a last partial batch, other prompt lengths) recompile there")
    info = LoadInfo(resolved={**source.describe(), "device": device, "dtype": str(model.dtype),
                              "quantization_applied": hf_quantization.label(c.quantization)},
                    weights_bytes=weights_bytes(model), notes=tuple(notes))
    return model, tokenizer, info


def gpu_placement(free_bytes: Sequence[int]) -> dict[str, Any]:
    """`from_pretrained` arguments that shard a model over CUDA devices 0..n-1 (n = len(free_bytes), each
    allowed its free bytes) and nowhere else: `max_memory` has no 'cpu' key, so accelerate offloads
    nothing to host memory (what would not fit goes to 'disk', which `check_placement` refuses)."""
    return {"device_map": "auto", "max_memory": {index: int(free) for index, free in enumerate(free_bytes)}}


def check_placement(device_map: Mapping[str, Any], num_gpus: int) -> None:
    """Refuse (OutOfMemoryError) a loaded model any of whose modules sits outside CUDA devices 0..num_gpus-1."""
    outside = sorted({str(where) for where in device_map.values() if _gpu_index(where) not in range(num_gpus)})
    if outside:
        raise OutOfMemoryError(f"the weights do not fit in the free memory of the trial's {num_gpus} GPUs: "
                               f"accelerate placed modules on {', '.join(outside)} (offloading is not allowed)")


def placement_summary(device_map: Mapping[str, Any]) -> str:
    """How many modules each GPU holds, e.g. 'cuda:0 16 modules, cuda:1 15 modules'."""
    counts = collections.Counter(_gpu_index(where) for where in device_map.values())
    return ", ".join(f"cuda:{index} {count} modules" for index, count in sorted(counts.items(), key=str))


def _gpu_index(where: Any) -> int | None:
    """The CUDA index of a device-map entry (0, 'cuda:0', torch.device('cuda', 0)); None for cpu/disk."""
    if isinstance(where, int):
        return where
    kind, _, index = str(where).partition(":")
    return int(index) if kind == "cuda" and index.isdigit() else None


def _free_gpu_bytes(count: int) -> list[int]:
    import torch

    return [torch.cuda.mem_get_info(index)[0] for index in range(count)]


def _compile(fn: Any) -> Any:
    import torch

    return torch.compile(fn)


def load_draft(config: TrialConfig, device: str, dtype: Any) -> Any:
    """The draft (assistant) model for speculative='draft', on the target's device and dtype."""
    from transformers import AutoModelForCausalLM

    source: ModelSource = resolve(config.common.draft_model or "", field="draft_model")
    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": config.common.trust_remote_code}
    if source.gguf_file:
        kwargs["gguf_file"] = source.gguf_file
    draft = AutoModelForCausalLM.from_pretrained(str(source.path), **kwargs)
    return draft.to(device).eval()


def weights_bytes(model: Any) -> int:
    """Bytes held by the model's parameters and buffers (as loaded, i.e. after quantization)."""
    total = 0
    for t in [*model.parameters(), *model.buffers()]:
        total += _tensor_bytes(t)
    return total


def kv_cache_bytes(cache: Any) -> int:
    """Bytes held by a transformers cache's tensors (every layer's attributes that are tensors: keys and
    values, or a QuantizedCache's packed data and scales plus its full-precision residual)."""
    import torch

    return sum(_tensor_bytes(v) for layer in cache.layers for v in vars(layer).values()
               if isinstance(v, torch.Tensor))


def _tensor_bytes(t: Any) -> int:
    inner = getattr(t, "__tensor_flatten__", None)
    if inner is not None:  # quantized tensor subclasses (optimum-quanto) hold their data in inner tensors
        names, _ = inner()
        return sum(_tensor_bytes(getattr(t, n)) for n in names)
    return t.numel() * t.element_size()


def synchronize(device: str, num_gpus: int = 1) -> None:
    """Wait for queued work on CUDA devices 0..num_gpus-1 (a sharded model's every device) so a following
    clock read is honest."""
    if device == "cuda":
        import torch

        for index in range(num_gpus):
            torch.cuda.synchronize(index)


def generation_kwargs(config: TrialConfig, tokenizer: Any, max_new_tokens: int) -> dict[str, Any]:
    """The `generate` arguments a trial's runtime options ask for."""
    c = config.common
    kw: dict[str, Any] = {"max_new_tokens": max_new_tokens, "pad_token_id": tokenizer.pad_token_id}
    if c.ignore_eos:
        kw["min_new_tokens"] = max_new_tokens
    if c.temperature > 0:
        kw.update(do_sample=True, temperature=c.temperature, top_p=c.top_p, top_k=None)
    else:
        kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
    if c.speculative == "prompt-lookup":
        kw.update(prompt_lookup_num_tokens=c.num_speculative_tokens, max_matching_ngram_size=c.prompt_lookup_max)
    elif c.speculative == "draft":
        kw["num_assistant_tokens"] = c.num_speculative_tokens
        kw["num_assistant_tokens_schedule"] = "constant"
    kv_cache_dtype = kv_cache_dtype_of(config)
    if kv_cache_dtype.startswith("quanto-int"):  # transformers QuantizedCache, quanto backend
        kw.update(cache_implementation="quantized",
                  cache_config={"backend": "quanto", "nbits": int(kv_cache_dtype.removeprefix("quanto-int"))})
    return kw


STREAMER_TTFT_METHOD = ("start: perf_counter before the batch's chat templating and tokenization; first/last "
                        "token: perf_counter at the decode step that produced it, via a generate streamer "
                        "(CUDA-synchronised on GPU)")


class StepRecorder:
    """A generate streamer that stamps every decode step with one perf_counter read.

    generate calls `put` with the prompt ids first, then with each step's new tokens ((B,) per step,
    or (1, n) per assisted-decoding step). The tokens arrive on the host (`.cpu()` in generate),
    which synchronises CUDA before the clock is read. Cancellation raises from `put`, ending the
    generate call within one decode step.
    """

    def __init__(self, cancel: threading.Event, on_end: Callable[[int], None] | None = None) -> None:
        self.cancel = cancel
        self.on_end = on_end  # called with the requests done so far when a generate call ends
        self.calls: list[_Call] = []

    def put(self, value: Any) -> None:
        now = time.perf_counter()
        if self.cancel.is_set():
            raise CancelledError("trial cancelled")
        if not self.calls or self.calls[-1].ended:
            self.calls.append(_Call(now, value.shape[0]))
            return
        call = self.calls[-1]
        call.steps.append(now)
        call.tokens.append(value.reshape(-1).tolist() if value.ndim == 2 else value.tolist())
        call.step_is_row_major = value.ndim == 2

    def end(self) -> None:
        if self.calls:
            self.calls[-1].ended = True
            self.calls[-1].end_s = time.perf_counter()
            if self.on_end is not None:
                self.on_end(sum(call.batch for call in self.calls))


class _Call:
    """The steps of one generate call: prompt time, per-step times and tokens."""

    def __init__(self, prompt_s: float, batch: int) -> None:
        self.prompt_s = prompt_s
        self.batch = batch
        self.steps: list[float] = []
        self.tokens: list[list[int]] = []
        self.step_is_row_major = False
        self.ended = False
        self.end_s = prompt_s

    def row_steps(self, row: int, stop_ids: set[int] | None) -> list[tuple[float, int]]:
        """(time, tokens) of each step that generated tokens for `row`, up to and including its first
        stop token. An assisted-decoding step yields all its accepted tokens at one time."""
        steps: list[tuple[float, int]] = []
        for t, toks in zip(self.steps, self.tokens, strict=True):
            mine = toks if self.step_is_row_major else [toks[row]]
            stop = next((i for i, tok in enumerate(mine) if stop_ids is not None and tok in stop_ids), None)
            steps.append((t, len(mine) if stop is None else stop + 1))
            if stop is not None:
                break
        return steps


def stop_token_ids(model: Any, tokenizer: Any, ignore_eos: bool) -> set[int] | None:
    """Token ids that end a request when stopping naturally (None with ignore_eos)."""
    if ignore_eos:
        return None
    eos = model.generation_config.eos_token_id
    ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    if tokenizer.eos_token_id is not None:
        ids.add(tokenizer.eos_token_id)
    return ids


def records_from_call(call: _Call, requests: Sequence[Request], repetition: int, start_s: float, t0: float,
                      stop_ids: set[int] | None, gaps_ms: list[float]) -> list[RequestRecord]:
    """One record per request of a batch from the call's step times; appends inter-token gaps, one
    per decode step (as vLLM's benchmark counts chunks), so a multi-token speculative step adds one
    gap, not zero-length gaps for its extra tokens."""
    records = []
    for row, req in enumerate(requests):
        steps = call.row_steps(row, stop_ids)
        times = [t for t, _ in steps]
        gaps_ms.extend((b - a) * 1e3 for a, b in zip(times, times[1:], strict=False))
        first = times[0] - t0 if times else None
        end = (times[-1] if times else call.prompt_s) - t0
        records.append(RequestRecord(repetition, req.index, req.input_tokens, sum(n for _, n in steps),
                                     start_s - t0, first, end))
    return records


def check_cancel(cancel: threading.Event) -> None:
    if cancel.is_set():
        raise CancelledError("trial cancelled")


class SpecCounter:
    """Counts target-model forward passes and the positions fed to them during assisted generation.

    Each assisted step runs the target once on the last accepted token plus the proposed candidates
    (the first step on the whole prompt plus candidates), so over n requests:
    proposed = fed − prompts − (forwards − n) and accepted = generated − forwards.
    """

    def __init__(self, model: Any) -> None:
        self.forwards = 0
        self.fed = 0
        self.proposed = 0
        self.accepted = 0
        self.steps = 0
        self.generated = 0
        self._handle = model.register_forward_pre_hook(self._hook, with_kwargs=True)

    def _hook(self, _module: Any, args: Any, kwargs: dict[str, Any]) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is None:
            ids = kwargs.get("inputs_embeds")
        self.forwards += 1
        self.fed += int(ids.shape[1]) if ids is not None else 0

    def begin_request(self) -> tuple[int, int]:
        return self.forwards, self.fed

    def end_requests(self, mark: tuple[int, int], prompt_tokens: int, generated: int, requests: int = 1) -> None:
        """Account the requests run since `mark` (their total prompt and generated tokens)."""
        forwards = self.forwards - mark[0]
        fed = self.fed - mark[1]
        self.steps += forwards
        self.generated += generated
        self.proposed += max(0, fed - prompt_tokens - (forwards - requests))
        self.accepted += max(0, generated - forwards)

    def reset(self) -> None:
        self.proposed = self.accepted = self.steps = self.generated = 0

    def metrics(self) -> dict[str, Measurement]:
        method = ("counted with a forward pre-hook on the target model: each assisted step is one target "
                  "forward; proposed = positions fed beyond the prompt and the one carried token per step; "
                  "accepted = generated tokens − target forwards (the final step may be cut by the length "
                  "limit)")
        out: dict[str, Measurement] = {}
        if self.proposed > 0:
            out["spec_acceptance_rate"] = Measurement.measured(self.accepted / self.proposed, "ratio", method,
                                                               n=self.proposed)
        else:
            out["spec_acceptance_rate"] = Measurement.unavailable("ratio", "no draft tokens were proposed")
        if self.steps > 0:
            out["spec_mean_accepted_tokens"] = Measurement.measured(self.accepted / self.steps, "tokens",
                                                                    "accepted draft tokens per target forward "
                                                                    "(each step also yields 1 target token); "
                                                                    + method, n=self.steps)
        return out

    def close(self) -> None:
        self._handle.remove()


def kv_cache_dtype_of(config: TrialConfig) -> str:
    """The trial's KV cache precision: its `kv_cache_dtype`, or "auto" for an engine without that option
    (a backend built on the HF ones, e.g. a plugin engine)."""
    return str(getattr(config.engine_options, "kv_cache_dtype", "auto"))


def grad_free(quantization: str) -> AbstractContextManager[Any]:
    """Autograd off for a generate or forward call: `torch.inference_mode` (the faster), except for
    optimum-quanto's int4 weights, whose packed tensors set a version counter when they run and so fail
    under it ("Cannot set version_counter for inference tensor"): those run under `torch.no_grad`."""
    import torch

    return torch.no_grad() if quantization == "int4-weight" else torch.inference_mode()


def perplexity(model: Any, tokenizer: Any, text: str, device: str, quantization: str) -> float:
    """exp(mean next-token cross-entropy) of `model` on `text`."""
    import math

    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"].to(device)
    with grad_free(quantization):
        loss = model(input_ids=ids, labels=ids).loss
    return math.exp(float(loss))


def free_memory(device: str) -> None:
    """Return freed memory to the allocator / device after an unload."""
    import gc

    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


def greedy_token_ids(model: Any, tokenizer: Any, draft: Any, config: TrialConfig, prompts: Sequence[str],
                     max_new_tokens: int, device: str) -> list[list[int]]:
    """Greedy continuations of each prompt (one at a time) with the config's speculative method."""
    out = []
    for text in prompts:
        enc = tokenizer([text], return_tensors="pt", add_special_tokens=False).to(device)
        kw = generation_kwargs(config, tokenizer, max_new_tokens)
        kw.update(do_sample=False, temperature=None, top_p=None, top_k=None, min_new_tokens=max_new_tokens)
        if draft is not None:
            kw["assistant_model"] = draft
        with grad_free(config.common.quantization):
            ids = model.generate(**enc, **kw)
        out.append(ids[0, enc["input_ids"].shape[1]:].tolist())
    return out
