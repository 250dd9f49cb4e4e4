"""Options both transformers backends (`hf-generate`, `hf-pipeline`) offer, defined once."""

from __future__ import annotations

from typing import Any

from engine.schema import option

KV_CACHE_DTYPES = ("auto", "quanto-int4", "quanto-int2")


def kv_cache_dtype_option() -> Any:
    """The `kv_cache_dtype` option: the model's dtype, or transformers' QuantizedCache (optimum-quanto)."""
    return option("auto", "KV cache precision: the model's dtype, or quantized to 4 or 2 bits by optimum-quanto "
                  "(transformers QuantizedCache; the newest tokens, up to 128, stay in the model's dtype until "
                  "quantized).", choices=KV_CACHE_DTYPES)
