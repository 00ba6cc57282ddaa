"""The start-up benchmark's probe: `SEEDBED_STARTUP_PROBE=1 seedbed gui` reports when the
board is first painted with cards, then quits (tests/perf/bench_gui.py)."""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from seedbed.ui.board.board import Board

STARTUP_PROBE = "SEEDBED_STARTUP_PROBE"


class PaintProbe(QObject):
    """Watches the board's columns; on the first paint that shows a card, reports the
    time and quits the application (start-up benchmark only)."""

    def __init__(self, board: Board, parent: QObject) -> None:
        super().__init__(parent)
        self.board = board
        self.done = False
        for view in board.columns.values():
            view.viewport().installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.done and event.type() == QEvent.Type.Paint and self.board.model.rowCount() > 0:
            self.done = True
            QTimer.singleShot(0, self._report)
        return False

    def _report(self) -> None:
        sys.stderr.write(f"board-painted {time.time():.6f}\n")
        sys.stderr.flush()
        QApplication.quit()
