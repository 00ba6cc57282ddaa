"""Small widgets more than one window part uses."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QLabel, QWidget

from seedbed.ui.theme import danger


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
