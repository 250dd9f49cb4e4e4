"""Options of the `hf-pipeline` backend (`transformers.pipeline("text-generation")` as users call it)."""

from __future__ import annotations

import dataclasses

from engine.backends.hf_options import kv_cache_dtype_option
from engine.schema import option


@dataclasses.dataclass(frozen=True)
class Options:
    attn_implementation: str = option("sdpa", "Attention kernel.", choices=("sdpa", "eager"), load_time=True)
    kv_cache_dtype: str = kv_cache_dtype_option()
