"""The text of a diff: a read-only text view with a line-number gutter, diff colours,
syntax and intraline highlighting; and two of them side by side, scrolled together."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from PySide6.QtCore import (
    SIGNAL,
    SLOT,
    QEvent,
    QObject,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
    Slot,
)
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

from seedbed.ui.review.highlight import KIND_STATES, DiffHighlighter
from seedbed.ui.review.layout import Pane, Row

Columns = Literal["both", "old", "new"]

HIGHLIGHT_MARGIN = 10  # blocks highlighted beyond each edge of the viewport
LEX_AHEAD_PAGES = 2  # pages below the viewport lexed ahead when idle (one above)
LEX_AHEAD_BUDGET_S = 0.003  # per turn of the event loop

# The highlighter's own connection to its document: cut while the text and block
# formats are set, so no block is highlighted eagerly (setDocument(None) and back
# would do it too, but re-attaching queues a rehighlight of the whole document).
_CONTENTS_CHANGE = SIGNAL("contentsChange(int,int,int)")
_REFORMAT_BLOCKS = SLOT("_q_reformatBlocks(int,int,int)")


class Gutter(QWidget):
    """Line numbers beside the text (old and new, or one side), painted for the visible
    blocks only. A click on a number asks for a comment; on a fold, opens it."""

    def __init__(self, text: DiffText) -> None:
        super().__init__(text)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click a line number to comment on that line")
        self._digits_of: list[Row] | None = None  # the rows `_digits` was counted for
        self._digits = 3

    @property
    def text(self) -> DiffText:
        """The text beside (and owning) the gutter; no Python reference is kept, so the
        two wrappers never form a cycle that outlives the widgets."""
        parent = self.parentWidget()
        assert isinstance(parent, DiffText)
        return parent

    def digits(self) -> int:
        rows = self.text.rows
        if rows is not self._digits_of:  # counted once per text, not on every paint
            highest = max((max(r.old_no or 0, r.new_no or 0) for r in rows), default=0)
            self._digits_of, self._digits = rows, max(3, len(str(highest)))
        return self._digits

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
                sent = self.text.comment_marks.get(number)
                if sent is not None:  # a comment on this line: a bar at the gutter's edge
                    colors = self.text.highlighter.colors
                    mark = colors.muted if sent else colors.comment
                    painter.fillRect(QRect(0, top + 1, 3, max(1, height - 2)), mark)
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
    painted for the visible blocks only, and only the blocks in view (and a few beside)
    are highlighted, as they come into view.

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
        # Blocks with a review comment: True once it was sent (see DiffView.set_comments).
        self.comment_marks: dict[int, bool] = {}
        self._editing = False
        self.highlighter = DiffHighlighter(self.document(), self.palette())
        self.gutter = Gutter(self)
        self.blockCountChanged.connect(self._on_self_block_count_changed)
        self.updateRequest.connect(self._on_self_update_request)
        self.verticalScrollBar().valueChanged.connect(self._on_vertical_scroll_bar_value_changed)
        self._lex_timer = QTimer(self)
        self._lex_timer.setSingleShot(True)
        self._lex_timer.setInterval(0)
        self._lex_timer.timeout.connect(self._on_lex_timer_timeout)

    def set_pane(self, pane: Pane, file_name: str) -> None:
        self.code = pane.code
        self.set_rows(pane.rows, pane.text(), file_name)

    def set_rows(self, rows: list[Row], text: str, file_name: str) -> None:
        self.rows = rows
        self.comment_marks = {}
        # Nothing is highlighted here: the blocks in view are, as they are painted.
        self.highlighter.set_rows(rows, file_name)
        with self._highlighter_detached():
            self.setPlainText(text)
            self._apply_backgrounds()
        self._on_self_block_count_changed(self.blockCount())
        self.highlight_visible()

    @contextmanager
    def _highlighter_detached(self) -> Iterator[None]:
        """Edits meanwhile highlight nothing (the blocks stay as they were), nor does a
        scroll or paint (the blocks' states are not set yet)."""
        document = self.document()
        self._editing = True
        connected = QObject.disconnect(
            document, _CONTENTS_CHANGE, self.highlighter, _REFORMAT_BLOCKS
        )  # if not (a Qt change?), every edited block is highlighted, eagerly
        try:
            yield
        finally:
            self._editing = False
            if connected:
                QObject.connect(document, _CONTENTS_CHANGE, self.highlighter, _REFORMAT_BLOCKS)

    def visible_blocks(self) -> tuple[int, int]:
        """First and last block in the viewport."""
        block = self.firstVisibleBlock()
        if not block.isValid():
            return 0, -1
        bottom = self.cursorForPosition(QPoint(0, self.viewport().height() - 1)).blockNumber()
        return block.blockNumber(), max(block.blockNumber(), bottom)

    def highlight_visible(self) -> None:
        """Highlight the blocks in view, and a few beside, that are not yet."""
        if self._editing or not self.rows:
            return
        first, last = self.visible_blocks()
        self.highlighter.highlight_range(max(0, first - HIGHLIGHT_MARGIN), last + HIGHLIGHT_MARGIN)
        if self.highlighter.lexer is not None:
            self._lex_timer.start()

    @Slot()
    def _on_lex_timer_timeout(self) -> None:
        """Lex the pages around the viewport a few ms at a time while idle, so that
        scrolling there only applies cached tokens."""
        first, last = self.highlighter.visible
        page = max(1, last - first + 1)
        ahead = (last + 1, last + LEX_AHEAD_PAGES * page)
        behind = (max(0, first - page), first - 1)
        if not self.highlighter.lex_ahead([ahead, behind], LEX_AHEAD_BUDGET_S):
            self._lex_timer.start()

    @Slot(int)
    def _on_vertical_scroll_bar_value_changed(self, _value: int) -> None:
        self.highlight_visible()

    def paintEvent(self, event: QPaintEvent) -> None:
        # Before painting: a resize, a cursor move or a jump may have shown new blocks.
        self.highlight_visible()
        super().paintEvent(event)

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
            self.highlighter.set_palette(self.palette())  # the visible blocks only
            with self._highlighter_detached():
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
        text edit paints across the whole width, for the visible blocks only. Each block's
        state is set to its kind, as the highlighter sets it (so highlighting one block
        never carries on into the next)."""
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
            block.setUserState(KIND_STATES[row.kind])
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
