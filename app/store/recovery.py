"""Recovery files: a measured result the store could not write is never lost.

When the store refuses or fails a write (disk full, database locked past its timeout, a read-only
file, a constraint), `add_run_or_recover` writes the full result as the worker produced it, with its
telemetry and its sweep context, to a JSON file in `<data dir>/recovery/` and says where.
`import_recovery` brings one back into a store (`inferlab import FILE`, `inferlab import --recover`,
and the GUI at start); the file is removed only after the run is committed. A file whose trial is in
the store already (a crash between the commit and the removal) is removed without a second copy.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

from app.store.store import Store, StoreError
from engine.paths import data_dir
from engine.results import TrialResult

FORMAT = "inferlab-recovery"
VERSION = 1
# What a failed write raises: the database's own errors (locked, full, read-only, a constraint), the
# file system's, and the store's refusal of a value.
WRITE_ERRORS: tuple[type[BaseException], ...] = (sa.exc.SQLAlchemyError, OSError, StoreError)


@dataclasses.dataclass(frozen=True)
class Saved:
    """Where a result went: a run id, or the recovery file and the store's error."""

    run_id: int | None
    recovery_file: Path | None = None
    store_error: str | None = None


@dataclasses.dataclass(frozen=True)
class Recovered:
    """A recovery file read back: the result and the context it was measured in."""

    path: Path
    result: TrialResult
    sweep_id: int | None
    sweep_name: str | None
    tags: tuple[str, ...]
    source: str
    store_error: str


def recovery_dir() -> Path:
    """`<data dir>/recovery` (created)."""
    path = data_dir() / "recovery"
    path.mkdir(parents=True, exist_ok=True)
    return path


def pending() -> list[Path]:
    """The recovery files not imported yet, oldest first."""
    return sorted(recovery_dir().glob("*.json"))


def add_run_or_recover(store: Store, result: TrialResult, *, sweep_id: int | None = None,
                       sweep_name: str | None = None, tags: Iterable[str] = (), source: str = "inferlab") -> Saved:
    """`store.add_run`, or, when the store fails the write, a recovery file (see module docs)."""
    tags = tuple(tags)
    try:
        return Saved(store.add_run(result, sweep_id=sweep_id, tags=tags, source=source))
    except WRITE_ERRORS as exc:
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        path = save(result, store_url=store.url, store_error=error, sweep_id=sweep_id, sweep_name=sweep_name,
                    tags=tags, source=source)
        return Saved(None, path, error)


def save(result: TrialResult, *, store_url: str, store_error: str, sweep_id: int | None, sweep_name: str | None,
         tags: tuple[str, ...], source: str) -> Path:
    """Write one recovery file (whole or not at all: temp file, fsync, rename); returns its path."""
    doc = {"format": FORMAT, "version": VERSION, "saved_at": time.time(), "store_error": store_error,
           "store_url": sa.make_url(store_url).render_as_string(hide_password=True),
           "context": {"sweep_id": sweep_id, "sweep_name": sweep_name, "tags": list(tags), "source": source},
           "result": result.to_dict()}
    folder = recovery_dir()
    path = folder / f"{time.strftime('%Y%m%d-%H%M%S')}-{result.trial_id or 'trial'}.json"
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(doc, f, default=str)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def is_recovery_file(path: Path) -> bool:
    """Whether `path` is a JSON file in this format (False for other tools' results)."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def load(path: Path) -> Recovered:
    """Read a recovery file; ValueError naming the file and the key that is wrong."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path}: format: expected {FORMAT!r}")
    if doc.get("version") != VERSION:
        raise ValueError(f"{path}: version: {doc.get('version')!r}, this InferLab reads {VERSION}")
    context = doc.get("context")
    if not isinstance(context, dict):
        raise ValueError(f"{path}: context: expected an object")
    try:
        result = TrialResult.from_dict(doc["result"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: result: {type(exc).__name__}: {exc}") from None
    return Recovered(Path(path), result, context.get("sweep_id"), context.get("sweep_name"),
                     tuple(context.get("tags") or ()), str(context.get("source") or "inferlab"),
                     str(doc.get("store_error", "")))


def import_recovery(store: Store, path: Path) -> int:
    """Add the file's run to `store` (in its sweep when that sweep is in this store), then remove the
    file; returns the run id. A failed write raises and keeps the file."""
    rec = load(path)
    existing = store.find_trial(rec.result.trial_id)
    if existing is None:
        result = dataclasses.replace(rec.result, notes=[*rec.result.notes, (
            f"stored from recovery file {rec.path.name}: the first write failed ({rec.store_error})")])
        existing = store.add_run(result, sweep_id=_same_sweep(store, rec), tags=rec.tags, source=rec.source)
    rec.path.unlink()
    return existing


def _same_sweep(store: Store, rec: Recovered) -> int | None:
    """The recorded sweep id if this store has a sweep of that id and name (else the run stands alone)."""
    if rec.sweep_id is None:
        return None
    try:
        sweep = store.get_sweep(rec.sweep_id)
    except StoreError:
        return None
    return sweep.id if sweep.name == rec.sweep_name else None
