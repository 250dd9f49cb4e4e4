"""The CLI end to end on the real demo model, in real `inferlab` subprocesses and a real SQLite file:
a sweep killed with SIGKILL mid-way keeps its finished runs and resumes; a failing trial is recorded
with its cause while the sweep goes on; Ctrl-C cancels the running trial, records it, exits 130."""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.store import Store

REPO = Path(__file__).resolve().parents[2]
TINY = """\
device = "cpu"
input_tokens = 8
output_tokens = 2
num_requests = 2
warmup_requests = 0
idle_baseline_s = 0.0
telemetry_hz = 10.0
"""


def _inferlab(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "app.main", *args], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """Clean up whatever of the process group is left (the worker, if it outlived its parent)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _count(db: Path, where: str) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        try:
            return conn.execute(f"SELECT count(*) FROM runs WHERE {where}").fetchone()[0]
        except sqlite3.OperationalError:  # tables not created yet
            return 0


@pytest.mark.slow
def test_sigkill_mid_sweep_keeps_finished_runs_and_resume_completes(data_dir: Path, tmp_path: Path) -> None:
    # A prompt file that exists (the front door checks that) but holds no JSON: only the worker, reading
    # it, can tell; that trial fails with its cause while the sweep goes on.
    bad_prompts = tmp_path / "bad.jsonl"
    bad_prompts.write_text("not json\n")
    profile = tmp_path / "kill.toml"
    profile.write_text(f'name = "kill-resume"\nengine = "hf-generate"\nrepetitions = 1\n\n[options]\n{TINY}'
                       f'prompt_file = "{bad_prompts}"\n\n[axes]\nworkload = ["jsonl", "synthetic"]\n'
                       'batch_size = { values = [1, 2], when = { workload = "synthetic" } }\n')
    db = tmp_path / "store.db"
    url = f"sqlite:///{db}"
    proc = _inferlab("sweep", str(profile), "--store", url)
    try:
        deadline = time.monotonic() + 240
        while _count(db, "status = 'ok'") < 1:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no finished trial within 240 s"
            time.sleep(0.2)
        proc.kill()  # SIGKILL the sweep process itself, mid-sweep
        proc.wait(timeout=30)
    finally:
        time.sleep(1)
        _stop_group(proc)

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Store(url) as store:
        before = store.list_runs(sort="id")
        failed = [r for r in before if r.status == "failed"]
        assert [r.failure_cause for r in failed] == ["invalid-config"], [(r.failure_cause, r.failure_message)
                                                                        for r in failed]
        assert str(bad_prompts) in (failed[0].failure_message or "")
        finished = {r.id for r in before}
        ok_run = store.get_run(next(r.id for r in before if r.status == "ok"))
        assert ok_run.summary.value("output_tokens_per_s") and ok_run.requests and ok_run.telemetry

    resumed = _inferlab("sweep", str(profile), "--store", url, "--resume", "--json")
    try:
        out, err = resumed.communicate(timeout=240)
    finally:
        _stop_group(resumed)
    assert resumed.returncode == 1, err  # 1: the sweep holds a failed trial
    assert "already done" in err
    report = json.loads(out)
    assert report["status"] == "finished"
    runs = report["runs"]
    assert {r["id"] for r in runs} >= finished  # nothing finished was lost or redone
    configs = [(r["config"]["workload"], r["config"]["batch_size"]) for r in runs]
    assert len(configs) == len(set(configs)) == 3
    assert sorted(r["status"] for r in runs) == ["failed", "ok", "ok"]
    with Store(url) as store:
        assert len(store.list_sweeps()) == 1 and store.list_sweeps()[0].run_count == 3


@pytest.mark.slow
def test_ctrl_c_cancels_the_running_trial_and_exits_130(data_dir: Path, tmp_path: Path) -> None:
    profile = tmp_path / "long.toml"
    long_trial = TINY.replace("output_tokens = 2", "output_tokens = 64").replace("num_requests = 2",
                                                                                  "num_requests = 8")
    profile.write_text(f'name = "ctrl-c"\nengine = "hf-generate"\nrepetitions = 1\n\n[options]\n{long_trial}\n'
                       "[axes]\nbatch_size = [1, 2]\n")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    proc = _inferlab("run", str(profile), "--set", "batch_size=1", "--store", url)
    lines: queue.Queue[str] = queue.Queue()
    assert proc.stderr is not None
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stderr], daemon=True).start()
    try:
        seen = ""
        while "model loaded" not in seen:
            seen += lines.get(timeout=240)
        time.sleep(2)  # into the measured requests (8 × 64 tokens: minutes, so surely mid-trial)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
        assert proc.wait(timeout=60) == 130
    finally:
        _stop_group(proc)
    with Store(url) as store:
        runs = store.list_runs()
    assert [(r.status, r.failure_cause) for r in runs] == [("cancelled", "cancelled")]
