"""A new engine is one folder plus one registry entry: a throwaway engine, registered through the
`inferlab.engines` entry-point group from a temp folder on the path, reaches the form, a real worker
process, `inferlab doctor` and the first-run dialog without an edit anywhere else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.worker_client import WorkerClient
from app.ui.experiment_view import ExperimentView
from app.ui.first_run import FirstRunDialog
from engine import registry
from tests.engine.conftest import WORKER_ENV, tiny

REPO = Path(__file__).resolve().parents[2]
# The engine's folder: options of its own, and a Backend (the transformers pipeline under a new name).
FILES = {
    "throwaway_engine/__init__.py": (
        "from engine.registry import EngineSpec, Requirement\n\n"
        "SPEC = EngineSpec('throwaway', 'throwaway_engine', (Requirement('psutil', ('psutil',)),),\n"
        "                  gpu_only={'device': ('cuda',)})\n"),
    "throwaway_engine/config.py": (
        "import dataclasses\n\nfrom engine.schema import option\n\n\n"
        "@dataclasses.dataclass(frozen=True)\nclass Options:\n"
        "    greeting: str = option('hello', 'A throwaway engine option.')\n"),
    "throwaway_engine/backend.py": (
        "from engine.backends.hf_pipeline.backend import Backend as Pipeline\n\n\n"
        "class Backend(Pipeline):\n    name = 'throwaway'\n"),
    "throwaway_engine-0.1.dist-info/METADATA": "Metadata-Version: 2.1\nName: throwaway-engine\nVersion: 0.1\n",
    "throwaway_engine-0.1.dist-info/entry_points.txt": "[inferlab.engines]\nthrowaway = throwaway_engine:SPEC\n",
}


@pytest.fixture()
def throwaway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> Iterator[Path]:
    """The throwaway engine's folder on this process's path and on every child's PYTHONPATH."""
    root = tmp_path / "plugins"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p))
    registry.engines.cache_clear()
    yield root
    registry.engines.cache_clear()


def test_the_form_offers_the_new_engine_with_its_options(qtbot, throwaway: Path) -> None:
    view = ExperimentView()
    qtbot.addWidget(view)
    view.engine_box.setCurrentIndex(view.engine_box.findData("throwaway"))
    assert view.engine_box.currentData() == "throwaway"
    assert "greeting" in view.form.editors
    view.form.set_values({"greeting": "hi"})
    config = view.validate()
    assert config is not None and config.engine == "throwaway" and config.engine_options.greeting == "hi"


def test_a_real_worker_runs_a_trial_on_the_new_engine(throwaway: Path) -> None:
    with WorkerClient(env=WORKER_ENV) as client:
        assert client.hello is not None
        assert client.hello["backends"]["throwaway"]["available"] is True
        result = client.run_trial(tiny(engine="throwaway", greeting="hi", repetitions=1))
    assert result.status == "ok", result.failure_message
    assert result.value("output_tokens_total") == 4 * 6


def test_doctor_and_first_run_say_which_environment_runs_the_new_engine(qtbot, throwaway: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "app.main", "doctor", "--json"], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    env = next(e for e in json.loads(done.stdout)["environments"] if e["python"] == sys.executable)
    assert env["capabilities"]["throwaway"]["available"] is True
    dialog = FirstRunDialog()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.steps_finished, timeout=120_000):
        dialog.show()
    rows = {dialog.envs_table.item(r, 1).text(): dialog.envs_table.item(r, 6).text()
            for r in range(dialog.envs_table.rowCount())}
    assert "throwaway" in rows[sys.executable].split(", ")
