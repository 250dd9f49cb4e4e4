"""How to start engine code (`python -m engine.…`) in an interpreter other than the app's own.

The engine ships as plain source: in a checkout it is the repository's `engine/`; in the PyInstaller
bundle it is `_internal/engine_src/engine/` (a folder of its own, so that putting it on another
interpreter's PYTHONPATH exposes nothing else of the bundle, e.g. its numpy built for another Python).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import engine


def engine_source_root() -> Path:
    """The folder that contains the `engine` package's source (goes on PYTHONPATH)."""
    if getattr(sys, "frozen", False):
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "engine_src"
    return Path(engine.__file__).resolve().parents[1]


def engine_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) with the engine source first on PYTHONPATH."""
    env = dict(os.environ if base is None else base)
    parts = [str(engine_source_root())] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(parts)
    env["PYTHONUNBUFFERED"] = "1"
    return env
