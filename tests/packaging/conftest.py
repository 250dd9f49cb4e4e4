"""Fixtures for the dialogs: a real bare interpreter (a venv with nothing installed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real Python with nothing installed (venv --without-pip): it cannot host the engine."""
    venv = tmp_path_factory.mktemp("bare") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    return str(Path(venv) / "bin" / "python")
