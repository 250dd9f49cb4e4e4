"""Options of the `openai` backend (any OpenAI-compatible server: vllm serve, llama.cpp, TGI, SGLang)."""

from __future__ import annotations

import dataclasses

from engine.schema import option


@dataclasses.dataclass(frozen=True)
class Options:
    base_url: str = option("http://127.0.0.1:8000/v1", "Server base URL (…/v1).", load_time=True)
    endpoint: str = option("completions", "API used.", choices=("completions", "chat"))
    api_key_env: str = option("OPENAI_API_KEY", "Environment variable holding the API key (or the OS "
                              "keyring entry 'inferlab/<base_url>'); the key is never stored.")
    load_shape: str = option("concurrency", "Fixed concurrency (batch_size requests in flight) or a "
                             "Poisson request rate.", choices=("concurrency", "rate"))
    request_rate: float = option(1.0, "Mean requests/s for load_shape='rate'.", min=0.001, max=100000.0,
                                 unit="req/s")
    request_timeout_s: float = option(120.0, "Per-request timeout.", min=0.1, max=86400.0, unit="s")
