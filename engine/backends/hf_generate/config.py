"""Options of the `hf-generate` backend (transformers `model.generate` on left-padded batches)."""

from __future__ import annotations

import dataclasses

from engine.backends.hf_options import kv_cache_dtype_option
from engine.schema import option


@dataclasses.dataclass(frozen=True)
class Options:
    attn_implementation: str = option("sdpa", "Attention kernel.", choices=("sdpa", "eager"), load_time=True)
    cache_implementation: str = option("dynamic", "KV cache: dynamic, or static (fast with torch.compile).",
                                       choices=("dynamic", "static"))
    kv_cache_dtype: str = kv_cache_dtype_option()
    torch_compile: bool = option(False, "Compile the forward pass with torch.compile.", load_time=True,
                                 advanced=True)
