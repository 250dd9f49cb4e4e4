"""The import-linter contracts in pyproject.toml really hold the boundaries the README states."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_copy(tmp_path: Path, plant: str | None = None, line: str = "") -> subprocess.CompletedProcess[str]:
    """Run lint-imports on a copy of app/, engine/ and pyproject.toml, with `line` appended to `plant`."""
    for name in ("app", "engine"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    if plant:
        with open(tmp_path / plant, "a", encoding="utf-8") as f:
            f.write(line)
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    return subprocess.run([str(LINT_IMPORTS), "--config", "pyproject.toml", "--no-cache"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_tree_as_it_is_keeps_every_contract(tmp_path: Path) -> None:
    done = _lint_copy(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(("module", "line"), [
    ("engine/config.py", "\nimport torch  # noqa\n"),
    ("engine/schema.py", "\nimport transformers  # noqa\n"),
    ("engine/models/resolve.py", "\n\ndef _lazy():\n    import torch  # noqa\n"),
])
def test_torch_planted_in_a_module_the_gui_imports_breaks_the_gui_contract(tmp_path: Path, module: str,
                                                                            line: str) -> None:
    done = _lint_copy(tmp_path, module, line)
    assert done.returncode != 0
    assert "The GUI never imports torch, transformers or vLLM BROKEN" in done.stdout
    assert "app.ui is not allowed to import" in done.stdout
