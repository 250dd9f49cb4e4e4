"""`openai`: any OpenAI-compatible server (vllm serve, llama.cpp, TGI, SGLang), streamed over SSE.

The server is already running; "loading" means loading the local tokenizer used to build prompts of
exact token counts and checking that the server answers `GET /models`. The worker only observes the
server from outside: memory and energy figures are those of this machine (a loopback server) or
unavailable (a remote one), and the notes say which.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
import threading
from collections.abc import Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

from engine.backends.base import Backend as BaseBackend
from engine.backends.base import LoadInfo, ProgressFn, Request, prompt_text
from engine.backends.openai import credentials
from engine.backends.openai.load import poisson_offsets_s, run_shaped
from engine.backends.openai.stream import StreamOutcome, stream_request
from engine.config import TrialConfig
from engine.errors import UnsupportedError
from engine.meters import devices, nvml
from engine.models.resolve import resolve
from engine.results import Measurement, RequestRecord

_USAGE_METHOD = "server usage (stream_options.include_usage) where reported, else estimated by local re-tokenization"


def is_loopback(base_url: str) -> bool:
    """True if the URL's host is this machine (localhost or a loopback address)."""
    host = urlsplit(base_url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Backend(BaseBackend):
    """Streams completions or chat completions to `base_url` under the trial's load shape."""

    name: ClassVar[str] = "openai"
    ttft_method: ClassVar[str] = (
        "start: perf_counter just before the request is sent (the server templates and tokenizes); first/last "
        "token: arrival of the first/last server-sent event carrying text at the worker (network and server "
        "queueing included; the usage event and [DONE] after the last text are not counted)")

    @classmethod
    @classmethod
    def gpus(cls, config: TrialConfig) -> devices.DeviceSet:
        """A loopback server's GPUs: those where NVML lists a compute process of the server."""
        url = urlsplit(config.engine_options.base_url)
        if not is_loopback(config.engine_options.base_url):
            return devices.none("remote server: its GPUs are not observable from this machine")
        return devices.server_gpus(url.port or (443 if url.scheme == "https" else 80))

    @classmethod
    def check(cls, config: TrialConfig) -> None:
        c = config.common
        try:
            resolve(c.model)
        except Exception as exc:
            raise UnsupportedError("model", "the openai backend builds prompts with the local tokenizer of "
                                   f"'model' (demo, a folder or an HF-cache id), which did not resolve: {exc}"
                                   ) from None

    def __init__(self, config: TrialConfig) -> None:
        super().__init__(config)
        self._tokenizer: Any = None
        self.served_model: str | None = None
        self._gaps_ms: list[float] = []
        self._usage_reported = 0  # over the measured repetitions so far
        self._requests = 0
        self._ssl_context: Any = None

    def load(self) -> LoadInfo:
        from transformers import AutoTokenizer

        source = resolve(self.config.common.model)
        self._tokenizer = AutoTokenizer.from_pretrained(str(source.path), gguf_file=source.gguf_file,
                                                        trust_remote_code=self.config.common.trust_remote_code)
        o = self.config.engine_options
        self.served_model = self._served_model(o.base_url)
        # Built once here: an SSL context per repetition would cost ~0.1 s inside the measured window.
        self._ssl_context = ssl.create_default_context()
        local = is_loopback(o.base_url)
        resolved = {"base_url": o.base_url, "served_model": self.served_model, "tokenizer": str(source.path),
                    "server_local": local,
                    "device": "cuda" if local and nvml.gpus()[0] else "remote"}
        where = ("the server is local (loopback): CPU/GPU energy and GPU memory are this machine's, which the "
                 "server shares with other processes" if local else
                 "the server is remote: its memory and energy are not observable and are reported unavailable")
        notes = (where, credentials.key_source(o.api_key_env, o.base_url),
                 "TTFT/ITL/e2e: perf_counter when each server-sent event arrives at the worker (network "
                 "included); e2e ends at the last text-carrying event; ITL = gaps between text-carrying events", "output tokens: " + _USAGE_METHOD)
        return LoadInfo(resolved=resolved, weights_bytes=None, notes=notes)

    def _served_model(self, base_url: str) -> str:
        import httpx

        url = base_url.rstrip("/") + "/models"
        try:
            response = httpx.get(url, headers=self._headers(), timeout=10.0)
            response.raise_for_status()
            models = [m["id"] for m in response.json().get("data", [])]
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            raise UnsupportedError("base_url", f"no OpenAI-compatible server answered GET {url}: "
                                   f"{type(exc).__name__}: {exc}") from None
        if not models:
            raise UnsupportedError("base_url", f"the server at {base_url} lists no models")
        return models[0]

    def _headers(self) -> dict[str, str]:
        o = self.config.engine_options
        key = credentials.api_key(o.api_key_env, o.base_url)
        return {"Authorization": f"Bearer {key}"} if key else {}

    def tokenizer(self) -> Any:
        return self._tokenizer

    def output_token_counting(self) -> tuple[str, bool]:
        usage = ("the server's usage.completion_tokens (whether it counts the EOS token is the server's "
                 "convention; vLLM counts it)")
        local = self._requests - self._usage_reported
        if local == 0:
            return usage, False
        return (f"estimated for {local} of {self._requests} requests by re-tokenizing the streamed text with "
                f"the local tokenizer {self._tokenizer.name_or_path} (the EOS token is not counted: servers do "
                f"not stream it); " + usage + " for the rest"), True

    def inter_token_gaps_ms(self) -> list[float]:
        return list(self._gaps_ms)

    def run(self, config: TrialConfig, requests: Sequence[Request], repetition: int, t0: float,
            cancel: threading.Event, progress: ProgressFn) -> list[RequestRecord]:
        outcomes = asyncio.run(self._run(config, requests, repetition, t0, cancel, progress))
        self._gaps_ms = [g for o in outcomes for g in o.gaps_ms]
        if repetition <= 0:  # warm-up (-1) or the first measured repetition: start counting afresh
            self._requests = self._usage_reported = 0
        self._requests += len(outcomes)
        self._usage_reported += sum(o.usage_reported for o in outcomes)
        return [o.record for o in outcomes]

    async def _run(self, config: TrialConfig, requests: Sequence[Request], repetition: int, t0: float,
                   cancel: threading.Event, progress: ProgressFn) -> list[StreamOutcome]:
        import httpx

        c, o = config.common, config.engine_options
        endpoint = "completions" if o.endpoint == "completions" else "chat/completions"
        url = o.base_url.rstrip("/") + "/" + endpoint
        headers = self._headers()
        in_flight = c.batch_size if o.load_shape == "concurrency" else len(requests)
        limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
        async with httpx.AsyncClient(timeout=httpx.Timeout(o.request_timeout_s), limits=limits,
                                     verify=self._ssl_context) as client:
            jobs = [self._job(client, url, headers, config, r, repetition, t0) for r in requests]
            if o.load_shape == "concurrency":
                return await run_shaped(jobs, concurrency=c.batch_size, offsets_s=None, cancel=cancel,
                                        on_done=progress)
            offsets = poisson_offsets_s(len(requests), o.request_rate, c.seed * 1000 + repetition + 1)
            return await run_shaped(jobs, concurrency=None, offsets_s=offsets, cancel=cancel, on_done=progress)

    def _job(self, client: Any, url: str, headers: dict[str, str], config: TrialConfig, request: Request,
             repetition: int, t0: float) -> Any:
        payload = self._payload(config, request)
        meta = {"repetition": repetition, "index": request.index, "input_tokens": request.input_tokens}
        timeout_s = config.engine_options.request_timeout_s
        return lambda: stream_request(client, url, payload, headers, meta, t0, timeout_s, self._count)

    def _count(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False))

    def _payload(self, config: TrialConfig, request: Request) -> dict[str, Any]:
        c = config.common
        payload: dict[str, Any] = {
            "model": self.served_model, "max_tokens": request.max_new_tokens, "temperature": c.temperature,
            "top_p": c.top_p, "seed": c.seed, "n": 1, "stream": True,
            "stream_options": {"include_usage": True},
        }
        if c.ignore_eos:
            payload["ignore_eos"] = True  # vLLM/SGLang extension for fixed output lengths
        if config.engine_options.endpoint == "chat":
            prompt = request.prompt
            payload["messages"] = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        else:
            payload["prompt"] = prompt_text(self._tokenizer, request.prompt)
        return payload

    def extra_metrics(self) -> dict[str, Measurement]:
        """Replace figures the client cannot observe of the server, and say how tokens were counted."""
        local = is_loopback(self.config.engine_options.base_url)
        out = {
            "usage_reported_requests": Measurement.measured(
                self._usage_reported, "requests", f"measured requests (of {self._requests}, all repetitions) "
                "whose output tokens came from the server's usage; the rest were re-tokenized locally"),
            "peak_rss_bytes": Measurement.unavailable("B", "the server's process memory is not observable "
                                                      "from the client worker"),
            "peak_cuda_allocated_bytes": Measurement.unavailable("B", "allocations happen in the server process"),
            "peak_cuda_reserved_bytes": Measurement.unavailable("B", "allocations happen in the server process"),
        }
        if not local:
            reason = "remote server: its energy and memory are not observable from this machine"
            for name, unit in (("gpu_energy_j", "J"), ("gpu_energy_net_j", "J"), ("gpu_mean_power_w", "W"),
                               ("gpu_j_per_output_token", "J/tok"), ("cpu_energy_j", "J"),
                               ("cpu_energy_net_j", "J"), ("cpu_j_per_output_token", "J/tok"), ("energy_j_per_output_token", "J/tok"),
                               ("peak_gpu_memory_used_bytes", "B")):
                out[name] = Measurement.unavailable(unit, reason)
        return out

    def unload(self) -> None:
        self._tokenizer = None

