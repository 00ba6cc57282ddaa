"""Render the application icon (resources/io.github.seedbed.Seedbed.svg) to the PNG sizes
a desktop's icon theme wants, under resources/icons/hicolor/. Run it after changing the
SVG: `QT_QPA_PLATFORM=offscreen uv run python packaging/make_icons.py`."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

APP_ID = "io.github.seedbed.Seedbed"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
RESOURCES = Path(__file__).resolve().parents[1] / "resources"


def render(svg: Path, size: int, out: Path) -> None:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter)
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"could not write {out}")


def main() -> int:
    _app = QGuiApplication(sys.argv[:1])
    svg = RESOURCES / f"{APP_ID}.svg"
    for size in SIZES:
        out = RESOURCES / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        render(svg, size, out)
        print(out.relative_to(RESOURCES.parent))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
