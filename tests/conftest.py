"""Shared fixtures: the real demo model (materialized once per machine) and an isolated data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# Tests never reach a hub; keep the user's real data dir untouched but reuse the materialized demo model.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def demo_model_dir() -> Path:
    """The real demo model's safetensors folder (materialized on first use, ~20 s, then cached).

    Prepared in a child process, as the first-run dialog does: materializing imports torch and
    transformers, which must never enter the test process (tests assert the app core never imports them)."""
    proc = subprocess.run([sys.executable, "-m", "engine.models", "prepare"], capture_output=True, text=True,
                          timeout=600, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not events or events[-1]["event"] != "done":
        pytest.fail(f"preparing the demo model failed (exit {proc.returncode}): {events[-1:]} {proc.stderr[-2000:]}")
    return Path(events[-1]["path"])


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_model_dir: Path) -> Path:
    """A fresh INFERLAB_DATA_DIR whose models/ links to the already-materialized demo model."""
    root = tmp_path / "data"
    (root / "models").mkdir(parents=True)
    (root / "models" / demo_model_dir.name).symlink_to(demo_model_dir)
    monkeypatch.setenv("INFERLAB_DATA_DIR", str(root))
    return root


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real Python with nothing installed (venv --without-pip): it cannot host the engine."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    return str(venv / "bin" / "python")
