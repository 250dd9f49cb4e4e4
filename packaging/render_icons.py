"""Render assets/icons/inferlab.svg to the PNG sizes desktops use (run after editing the SVG).

    .venv/bin/python packaging/render_icons.py
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ICONS = Path(__file__).resolve().parents[1] / "assets" / "icons"
SIZES_PX = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, size_px: int, target: Path) -> None:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size_px, size_px, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    if not image.save(str(target)):
        raise SystemExit(f"could not write {target}")


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - Qt needs one
    for size_px in SIZES_PX:
        render(ICONS / "inferlab.svg", size_px, ICONS / f"inferlab-{size_px}.png")
        print(ICONS / f"inferlab-{size_px}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
