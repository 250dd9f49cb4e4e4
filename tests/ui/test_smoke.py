"""The GUI entry points start, show the window, open the store and exit cleanly in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("entry", [["-m", "app.ui.main"], ["-m", "app.main", "gui"]])
def test_gui_entry_point_smoke(entry: list[str], tmp_path: Path, data_dir: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "INFERLAB_NO_FIRST_RUN": "1"}
    proc = subprocess.run([sys.executable, *entry, "--smoke", "--settings", str(tmp_path / "s.ini"),
                           "--store", f"sqlite:///{tmp_path / 'smoke.db'}"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "smoke ok: window shown" in proc.stdout
    assert (tmp_path / "smoke.db").exists() and (tmp_path / "s.ini").exists()
