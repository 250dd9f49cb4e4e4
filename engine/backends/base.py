"""The one interface every backend implements.

The runner (engine.runner) owns the trial: validation, model reuse, workload, warm-up, repetitions,
meters and aggregation. A backend only loads a model and turns requests into timed request records.
Its inference library is imported inside its methods, never at module import.
"""

from __future__ import annotations

import abc
import dataclasses
import threading
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from engine.config import TrialConfig
from engine.meters import devices
from engine.results import Measurement, RequestRecord


@dataclasses.dataclass(frozen=True)
class Request:
    """One request of a workload. `prompt` is text, or chat messages for chat-formatted workloads
    (the backend applies the chat template); `input_tokens` is its exact tokenized length."""

    index: int
    prompt: str | list[dict[str, str]]
    input_tokens: int
    max_new_tokens: int


def prompt_text(tokenizer: Any, prompt: str | list[dict[str, str]]) -> str:
    """The text a prompt feeds the model: plain text as is, chat messages through the tokenizer's chat
    template with the generation prompt added (the one way every engine and the workload flatten chat)."""
    if isinstance(prompt, str):
        return prompt
    return str(tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True))


@dataclasses.dataclass(frozen=True)
class LoadInfo:
    """What loading produced. `resolved` describes the actual model source (path, format)."""

    resolved: dict[str, Any]
    weights_bytes: int | None
    notes: tuple[str, ...] = ()


ProgressFn = Callable[[int], None]  # called with the number of requests finished so far


class Backend(abc.ABC):
    """A loaded model behind one engine. One instance serves every trial with the same load key."""

    name: ClassVar[str]
    #: How this backend observes first-token and inter-token times (quoted in every result).
    ttft_method: ClassVar[str]

    @classmethod
    def check(cls, config: TrialConfig) -> None:
        """Refuse, with UnsupportedError naming the option and the reason, anything this installation
        or hardware cannot run. Called before loading; must not load weights."""
        return None

    @classmethod
    def gpus(cls, config: TrialConfig) -> devices.DeviceSet:
        """The NVIDIA GPUs a trial of `config` runs on, as NVML devices (read before anything loads):
        CUDA devices 0..num_gpus-1 of this worker; a backend that runs elsewhere overrides it."""
        return devices.trial_gpus(config.common.num_gpus)

    def __init__(self, config: TrialConfig) -> None:
        self.config = config

    @abc.abstractmethod
    def load(self) -> LoadInfo:
        """Load model and tokenizer for `self.config` (the runner times it)."""

    @abc.abstractmethod
    def tokenizer(self) -> Any:
        """A tokenizer with `encode(text, add_special_tokens=False)`, `decode(ids)` and, for chat,
        `apply_chat_template(messages, tokenize=True, add_generation_prompt=True)`."""

    @abc.abstractmethod
    def run(self, config: TrialConfig, requests: Sequence[Request], repetition: int, t0: float,
            cancel: threading.Event, progress: ProgressFn) -> list[RequestRecord]:
        """Run the requests with `config`'s runtime options; return one record per request.

        Times in records are `time.perf_counter() - t0` (device work synchronised before reading
        the clock). Stop early (raising engine.errors.CancelledError) within 2 s of `cancel` being
        set. Records of failed requests have ok=False and the error.
        """

    def extra_metrics(self) -> dict[str, Measurement]:
        """Backend-specific figures of the last run (e.g. speculative acceptance), if any."""
        return {}

    @abc.abstractmethod
    def output_token_counting(self) -> tuple[str, bool]:
        """How the measured runs counted output tokens (quoted in every figure built on the count, saying
        whether the EOS token is counted), and True where any count was estimated rather than observed."""

    def begin_trial(self) -> None:
        """Called once per trial, before its first engine call (warm-up or measured) and outside any timed
        window: where a backend notes per-trial state it must not take inside the measured loop."""
        return None

    def batch_sizes(self) -> list[int]:
        """Records each engine call (a generate call, a batch) of the last `run` produced, in record order;
        empty where the engine does not run the requests as separate calls."""
        return []

    def inter_token_gaps_ms(self) -> list[float]:
        """Gaps between successive tokens of every request of the last `run` (empty: not observable)."""
        return []

    def sample_outputs(self) -> list[str]:
        """A few generated texts of the last `run` (decoded after it, outside the measured window)."""
        return []

    def greedy_token_ids(self, prompts: Sequence[str], max_new_tokens: int) -> list[list[int]] | None:
        """Greedy continuations (token ids) with this config's decoding method, for the quality guard;
        None where the backend cannot produce them."""
        return None

    def perplexity(self, text: str) -> float | None:
        """Perplexity of the loaded model on `text` (quality guard); None where not computable."""
        return None

    def runtime_settings(self) -> dict[str, Any]:
        """Settings read back from the engine after loading (e.g. vLLM's effective max_num_seqs)."""
        return {}

    def unload(self) -> None:
        """Free the model and its memory (device memory too). Idempotent."""
        return None
