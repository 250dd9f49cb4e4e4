"""GUI fixtures: real windows over real SQLite files, settings in a temp INI, no first-run dialog."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

TINY_TRIAL = {"input_tokens": 8, "output_tokens": 4, "batch_size": 1, "num_requests": 2,
              "warmup_requests": 0, "repetitions": 1, "idle_baseline_s": 0.0}


@pytest.fixture(autouse=True)
def _no_first_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFERLAB_NO_FIRST_RUN", "1")


@pytest.fixture()
def settings(tmp_path: Path):  # noqa: ANN201 - QSettings imported lazily
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture()
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'runs.db'}"


@pytest.fixture()
def make_window(qtbot, settings, store_url: str, data_dir: Path) -> Iterator[Callable[..., object]]:
    """Factory: a shown MainWindow with its store and views built (no worker probe unless asked)."""
    from app.ui.main_window import MainWindow

    windows = []

    def make(probe_worker: bool = False, url: str | None = None) -> MainWindow:
        window = MainWindow(settings, url or store_url, probe_worker=probe_worker)
        qtbot.addWidget(window)
        window.show()
        window.finish_startup()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.controller.cancel()
        window.controller.wait(30_000)


@pytest.fixture()
def fill_tiny_trial() -> Callable[..., None]:
    """Sets a window's form to a tiny hf-generate trial on the demo model (extra options override)."""

    def fill(window: object, **extra: object) -> None:
        exp = window.experiment  # type: ignore[attr-defined]
        exp.engine_box.setCurrentIndex(exp.engine_box.findData("hf-generate"))
        exp.model_box.setCurrentText("demo")
        exp.form.set_values({**TINY_TRIAL, **extra})

    return fill
