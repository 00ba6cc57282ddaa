"""The Qt binding itself: PySide6 6.12.0 on Python 3.11 dropped a reference to None on
every void call (QPainter.save, setPen …) and aborted the process within seconds of
painting ("none_dealloc"). pyproject.toml excludes it; this test catches a release with
the same bug."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os, sys
os.environ["QT_QPA_PLATFORM"] = "offscreen"
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter
app = QGuiApplication([])
image = QImage(8, 8, QImage.Format.Format_ARGB32)
painter = QPainter(image)
before = sys.getrefcount(None)
for _ in range(300_000):
    painter.save()
    painter.setPen(QColor("red"))
    painter.restore()
painter.end()
print(before, sys.getrefcount(None))
"""


def test_void_calls_keep_none_alive() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    before, after = map(int, result.stdout.split())
    assert after >= before - 100, (before, after)
