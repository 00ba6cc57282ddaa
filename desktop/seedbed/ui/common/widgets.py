"""Small widgets more than one window part uses."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QPalette, QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

from seedbed.ui.common.theme import danger

BREAK_EVERY = 24  # characters of an unbroken run between two break opportunities
_LONG_RUN = re.compile(rf"\S{{{BREAK_EVERY},}}")
_ZERO_WIDTH_SPACE = "\u200b"


def wrap_anywhere(text: str) -> str:
    """The text with a zero-width space every few characters of a long unbroken run (a
    path, a line of dots), where a word-wrapped label may break it: without one such a
    run sets the label's least width, and so the window's."""

    def broken(match: re.Match[str]) -> str:
        run = match.group(0)
        pieces = (run[i : i + BREAK_EVERY] for i in range(0, len(run), BREAK_EVERY))
        return _ZERO_WIDTH_SPACE.join(pieces)

    return _LONG_RUN.sub(broken, text)


def never_widens(label: QLabel) -> None:
    """A word-wrapped label takes the width it is given, whatever its text."""
    label.setWordWrap(True)
    policy = label.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    label.setSizePolicy(policy)
    label.setMinimumWidth(1)


class ElidedLabel(QLabel):
    """One line of plain text cut with "…" to the width it is given (the whole text in
    its tooltip): it never asks for more width than a few characters."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._full = ""
        policy = self.sizePolicy()
        policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
        self.setSizePolicy(policy)

    def set_full_text(self, text: str) -> None:
        self._full = " ".join(text.split("\n"))
        self.setToolTip(text if self._elide() != self._full else "")

    def full_text(self) -> str:
        return self._full

    def _elide(self) -> str:
        shown = self.fontMetrics().elidedText(
            self._full, Qt.TextElideMode.ElideMiddle, max(self.width(), 1)
        )
        if shown != self.text():
            self.setText(shown)
        return shown

    def minimumSizeHint(self) -> QSize:
        return QSize(
            self.fontMetrics().horizontalAdvance("M…M"), super().minimumSizeHint().height()
        )

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(
            min(hint.width(), self.fontMetrics().horizontalAdvance("M" * 40)), hint.height()
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.set_full_text(self._full)


class ErrorLabel(QLabel):
    """Plain, selectable, word-wrapped text in the palette's error red (recomputed when
    the palette changes, so it reads on light and dark themes); hidden while empty."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setObjectName("error")
        self.hide()
        self._apply_color()

    def show_message(self, text: str) -> None:
        self.setText(text)
        self.setVisible(bool(text))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._apply_color()

    def _apply_color(self) -> None:
        palette = self.palette()
        color = danger(palette)
        # Setting the palette sends another PaletteChange: stop once the colour is set.
        if palette.color(QPalette.ColorRole.WindowText) != color:
            palette.setColor(QPalette.ColorRole.WindowText, color)
            self.setPalette(palette)
