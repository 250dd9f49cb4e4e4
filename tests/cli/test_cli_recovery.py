"""`inferlab run` when the store refuses the result (a real second connection holds the database lock
past the store's timeout): the result goes to a recovery file, the CLI says where and exits 3, and
`inferlab import FILE` brings it back; a store that cannot be written at all is refused before any work."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.store import Store
from tests.cli.test_cli_real_sweep import REPO, TINY, _inferlab, _stop_group


@pytest.mark.slow
def test_a_single_run_the_locked_store_refuses_is_saved_reported_and_imported(data_dir: Path,
                                                                               tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    url = f"sqlite:///{db}?timeout=1"
    profile = tmp_path / "one.toml"
    profile.write_text(f'name = "one"\nengine = "hf-generate"\nmodel = "demo"\nrepetitions = 1\n\n[options]\n{TINY}')
    proc = _inferlab("run", str(profile), "--store", url)
    holder = sqlite3.connect(db, isolation_level=None, timeout=60)
    try:
        assert proc.stderr is not None
        lines = []
        for line in proc.stderr:  # "sweep N: 1 trial(s)": the sweep row is written, the trial is starting
            lines.append(line)
            if line.startswith("sweep "):
                break
        holder.execute("BEGIN EXCLUSIVE")  # held until the CLI has exited
        out, err = proc.communicate(timeout=300)
        err = "".join(lines) + err
    finally:
        holder.close()
        _stop_group(proc)
    assert proc.returncode == 3, err
    assert "NOT STORED (OperationalError: (sqlite3.OperationalError) database is locked)" in err
    (path,) = re.findall(r"^  (/\S+\.json)$", err, re.MULTILINE)
    assert "inferlab import --recover" in err and Path(path).parent == data_dir / "recovery"
    assert "error: the store could not record the end of sweep 1 (OperationalError" in err  # still locked

    done = subprocess.run([sys.executable, "-m", "app.main", "import", path, "--store", url], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"recovered {path} as run ") and not Path(path).exists()
    with Store(url) as store:
        (run,) = store.list_runs()
        assert run.status == "ok" and run.sweep_id == store.latest_sweep("one").id


def test_a_read_only_store_is_refused_before_any_trial_with_exit_3(data_dir: Path, tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli.main import main

    db = tmp_path / "store.db"
    Store(f"sqlite:///{db}").close()
    started = time.monotonic()
    code = main(["run", "cpu-smoke", "--set", "batch_size=1", "--store", f"sqlite:///file:{db}?mode=ro&uri=true"])
    assert code == 3 and time.monotonic() - started < 30
    assert "store: OperationalError: (sqlite3.OperationalError) attempt to write a readonly database" in \
        capsys.readouterr().err


def test_import_of_a_file_that_is_no_recovery_file_without_from_says_what_to_give(
        data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from app.cli.main import main

    other = tmp_path / "bench.json"
    other.write_text('{"elapsed_time": 1.0}')
    assert main(["import", str(other), "--store", f"sqlite:///{tmp_path / 's.db'}"]) == 2
    assert f"{other} is not a recovery file" in capsys.readouterr().err
    assert main(["import", "--recover", "--store", f"sqlite:///{tmp_path / 's.db'}"]) == 0
    assert "no pending recovery files" in capsys.readouterr().out
