"""The text of a diff: a read-only text view with a line-number gutter, diff colours,
syntax and intraline highlighting; and two of them side by side, scrolled together."""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QEvent, QRect, QSize, Qt, Signal, Slot
from PySide6.QtGui import (
    QFontDatabase,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QTextBlockFormat,
    QTextCursor,
)
from PySide6.QtWidgets import QPlainTextEdit, QSplitter, QWidget

from seedbed.ui.review.highlight import DiffHighlighter
from seedbed.ui.review.layout import Pane, Row

Columns = Literal["both", "old", "new"]


class Gutter(QWidget):
    """Line numbers beside the text (old and new, or one side), painted for the visible
    blocks only. A click on a number asks for a comment; on a fold, opens it."""

    def __init__(self, text: DiffText) -> None:
        super().__init__(text)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click a line number to comment on that line")

    @property
    def text(self) -> DiffText:
        """The text beside (and owning) the gutter; no Python reference is kept, so the
        two wrappers never form a cycle that outlives the widgets."""
        parent = self.parentWidget()
        assert isinstance(parent, DiffText)
        return parent

    def digits(self) -> int:
        rows = self.text.rows
        highest = max((max(r.old_no or 0, r.new_no or 0) for r in rows), default=0)
        return max(3, len(str(highest)))

    def sizeHint(self) -> QSize:
        columns = 2 if self.text.columns == "both" else 1
        digit = self.fontMetrics().horizontalAdvance("9")
        return QSize(digit * (columns * (self.digits() + 1) + 1), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(event.rect(), self.palette().window())
        painter.setPen(self.text.highlighter.colors.muted)
        width = self.fontMetrics().horizontalAdvance("9") * (self.digits() + 1)
        columns = self.text.columns
        block = self.text.firstVisibleBlock()
        offset = self.text.contentOffset()
        rows = self.text.rows
        right = Qt.AlignmentFlag.AlignRight
        while block.isValid():
            geometry = self.text.blockBoundingGeometry(block).translated(offset)
            if geometry.top() > event.rect().bottom():
                break
            number = block.blockNumber()
            if block.isVisible() and geometry.bottom() >= event.rect().top() and number < len(rows):
                row = rows[number]
                top, height = round(geometry.top()), round(geometry.height())
                if row.old_no is not None and columns != "new":
                    painter.drawText(QRect(0, top, width - 4, height), right, str(row.old_no))
                if row.new_no is not None and columns != "old":
                    x = width if columns == "both" else 0
                    painter.drawText(QRect(x, top, width - 4, height), right, str(row.new_no))
            block = block.next()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        block = self.text.cursorForPosition(event.position().toPoint()).block()
        if not block.isValid():
            return
        number = block.blockNumber()
        if self.text.row_kind(number) == "fold":
            self.text.fold_activated.emit(number)
        else:
            self.text.line_clicked.emit(number)


class DiffText(QPlainTextEdit):
    """The read-only text of a diff; added/removed lines get a full-width background
    painted for the visible blocks only.

    Signals:
        line_clicked(int): a block's line number was clicked (to comment on it).
        fold_activated(int): a fold row was clicked or Enter pressed on it.
    """

    line_clicked = Signal(int)
    fold_activated = Signal(int)

    def __init__(self, parent: QWidget | None = None, columns: Columns = "both") -> None:
        super().__init__(parent)
        self.columns: Columns = columns
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.rows: list[Row] = []
        self.code: list[str] = []
        self.highlighter = DiffHighlighter(self.document(), self.palette())
        self.gutter = Gutter(self)
        self.blockCountChanged.connect(self._on_self_block_count_changed)
        self.updateRequest.connect(self._on_self_update_request)

    def set_pane(self, pane: Pane, file_name: str) -> None:
        self.code = pane.code
        self.set_rows(pane.rows, pane.text(), file_name)

    def set_rows(self, rows: list[Row], text: str, file_name: str) -> None:
        self.rows = rows
        # Highlight once, after the backgrounds are set, not on each of those edits.
        self.highlighter.set_rows([], file_name)
        self.setPlainText(text)
        self._apply_backgrounds()
        self.highlighter.set_rows(rows, file_name)
        self.highlighter.rehighlight()
        self._on_self_block_count_changed(self.blockCount())

    def row_kind(self, number: int) -> str:
        return self.rows[number].kind if 0 <= number < len(self.rows) else ""

    @Slot(int)
    def _on_self_block_count_changed(self, _count: int) -> None:
        self.setViewportMargins(self.gutter.sizeHint().width(), 0, 0, 0)

    @Slot(QRect, int)
    def _on_self_update_request(self, rect: QRect, dy: int) -> None:
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        area = self.contentsRect()
        self.gutter.setGeometry(
            QRect(area.left(), area.top(), self.gutter.sizeHint().width(), area.height())
        )

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self.highlighter.set_palette(self.palette())
            self._apply_backgrounds()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        super().mouseReleaseEvent(event)
        if event.button() == Qt.MouseButton.LeftButton and not self.textCursor().hasSelection():
            number = self.cursorForPosition(event.position().toPoint()).blockNumber()
            if self.row_kind(number) == "fold":
                self.fold_activated.emit(number)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        number = self.textCursor().blockNumber()
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and self.row_kind(number) == "fold":
            self.fold_activated.emit(number)
            return
        super().keyPressEvent(event)

    def _apply_backgrounds(self) -> None:
        """Added, removed, hunk, fold and filler lines get a block background, which the
        text edit paints across the whole width, for the visible blocks only."""
        colors = self.highlighter.colors
        formats: dict[str, QTextBlockFormat] = {}
        for kind, color in (
            ("+", colors.added),
            ("-", colors.removed),
            ("hunk", colors.hunk),
            ("fold", colors.hunk),
            ("filler", colors.filler),
        ):
            formats[kind] = QTextBlockFormat()
            formats[kind].setBackground(color)
        plain = QTextBlockFormat()
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()
        block = self.document().begin()
        for row in self.rows:
            if not block.isValid():
                break
            fmt = formats.get(row.kind)
            if fmt is not None or block.blockFormat().background().style() != Qt.BrushStyle.NoBrush:
                cursor.setPosition(block.position())
                cursor.setBlockFormat(fmt if fmt is not None else plain)
            block = block.next()
        cursor.endEditBlock()

    def block_range(self) -> tuple[int, int]:
        """First and last block of the selection (or the cursor's block)."""
        cursor = self.textCursor()
        document = self.document()
        first = document.findBlock(cursor.selectionStart()).blockNumber()
        last = document.findBlock(cursor.selectionEnd()).blockNumber()
        return first, max(first, last)

    def go_to_block(self, number: int) -> None:
        cursor = self.textCursor()
        cursor.setPosition(self.document().findBlockByNumber(number).position())
        self.setTextCursor(cursor)


class SplitText(QSplitter):
    """Old on the left, new on the right, one block of each per row of the diff, their
    scroll bars locked together (both texts always have the same number of blocks)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.left = DiffText(self, "old")
        self.right = DiffText(self, "new")
        self.setChildrenCollapsible(False)
        for a, b in ((self.left, self.right), (self.right, self.left)):
            # Always a horizontal bar, so both viewports are as tall and the vertical
            # ranges match; each side scrolls sideways on its own (their widths differ).
            a.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
            a.verticalScrollBar().valueChanged.connect(b.verticalScrollBar().setValue)

    def panes(self) -> tuple[DiffText, DiffText]:
        return self.left, self.right

    def focused(self) -> DiffText:
        """The side the user works in (the new side unless the old one has focus)."""
        return self.left if self.left.hasFocus() else self.right
