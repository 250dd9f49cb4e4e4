"""Backend registry. Each backend is a package `engine/backends/<pkg>/` with:

- `config.py`: `Options`, a frozen dataclass of the engine's own options (pure Python, no torch);
- `backend.py`: `Backend`, a subclass of `engine.backends.base.Backend` (imports its library lazily).

Adding an engine means adding a folder and one line below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.backends.base import Backend

PACKAGES = {
    "hf-pipeline": "engine.backends.hf_pipeline",
    "hf-generate": "engine.backends.hf_generate",
    "vllm": "engine.backends.vllm",
    "openai": "engine.backends.openai",
}
NAMES = tuple(PACKAGES)


def options_class(engine: str) -> type:
    """The engine's options dataclass (cheap: imports no inference library)."""
    return importlib.import_module(PACKAGES[engine] + ".config").Options


def backend_class(engine: str) -> type[Backend]:
    """The engine's Backend class (its module imports its library lazily, inside methods)."""
    return importlib.import_module(PACKAGES[engine] + ".backend").Backend
