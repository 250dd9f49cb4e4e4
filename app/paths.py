"""Application locations: the default store lives in the data dir shared with the engine."""

from __future__ import annotations

import os

from engine.paths import data_dir


def default_store_url() -> str:
    """INFERLAB_STORE_URL if set, else a SQLite file in the data dir."""
    return os.environ.get("INFERLAB_STORE_URL") or f"sqlite:///{data_dir() / 'inferlab.db'}"
