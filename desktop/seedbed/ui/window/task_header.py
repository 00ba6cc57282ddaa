"""The selected task's header above its log: title, column and phase, branch, error."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QLabel, QWidget

from seedbed.domain.lifecycle import LABELS
from seedbed.domain.models import Card, TaskState
from seedbed.ui.common import theme


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class TaskHeader(QLabel):
    """Rich text about one card; the error in the palette's red, kept in step with
    palette changes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("task-header")
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._card: Card | None = None

    def show_card(self, card: Card | None) -> None:
        self._card = card
        if card is None:
            self.setText("")
            return
        task = card.task
        parts = [f"<b>#{task.id} {escape(' '.join(task.title.split()))}</b>"]
        detail = LABELS[task.state]
        if task.state not in (TaskState.MERGED, TaskState.DISCARDED):
            detail += f" · {theme.phase_label(task)}"
        if task.branch:
            detail += f" · <code>{escape(task.branch)}</code>"
        parts.append(detail)
        if task.error:
            colour = theme.danger(self.palette()).name()
            parts.append(f"<span style='color:{colour}'>{escape(task.error)}</span>")
        self.setText("<br>".join(parts))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.show_card(self._card)
