"""Where a sweep's Optuna study is persisted: a JournalStorage file named by the sweep id.

Beside a SQLite store's file (`<db name>.sweep-<id>.optuna.journal`), else in the data dir's `optuna/`
folder (`<store hash>.sweep-<id>.optuna.journal`, the hash of the store URL without its password, so
two stores' sweep 1 never share a study). Open one with
`optuna-dashboard optuna.storages.JournalStorage(JournalFileBackend(PATH))` or
`optuna-dashboard PATH` (study name `sweep-<id>`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import optuna
import sqlalchemy as sa
from optuna.storages.journal import JournalFileBackend

from engine.paths import data_dir


def journal_path(store_url: str, sweep_id: int) -> Path:
    """The journal file of sweep `sweep_id` of the store at `store_url` (see module docs)."""
    url = sa.engine.make_url(store_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        db = Path(url.database).resolve()
        return db.with_name(f"{db.name}.sweep-{sweep_id}.optuna.journal")
    tag = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:12]
    folder = data_dir() / "optuna"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{tag}.sweep-{sweep_id}.optuna.journal"


def study_name(sweep_id: int) -> str:
    return f"sweep-{sweep_id}"


def journal_storage(path: Path) -> optuna.storages.JournalStorage:
    """A JournalStorage on `path` (created on first write; a process-safe file lock guards appends)."""
    return optuna.storages.JournalStorage(JournalFileBackend(str(path)))
