"""The main window: shortcuts, persisted state and theme, the About dialog, the status bar."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence

from app.ui.main_window import MainWindow


def test_shortcuts_for_run_cancel_and_compare(make_window) -> None:
    window = make_window()
    assert window.run_action.shortcut() == QKeySequence("Ctrl+R")
    assert {k.toString() for k in window.cancel_action.shortcuts()} == {"Esc", "Ctrl+."}
    assert window.compare_action.shortcut() == QKeySequence("Ctrl+M")
    assert not window.cancel_action.isEnabled()  # nothing to cancel yet


def test_theme_geometry_and_recent_models_persist(qtbot, make_window, settings, store_url) -> None:
    window = make_window()
    window.set_theme("light")
    window.resize(700, 500)  # within the offscreen screen (800×600)
    window._remember("recent_models", "/models/my-model")
    width = window.width()  # at least the layout's minimum
    window.close()
    assert settings.value("theme") == "light" and settings.value("geometry") is not None
    again = MainWindow(settings, store_url, probe_worker=False)
    qtbot.addWidget(again)
    assert again.theme == "light" and again.width() == width
    assert again.experiment.model_box.findText("/models/my-model") >= 0


def test_about_dialog_opens_from_help(qtbot, make_window) -> None:
    from app.ui.about_dialog import AboutDialog

    window = make_window()
    dialog = AboutDialog(window)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.isVisible()
    assert "Store:" in window.statusBar().currentMessage() or window.worker_label.text().startswith("Worker")
