"""Materialize the demo model: dequantize its GGUF once into a safetensors folder (needs transformers).

Kept apart from `engine.models.demo`, which the GUI and the CLI import: only the worker's Python runs
this module, in-process (`python -m engine.models prepare`) or as that child of `demo.ensure_demo_model`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from engine.models.demo import DONE_MARKER, demo_gguf_path, demo_model_dir, is_materialized

# Steps reported to a `prepare_demo_model(progress=...)` callback, in order, as progress(step, done, total).
STEPS = ("locate", "lock", "tokenizer", "dequantize", "save", "done")
ProgressCallback = Callable[[str, int, int], None]


def prepare_demo_model(progress: ProgressCallback | None = None) -> Path:
    """Materialize the demo model once (process-safe) and return its safetensors folder.

    `progress(step, done, total)` (optional) is called at each of `STEPS` that is reached."""
    report = progress or (lambda step, done, total: None)
    target = demo_model_dir()
    if is_materialized():
        return target
    report("locate", 0, len(STEPS))
    gguf = demo_gguf_path()  # first: a Python without the demo package is told how to add it
    from filelock import FileLock  # an engine base dependency (portable, unlike fcntl)

    lock_path = target.with_suffix(".lock")
    report("lock", 1, len(STEPS))  # waits in the `with` while another process materializes it
    with FileLock(lock_path):
        if not is_materialized():
            _materialize(gguf, target, report)
    report("done", len(STEPS), len(STEPS))
    return target


def _materialize(gguf: Path, target: Path, report: ProgressCallback) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    report("tokenizer", 2, len(STEPS))
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    report("dequantize", 3, len(STEPS))
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True))
    report("save", 4, len(STEPS))
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / DONE_MARKER).write_text(f"materialized from {gguf.name}\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
