"""A measured result is never lost: when the store fails the write for real (a read-only database, a
database locked by another connection past the timeout, a full file system), the result goes to a
recovery file, the sweep goes on, and `inferlab import` brings it back (then removes the file)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.main import main as inferlab
from app.core.worker_client import WorkerClient
from app.store import Store
from app.store.recovery import add_run_or_recover, pending
from app.sweeps import parse_profile, run_profile

PROFILE = """\
name = "recover-me"
engine = "hf-generate"
model = "demo"
repetitions = 1
tags = ["rec"]

[options]
device = "cpu"
input_tokens = 8
output_tokens = 2
num_requests = 2
warmup_requests = 0
idle_baseline_s = 0.0
telemetry_hz = 20.0

[axes]
batch_size = [1, 2]
"""


def _finished(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"] == "trial-finished"]


@pytest.mark.slow
def test_a_read_only_store_refuses_a_real_result_which_is_saved_and_imported_back(data_dir: Path,
                                                                                  tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    with Store(f"sqlite:///{db}") as store:
        sweep_id = store.create_sweep("recover-me", {}, "grid")
    with WorkerClient() as client:
        result = client.run_trial({"engine": "hf-generate", "model": "demo", "batch_size": 1, "input_tokens": 8,
                                   "output_tokens": 2, "num_requests": 2, "warmup_requests": 0,
                                   "repetitions": 1, "idle_baseline_s": 0.0, "telemetry_hz": 20.0})
    assert result.status == "ok" and result.telemetry
    with Store(f"sqlite:///file:{db}?mode=ro&uri=true") as read_only:
        saved = add_run_or_recover(read_only, result, sweep_id=sweep_id, sweep_name="recover-me", tags=("rec",))
        assert saved.run_id is None and "readonly database" in (saved.store_error or "")
        assert read_only.count_runs() == 0
    assert saved.recovery_file is not None and saved.recovery_file.parent == data_dir / "recovery"
    doc = json.loads(saved.recovery_file.read_text())
    assert doc["format"] == "inferlab-recovery" and doc["context"]["sweep_id"] == sweep_id
    assert doc["result"]["metrics"]["output_tokens_per_s"]["value"] == result.value("output_tokens_per_s")

    assert inferlab(["import", str(saved.recovery_file), "--store", f"sqlite:///{db}"]) == 0
    assert not saved.recovery_file.exists()
    with Store(f"sqlite:///{db}") as store:
        (run,) = store.list_runs()
        detail = store.get_run(run.id)
    assert (run.sweep_id, tuple(run.tags), run.status) == (sweep_id, ("rec",), "ok")
    assert run.value("output_tokens_per_s") == result.value("output_tokens_per_s")
    assert len(detail.telemetry) == len(result.telemetry) and len(detail.requests) == len(result.requests)
    assert any("recovery file" in note for note in detail.notes_list)


@pytest.mark.slow
def test_the_sweep_goes_on_after_a_save_the_locked_database_refuses_and_import_recover_completes_it(
        data_dir: Path, tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    url = f"sqlite:///{db}?timeout=1"
    lock: list[sqlite3.Connection] = []

    events: list[dict] = []

    def on_event(event: dict) -> None:
        events.append(event)
        if event["type"] == "trial-started" and event["index"] == 0:
            holder = sqlite3.connect(db, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")  # a real second writer holding the lock past the timeout
            lock.append(holder)
        elif event["type"] == "trial-started" and event["index"] == 1:
            lock[0].execute("COMMIT")
            lock[0].close()

    with Store(url) as store:
        sweep_id = run_profile(parse_profile(PROFILE, "recover.toml"), store, on_event=on_event)
        first, second = _finished(events)
        assert first["run_id"] is None and "database is locked" in first["store_error"]
        assert first["status"] == "ok" and Path(first["recovery_file"]).exists(), first
        assert second["run_id"] is not None and "recovery_file" not in second  # the sweep went on
        assert store.get_sweep(sweep_id).status == "finished" and store.count_runs() == 1

    assert inferlab(["import", "--recover", "--store", url]) == 0
    assert pending() == []
    with Store(url) as store:
        runs = store.list_runs(sweep_id=sweep_id, sort="id")
        assert [r.config["batch_size"] for r in runs] == [2, 1] and all(r.status == "ok" for r in runs)
        assert runs[1].value("output_tokens_per_s") == first["metrics"]["output_tokens_per_s"]
        events.clear()
        run_profile(parse_profile(PROFILE, "recover.toml"), store, on_event=events.append, resume=True)
        assert [e["type"] for e in events].count("trial-skipped") == 2  # resume sees the recovered trial


@contextlib.contextmanager
def _small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): the full-disk case needs one")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def _fill(folder: Path) -> Path:
    """Write zeros until the file system says it is full (ENOSPC); returns the filler file."""
    filler = folder / "filler"
    with open(filler, "wb") as f:
        with contextlib.suppress(OSError):  # the point: write until the disk is full
            while True:
                f.write(b"\0" * 65536)
                f.flush()
    return filler


@pytest.mark.slow
def test_a_full_file_system_sends_the_result_to_recovery_and_the_sweep_still_ends(data_dir: Path,
                                                                                  tmp_path: Path) -> None:
    with _small_tmpfs(tmp_path / "small", "2m") as small:
        db = small / "store.db"
        url = f"sqlite:///{db}"
        one = parse_profile(PROFILE.replace("batch_size = [1, 2]", "batch_size = [1]"), "recover.toml")
        fillers: list[Path] = []
        events: list[dict] = []

        def on_event(event: dict) -> None:
            events.append(event)
            if event["type"] == "trial-started":
                with sqlite3.connect(db) as conn:  # the WAL's room would otherwise be reused
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                fillers.append(_fill(small))

        with Store(url) as store:
            sweep_id = run_profile(one, store, on_event=on_event)
            (finished,) = _finished(events)
            assert finished["run_id"] is None and "full" in finished["store_error"], finished["store_error"]
            assert events[-1]["type"] == "sweep-finished"  # the end was reported even with no room left
            fillers[0].unlink()
            assert inferlab(["import", "--recover", "--store", url]) == 0
            (run,) = store.list_runs()
            assert run.sweep_id == sweep_id and run.status == "ok" and pending() == []
            store.close()
