"""Options of the `llama-cpp` backend (llama-cpp-python running a GGUF file as stored)."""

from __future__ import annotations

import dataclasses

from engine.schema import option


@dataclasses.dataclass(frozen=True)
class Options:
    n_ctx: int = option(2048, "Context window in tokens (prompt plus generated tokens of one request must fit; "
                        "the KV cache is allocated for all of it at load).", min=16, max=131072, unit="tokens",
                        load_time=True)
    n_threads: int | None = option(None, "CPU threads for prompt processing and decoding (None: InferLab's "
                                   "compute threads, i.e. the available cores or INFERLAB_NUM_THREADS).",
                                   min=1, max=1024, load_time=True)
    n_batch: int = option(512, "Prompt tokens evaluated per llama_decode call (prompt-processing chunk).",
                          min=1, max=131072, unit="tokens", load_time=True)
    flash_attn: bool = option(False, "llama.cpp's flash-attention kernel.", load_time=True, advanced=True)
