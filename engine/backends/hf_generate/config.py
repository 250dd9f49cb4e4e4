"""Options of the `hf-generate` backend (transformers `model.generate` on left-padded batches)."""

from __future__ import annotations

import dataclasses

from engine.schema import option

KV_CACHE_DTYPES = ("auto", "quanto-int4", "quanto-int2")


@dataclasses.dataclass(frozen=True)
class Options:
    attn_implementation: str = option("sdpa", "Attention kernel.", choices=("sdpa", "eager"), load_time=True)
    cache_implementation: str = option("dynamic", "KV cache: dynamic, or static (fast with torch.compile).",
                                       choices=("dynamic", "static"))
    kv_cache_dtype: str = option("auto", "KV cache precision: the model's dtype, or quantized to 4 or 2 bits by "
                                 "optimum-quanto (transformers QuantizedCache; the newest tokens, up to 128, stay "
                                 "in the model's dtype until quantized).", choices=KV_CACHE_DTYPES)
    torch_compile: bool = option(False, "Compile the forward pass with torch.compile.", load_time=True,
                                 advanced=True)
