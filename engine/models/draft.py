"""A self-speculative draft model: the demo model cut to its first N decoder layers (a layer-skip draft that
shares the demo's embeddings, final norm, LM head and tokenizer), saved once as a model folder in the data
dir, `<models>/SmolLM2-135M-Instruct-draft-<N>L`. Needs transformers; the worker's Python runs it
(`python -m engine.models draft --layers N`).
"""

from __future__ import annotations

import fcntl
import json
import shutil
from pathlib import Path

from engine.models import demo
from engine.paths import models_dir


def draft_dir(layers: int) -> Path:
    """The folder of the demo's `layers`-layer draft."""
    return models_dir() / f"{demo.DEMO_NAME}-draft-{layers}L"


def build_draft(layers: int) -> Path:
    """Build the demo's first-`layers` draft once (process-safe) and return its folder."""
    target = draft_dir(layers)
    if (target / demo.DONE_MARKER).exists():
        return target
    source = demo.ensure_demo_model()
    total = json.loads((source / "config.json").read_text(encoding="utf-8"))["num_hidden_layers"]
    if not 1 <= layers < total:  # refused before any weights load
        raise ValueError(f"layers must be between 1 and {total - 1} (the demo model has {total}); got {layers}")
    with open(target.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / demo.DONE_MARKER).exists():
            _save_truncated(source, target, layers)
    return target


def _save_truncated(source: Path, target: Path, layers: int) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(source), dtype="float32")
    total = model.config.num_hidden_layers
    model.model.layers = model.model.layers[:layers]
    model.config.num_hidden_layers = layers
    if getattr(model.config, "layer_types", None):
        model.config.layer_types = model.config.layer_types[:layers]
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging)
    AutoTokenizer.from_pretrained(str(source)).save_pretrained(staging)
    (staging / demo.DONE_MARKER).write_text(f"first {layers} of {total} decoder layers of {source.name}\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
