"""Dark and light themes: a QSS file from assets/ui plus matching pyqtgraph colours."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QWidget

from app.shipped import shipped_dir

THEMES = ("dark", "light")
ASSETS = shipped_dir("assets") / "ui"
PLOT_COLORS = {"dark": ("#1a1d21", "#c8ccd4"), "light": ("#ffffff", "#303643")}  # background, foreground


def apply_theme(app: QApplication, theme: str, root: QWidget | None = None) -> None:
    """Style the application; recolour existing plots under `root` (new plots pick the config up)."""
    if theme not in THEMES:
        raise ValueError(f"theme: got {theme!r}; allowed: {', '.join(THEMES)}")
    app.setStyle("Fusion")
    app.setStyleSheet((ASSETS / f"{theme}.qss").read_text(encoding="utf-8"))
    background, foreground = PLOT_COLORS[theme]
    if "pyqtgraph" not in sys.modules:  # no plot exists yet; plots set their colours when created
        return
    import pyqtgraph as pg

    pg.setConfigOptions(background=background, foreground=foreground, antialias=False)
    if root is not None:
        for view in root.findChildren(pg.GraphicsView):
            view.setBackground(background)
            for item in view.scene().items():  # axes and titles keep the colours they were made with
                if isinstance(item, pg.AxisItem):
                    item.setPen(foreground)
                    item.setTextPen(foreground)
                elif isinstance(item, pg.LabelItem):
                    item.setText(item.text, color=foreground)


def plot_colors(theme: str) -> tuple[str, str]:
    return PLOT_COLORS[theme]
