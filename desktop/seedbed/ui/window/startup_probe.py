"""The board's first paint: when the window asks what the first board would have waited
for, and what the start-up benchmark measures (`SEEDBED_STARTUP_PROBE=1 seedbed gui`
reports when the board is first painted with cards, then quits; tests/perf/bench_gui.py).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from seedbed.ui.board.board import Board

STARTUP_PROBE = "SEEDBED_STARTUP_PROBE"


class FirstPaint(QObject):
    """Watches the board's columns; once one is painted while `ready()` holds, emits
    `painted` (once, after that paint).

    Signals:
        painted(): the board was painted as `ready` wanted it.
    """

    painted = Signal()

    def __init__(self, board: Board, ready: Callable[[], bool], parent: QObject) -> None:
        super().__init__(parent)
        self.ready = ready
        self.done = False
        for view in board.columns.values():
            view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.done and event.type() == QEvent.Type.Paint and self.ready():
            self.done = True
            QTimer.singleShot(0, self.painted.emit)
        return False


class PaintProbe(QObject):
    """On the first paint of the board that shows a card, reports the time and quits the
    application (start-up benchmark only)."""

    def __init__(self, board: Board, parent: QObject) -> None:
        super().__init__(parent)
        self.first_paint = FirstPaint(board, lambda: board.model.rowCount() > 0, self)
        self.first_paint.painted.connect(self._report)

    def _report(self) -> None:
        stamps = f"{time.time():.6f} {time.process_time():.6f}"
        who = f"pid={os.getpid()} ppid={os.getppid()} sid={os.getsid(0)}"
        sys.stderr.write(f"board-painted {stamps} {who}\n")
        sys.stderr.flush()
        QApplication.quit()
