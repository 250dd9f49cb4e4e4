"""Where InferLab keeps its files: the user's data dir by platform convention, or INFERLAB_DATA_DIR."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The data dir (created): models, the default store, logs."""
    override = os.environ.get("INFERLAB_DATA_DIR")
    if override:
        path = Path(override)
    else:
        import platformdirs

        path = Path(platformdirs.user_data_dir("inferlab", appauthor=False))
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    """Where materialized models (the demo model's safetensors folder) live."""
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
