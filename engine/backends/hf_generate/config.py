"""Options of the `hf-generate` backend (transformers `model.generate` on left-padded batches)."""

from __future__ import annotations

import dataclasses

from engine.schema import option


@dataclasses.dataclass(frozen=True)
class Options:
    attn_implementation: str = option("sdpa", "Attention kernel.", choices=("sdpa", "eager"), load_time=True)
    cache_implementation: str = option("dynamic", "KV cache: dynamic, or static (fast with torch.compile).",
                                       choices=("dynamic", "static"))
    torch_compile: bool = option(False, "Compile the forward pass with torch.compile.", load_time=True,
                                 advanced=True)
