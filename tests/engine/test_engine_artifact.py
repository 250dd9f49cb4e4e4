"""The engine as one file (docs/running-vllm.md's engine-only steps, run as written): `inferlab
engine-pyz` writes a reproducible zipapp; a Python with the engine's few dependencies runs it (`--check`
says which backends it can drive); one without them is told the exact install command, no traceback."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from app.core.engine_artifact import FIXED_TIME, build

REPO = Path(__file__).resolve().parents[2]


def _write_pyz(folder: Path) -> Path:
    done = subprocess.run([sys.executable, "-m", "app.cli.main", "engine-pyz", "-o", str(folder)],
                          capture_output=True, text=True, timeout=120, check=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    return Path(done.stdout.strip())


def test_the_artifact_is_reproducible_and_named_by_its_hash(tmp_path: Path) -> None:
    path = _write_pyz(tmp_path)
    content = path.read_bytes()
    assert content == build().content  # the same source gives the same bytes, in any process
    digest = hashlib.sha256(content).hexdigest()
    assert path.name == f"inferlab-engine-{digest[:16]}.pyz"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        assert names[0] == "__main__.py" and names[1:] == sorted(names[1:])
        assert "engine/worker.py" in names and not any("__pycache__" in n for n in names)
        assert {info.date_time for info in archive.infolist()} == {FIXED_TIME}


def test_a_python_with_the_engine_dependencies_runs_it_from_any_folder(tmp_path: Path) -> None:
    path = _write_pyz(tmp_path)
    done = subprocess.run([sys.executable, str(path), "--check"], capture_output=True, text=True, timeout=120,
                          cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["backends"]["hf-generate"]["available"] is True


def test_a_python_without_them_is_told_the_exact_install_command(tmp_path: Path, bare_python: str) -> None:
    path = _write_pyz(tmp_path)
    done = subprocess.run([bare_python, str(path)], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          stdin=subprocess.DEVNULL)
    assert done.returncode == 3
    assert f"install with: {bare_python} -m pip install psutil platformdirs" in done.stderr
    assert "Traceback" not in done.stderr
