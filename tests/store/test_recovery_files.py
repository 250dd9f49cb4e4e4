"""Recovery files on real SQLite: an import that the store fails keeps the file (exit 3), a file whose
trial is stored already is removed without a second copy, a damaged file is refused by file and key."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from app.cli.main import main as inferlab
from app.store import Store
from app.store.recovery import add_run_or_recover, pending
from engine.causes import FailureCause
from engine.results import TrialResult


def _refused(db: Path, trial_id: str = "t-1") -> Path:
    """A recovery file made by a real refusal: the database opened read-only."""
    Store(f"sqlite:///{db}").close()
    now = time.time()
    result = TrialResult(trial_id, {"engine": "hf-generate", "model": "/nope"}, "failed",
                         failure_cause=FailureCause.INVALID_CONFIG, failure_message="model: no such folder",
                         started_at=now, finished_at=now)
    with Store(f"sqlite:///file:{db}?mode=ro&uri=true") as store:
        saved = add_run_or_recover(store, result)
    assert saved.recovery_file is not None
    return saved.recovery_file


def test_an_import_the_locked_store_fails_keeps_the_file_and_exits_3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INFERLAB_DATA_DIR", str(tmp_path / "data"))
    db = tmp_path / "store.db"
    path = _refused(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert inferlab(["import", "--recover", "--store", f"sqlite:///{db}?timeout=0.5"]) == 3
    finally:
        holder.close()
    assert "the store could not take it, the file is kept" in capsys.readouterr().err
    assert pending() == [path]
    assert inferlab(["import", "--recover", "--store", f"sqlite:///{db}"]) == 0
    assert pending() == []


def test_a_file_whose_trial_is_stored_already_is_removed_without_a_second_copy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERLAB_DATA_DIR", str(tmp_path / "data"))
    db = tmp_path / "store.db"
    path = _refused(db)
    copy = shutil.copy(path, tmp_path / "copy.json")  # as if the import crashed between commit and removal
    assert inferlab(["import", str(path), "--store", f"sqlite:///{db}"]) == 0
    shutil.move(copy, path)
    assert inferlab(["import", str(path), "--store", f"sqlite:///{db}"]) == 0
    with Store(f"sqlite:///{db}") as store:
        assert store.count_runs() == 1 and pending() == []


def test_a_damaged_recovery_file_is_refused_naming_file_and_key_and_kept(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INFERLAB_DATA_DIR", str(tmp_path / "data"))
    db = tmp_path / "store.db"
    path = _refused(db)
    doc = json.loads(path.read_text())
    doc["result"]["failure_cause"] = "gremlins"
    path.write_text(json.dumps(doc))
    assert inferlab(["import", "--recover", "--store", f"sqlite:///{db}"]) == 2
    assert f"{path}: result: ValueError: failure cause 'gremlins' is not one of" in capsys.readouterr().err
    assert pending() == [path]
