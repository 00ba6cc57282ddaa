"""One column of the board: a list view over a ColumnModel that takes drops."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDrag,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyleOptionViewItem, QWidget

from seedbed.domain.models import TaskState
from seedbed.ui.board.board_model import ColumnModel, Role, task_id_from_mime
from seedbed.ui.board.card_delegate import CardDelegate
from seedbed.ui.common import theme

# What an empty column says: on a new board, how a task travels from column to column.
EMPTY_TEXT = {
    TaskState.PLANNED: "No task here.\nNew task (Ctrl+N) adds one; drag it to Running, or "
    "press Ctrl+Return, to start it.",
    TaskState.RUNNING: "Drag a planned task here to start it: its agent works in a worktree "
    "of its own.",
    TaskState.AWAITING_REVIEW: "Finished tasks wait here for you: open one to read its diff, "
    "approve or send it back.",
    TaskState.MERGED: "Approved tasks land here, merged into the base branch.",
}


class ColumnView(QListView):
    """Cards of one state. A drag carries the task id; a drop anywhere on the column
    becomes `dropped(task_id, state, before_task_id or 0)`: the board decides what it
    means. While a card hovers, `drop_checker(task_id)` says whether the drop would be
    legal and the column is outlined in the accent colour or in red.

    Signals:
        dropped(int, str, int): task id, this column's state, the card it goes before (0: end).
        hover_refused(int, str): a card hovers where it may not go.
    """

    dropped = Signal(int, str, int)
    hover_refused = Signal(int, str)

    def __init__(self, model: ColumnModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.column_state: TaskState = model.state
        self.setModel(model)
        self.setItemDelegate(CardDelegate(self))
        self.setUniformItemSizes(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setMouseTracking(True)
        self.drop_checker = lambda _task_id: ""
        self._hover: str | None = None  # None: no drag; "": legal; else the refusal

    def _paint_empty_text(self) -> None:
        painter = QPainter(self.viewport())
        painter.setPen(theme.muted(self.palette()))
        painter.drawText(
            self.viewport().rect().adjusted(12, 12, -12, -12),
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
            EMPTY_TEXT[self.column_state],
        )
        painter.end()

    def column_model(self) -> ColumnModel:
        model = self.model()
        assert isinstance(model, ColumnModel)
        return model

    # -- dragging out ----------------------------------------------------------------

    def startDrag(self, supportedActions: Qt.DropAction) -> None:
        """Our own QDrag, so Qt never removes a row when the drop "moved" it: the
        store decides where the card is, and the model follows."""
        index = self.currentIndex()
        if not index.isValid():
            return
        mime = self.model().mimeData([index])
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(self._card_pixmap(index))
        drag.setHotSpot(QPoint(20, 12))
        drag.exec(Qt.DropAction.MoveAction)

    def _card_pixmap(self, index: QModelIndex) -> QPixmap:
        rect = self.visualRect(index)
        pixmap = QPixmap(rect.size())
        pixmap.fill(QColor(0, 0, 0, 0))
        painter = QPainter(pixmap)
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        option.rect = rect.translated(-rect.topLeft())
        option.palette = self.palette()
        self.itemDelegate().paint(painter, option, index)
        painter.end()
        return pixmap

    # -- dropping in -----------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self._hover_check(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._hover_check(event)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._hover = None
        self.viewport().update()
        super().dragLeaveEvent(event)

    def _hover_check(self, event: QDragMoveEvent) -> None:
        task_id = task_id_from_mime(event.mimeData())
        if task_id is None:
            event.ignore()
            return
        refusal = self.drop_checker(task_id)
        if refusal != self._hover:
            self._hover = refusal
            self.viewport().update()
            if refusal:
                self.hover_refused.emit(task_id, refusal)
        # Accepted even when illegal: the drop then says why, instead of a silent no-op.
        event.setDropAction(Qt.DropAction.MoveAction)
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        self._hover = None
        self.viewport().update()
        task_id = task_id_from_mime(event.mimeData())
        if task_id is None:
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)  # nothing for Qt to remove
        event.accept()
        self.dropped.emit(
            task_id, self.column_state.value, self._before_id(event.position().toPoint())
        )

    def _before_id(self, pos: QPoint) -> int:
        """The card a drop at pos goes before (0: after the last card)."""
        index = self.indexAt(pos)
        if not index.isValid():
            return 0
        rect = self.visualRect(index)
        if pos.y() > rect.center().y():
            index = index.siblingAtRow(index.row() + 1)
            if not index.isValid():
                return 0
        return int(index.data(Role.TASK_ID))

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._hover is None:
            if self.model().rowCount() == 0 and self.column_state in EMPTY_TEXT:
                self._paint_empty_text()
            return
        palette = self.palette()
        colour = theme.danger(palette) if self._hover else theme.accent(palette)
        painter = QPainter(self.viewport())
        painter.setPen(QPen(colour, 3))
        painter.drawRect(self.viewport().rect().adjusted(1, 1, -2, -2))
        if self._hover:
            painter.setPen(colour)
            painter.drawText(
                self.viewport().rect().adjusted(8, 8, -8, -8),
                Qt.AlignmentFlag.AlignBottom | Qt.TextFlag.TextWordWrap,
                self._hover,
            )
        painter.end()
