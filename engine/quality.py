"""Quality guard: does a compressed or speculative config still produce what the reference does?

The reference is the same model at full precision (float32, default KV cache), unquantized,
non-speculative, greedy, on the same engine or on the engine's registered reference engine (llama-cpp,
which runs GGUF files only, is compared with hf-generate). Both generate greedily for a few of the
trial's prompts; `quality_agreement` is the share of positions whose token
equals the reference's. `perplexity` is measured on a fixed built-in text; `perplexity_ratio` divides
it by the reference's. Reference figures are cached per reference load key within the worker.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from engine import registry
from engine.backends.base import Backend
from engine.config import TrialConfig
from engine.results import Measurement
from engine.schema import to_dict

QUALITY_PROMPTS = 4
QUALITY_NEW_TOKENS = 32
REFERENCE_TEXT = (
    "The river rises in the hills to the north and runs south through farmland for most of its length. "
    "In spring the water is high and fast, and the fields along its banks are often flooded for a few "
    "days. Farmers plant later in the low fields for this reason. In summer the river is slow and warm, "
    "and children swim at the old stone bridge near the village. The bridge was built more than two "
    "hundred years ago and has been repaired many times. Each autumn the village holds a market on the "
    "square beside the church, where people sell apples, cheese, bread and wool from the farms nearby. "
    "Visitors come from the town by train, and the station master says it is the busiest day of his year."
)


@dataclasses.dataclass(frozen=True)
class Reference:
    token_ids: list[list[int]]
    perplexity: float | None


def reference_config(config: TrialConfig) -> TrialConfig:
    """The trial's reference: the unmodified model at full precision (float32 weights, default KV cache,
    no quantization) with the same decoding minus speculation (greedy), on the same engine, or on the
    engine's registered `reference_engine` (same model and common options, that engine's defaults)."""
    reference_engine = registry.spec(config.engine).reference_engine
    if reference_engine is None:
        flat = config.to_flat()
    else:
        flat = {**to_dict(config.common), "engine": reference_engine}
    flat.update(quantization="none", speculative="none", draft_model=None, temperature=0.0, dtype="float32")
    if "kv_cache_dtype" in flat:
        flat["kv_cache_dtype"] = "auto"
    return TrialConfig.from_flat(flat)


def is_reference(config: TrialConfig) -> bool:
    """True if the config loads exactly what its reference loads (dtype 'auto' is not assumed full precision)."""
    reference = reference_config(config)
    kv = config.to_flat().get("kv_cache_dtype"), reference.to_flat().get("kv_cache_dtype")
    return config.load_key() == reference.load_key() and kv[0] == kv[1]


class QualityGuard:
    """Computes quality figures; `load_reference` builds and loads a backend for a reference config."""

    def __init__(self, load_reference: Callable[[TrialConfig], Backend]) -> None:
        self.load_reference = load_reference
        self._cache: dict[Any, Reference] = {}

    def _reference(self, config: TrialConfig, prompts: Sequence[str]) -> Reference:
        ref_config = reference_config(config)
        key = (ref_config.load_key(), tuple(prompts))
        if key not in self._cache:
            backend = self.load_reference(ref_config)
            try:
                ids = backend.greedy_token_ids(prompts, QUALITY_NEW_TOKENS) or []
                self._cache[key] = Reference(ids, backend.perplexity(REFERENCE_TEXT))
            finally:
                backend.unload()
        return self._cache[key]

    def evaluate(self, backend: Backend, config: TrialConfig, prompts: Sequence[str]) -> dict[str, Measurement]:
        prompts = list(prompts)[:QUALITY_PROMPTS]
        ppl = backend.perplexity(REFERENCE_TEXT)
        out = {"perplexity": Measurement.measured(ppl, "ppl", "exp(mean next-token loss) on InferLab's fixed "
                                                  "reference text") if ppl is not None else
               Measurement.unavailable("ppl", f"the {config.engine} backend exposes no logits")}
        if is_reference(config):
            reason = ("this config is itself the reference (float32, default KV cache, no quantization, "
                      "no speculation)")
            out["quality_agreement"] = Measurement.unavailable("ratio", reason)
            out["perplexity_ratio"] = Measurement.unavailable("ratio", reason)
            return out
        ids = backend.greedy_token_ids(prompts, QUALITY_NEW_TOKENS)
        if ids is None and ppl is None:  # nothing to compare (a server): no reference is loaded
            reason = f"the {config.engine} backend returns neither greedy token ids nor perplexity"
            out["quality_agreement"] = Measurement.unavailable("ratio", reason)
            out["perplexity_ratio"] = Measurement.unavailable("ratio", reason)
            return out
        ref = self._reference(config, prompts)
        if ids is None or not ref.token_ids:
            out["quality_agreement"] = Measurement.unavailable("ratio", f"the {config.engine} backend cannot "
                                                               "return greedy token ids")
        else:
            pairs = list(zip(ids, ref.token_ids, strict=True))
            same = sum(a == b for got, want in pairs for a, b in zip(got, want, strict=False))
            total = sum(min(len(got), len(want)) for got, want in pairs)
            out["quality_agreement"] = Measurement.measured(
                same / max(1, total), "ratio", "position-wise equal greedy tokens vs the float32, unquantized, "
                f"non-speculative reference over {len(ids)} prompts × {QUALITY_NEW_TOKENS} tokens", n=total)
        if ppl is not None and ref.perplexity:
            out["perplexity_ratio"] = Measurement.measured(ppl / ref.perplexity, "ratio",
                                                           "perplexity / the float32 reference's perplexity")
        else:
            out["perplexity_ratio"] = Measurement.unavailable("ratio", "perplexity not computable")
        return out
