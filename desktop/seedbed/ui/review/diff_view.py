"""The unified diff of one file: a read-only text view with a line-number gutter, diff
colours, syntax and intraline highlighting; binary and too-large files as a placeholder."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QRect, QSize, Qt, Signal, Slot
from PySide6.QtGui import (
    QFontDatabase,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QTextBlockFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from seedbed.domain.diffs import FileDiff
from seedbed.domain.intraline import intraline, pair_lines
from seedbed.ui.review.highlight import DiffHighlighter, Row, Span

MAX_PAIRS = 2000  # intraline comparisons per file, at most

# Runs fn() off the GUI thread and hands its result to the callback on the GUI thread.
Compute = Callable[[Callable[[], object], Callable[[object], None]], None]


def layout_rows(file: FileDiff) -> tuple[list[Row], str]:
    """The rows of the view and its text: each hunk's header, then its lines."""
    rows: list[Row] = []
    lines: list[str] = []
    for h, hunk in enumerate(file.hunks):
        header = f"@@ -{hunk.old_start},{hunk.old_count} +{hunk.new_start},{hunk.new_count} @@"
        rows.append(Row("hunk", hunk=h))
        lines.append(header + (f" {hunk.header}" if hunk.header else ""))
        for i, line in enumerate(hunk.lines):
            rows.append(Row(line.kind.value, line.old_no, line.new_no, h, i))
            lines.append(line.kind.value + line.text)
            if line.no_newline:
                rows.append(Row("note", hunk=h, line=i))
                lines.append("\\ No newline at end of file")
    return rows, "\n".join(lines)


def file_spans(file: FileDiff, cap: int = MAX_PAIRS) -> dict[tuple[int, int], list[Span]]:
    """Intraline spans keyed by (hunk, line index), for at most `cap` line pairs."""
    spans: dict[tuple[int, int], list[Span]] = {}
    budget = cap
    for h, hunk in enumerate(file.hunks):
        for removed, added in pair_lines(hunk):
            if budget <= 0:
                return spans
            budget -= 1
            old, new = intraline(hunk.lines[removed].text, hunk.lines[added].text)
            if old:
                spans[(h, removed)] = old
            if new:
                spans[(h, added)] = new
    return spans


class Gutter(QWidget):
    """Old and new line numbers beside the text, painted for the visible blocks only.

    Signals:
        line_clicked(int): a block's number was clicked (to comment on it).
    """

    line_clicked = Signal(int)

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
        return QSize(self.fontMetrics().horizontalAdvance("9") * (2 * self.digits() + 3), 0)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        palette = self.palette()
        painter.fillRect(event.rect(), palette.window())
        painter.setPen(self.text.highlighter.colors.muted)
        width = self.fontMetrics().horizontalAdvance("9") * (self.digits() + 1)
        block = self.text.firstVisibleBlock()
        offset = self.text.contentOffset()
        rows = self.text.rows
        while block.isValid():
            geometry = self.text.blockBoundingGeometry(block).translated(offset)
            if geometry.top() > event.rect().bottom():
                break
            number = block.blockNumber()
            if block.isVisible() and geometry.bottom() >= event.rect().top() and number < len(rows):
                row = rows[number]
                top, height = round(geometry.top()), round(geometry.height())
                right = Qt.AlignmentFlag.AlignRight
                if row.old_no is not None:
                    painter.drawText(QRect(0, top, width - 4, height), right, str(row.old_no))
                if row.new_no is not None:
                    painter.drawText(QRect(width, top, width - 4, height), right, str(row.new_no))
            block = block.next()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        block = self.text.cursorForPosition(event.position().toPoint()).block()
        if block.isValid():
            self.line_clicked.emit(block.blockNumber())


class DiffText(QPlainTextEdit):
    """The read-only text of a file's diff; added/removed lines get a full-width
    background painted for the visible blocks only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.rows: list[Row] = []
        self.highlighter = DiffHighlighter(self.document(), self.palette())
        self.gutter = Gutter(self)
        self.blockCountChanged.connect(self._on_self_block_count_changed)
        self.updateRequest.connect(self._on_self_update_request)

    def set_rows(self, rows: list[Row], text: str, file_name: str) -> None:
        self.rows = rows
        # Highlight once, after the backgrounds are set, not on each of those edits.
        self.highlighter.set_rows([], file_name)
        self.setPlainText(text)
        self._apply_backgrounds()
        self.highlighter.set_rows(rows, file_name)
        self.highlighter.rehighlight()
        self._on_self_block_count_changed(self.blockCount())

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

    def _apply_backgrounds(self) -> None:
        """Added, removed and hunk lines get a block background, which the text edit
        paints across the whole width, for the visible blocks only."""
        colors = self.highlighter.colors
        formats: dict[str, QTextBlockFormat] = {}
        for kind, color in (("+", colors.added), ("-", colors.removed), ("hunk", colors.hunk)):
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


class DiffView(QWidget):
    """One file's diff, or a placeholder for a binary or too-large file.

    Signals:
        show_anyway_requested(str): reload this too-large file without the cap.
        comment_requested(int, int): comment on these blocks (first, last).
    """

    show_anyway_requested = Signal(str)
    comment_requested = Signal(int, int)

    def __init__(self, compute: Compute, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.compute = compute
        self.file: FileDiff | None = None
        self._generation = 0
        self._row_of: dict[tuple[int, int], int] = {}
        self.text = DiffText(self)
        self.placeholder = QWidget(self)
        self.placeholder_label = QLabel(self.placeholder)
        self.placeholder_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder_label.setWordWrap(True)
        self.show_anyway = QPushButton("Show anyway", self.placeholder)
        box = QVBoxLayout(self.placeholder)
        box.addStretch(1)
        box.addWidget(self.placeholder_label)
        box.addWidget(self.show_anyway, 0, Qt.AlignmentFlag.AlignHCenter)
        box.addStretch(1)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.text)
        self.pages.addWidget(self.placeholder)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        self.show_anyway.clicked.connect(self._on_show_anyway_clicked)
        self.text.gutter.line_clicked.connect(self._on_gutter_line_clicked)

    @property
    def rows(self) -> list[Row]:
        return self.text.rows

    def set_file(self, file: FileDiff | None, keep_position: bool = False) -> None:
        """Show `file`; with keep_position the scroll and cursor stay where they were
        (a refresh of the same file)."""
        self._generation += 1
        scroll = self.text.verticalScrollBar().value()
        hscroll = self.text.horizontalScrollBar().value()
        cursor_block = self.text.textCursor().blockNumber()
        self.file = file
        if file is None or file.binary or (file.too_large and not file.hunks):
            self._show_placeholder(file)
            return
        self.pages.setCurrentWidget(self.text)
        rows, text = layout_rows(file)
        self._row_of = {(r.hunk, r.line): n for n, r in enumerate(rows) if r.kind in "+-"}
        self.text.set_rows(rows, text, file.path)
        if keep_position:
            block = self.text.document().findBlockByNumber(min(cursor_block, len(rows) - 1))
            cursor = self.text.textCursor()
            cursor.setPosition(block.position())
            self.text.setTextCursor(cursor)
            self.text.verticalScrollBar().setValue(scroll)
            self.text.horizontalScrollBar().setValue(hscroll)
        generation = self._generation
        self.compute(lambda: file_spans(file), lambda spans: self._on_spans(generation, spans))

    def _show_placeholder(self, file: FileDiff | None) -> None:
        self.text.set_rows([], "", "")
        self._row_of = {}
        if file is None:
            message = "No file selected."
        elif file.binary:
            message = f"{file.path}: binary file, not shown."
        else:
            lines = file.insertions + file.deletions
            message = f"{file.path}: the diff is too large to show at once ({lines:,} lines)."
        self.placeholder_label.setText(message)
        self.show_anyway.setVisible(file is not None and file.too_large and not file.binary)
        self.pages.setCurrentWidget(self.placeholder)

    def _on_spans(self, generation: int, spans: object) -> None:
        if generation != self._generation or not isinstance(spans, dict):
            return  # a newer file or refresh came in meanwhile
        by_block = {self._row_of[key]: value for key, value in spans.items() if key in self._row_of}
        self.text.highlighter.set_spans(by_block)

    # -- moving around -----------------------------------------------------------------

    def hunk_blocks(self) -> list[int]:
        return [n for n, row in enumerate(self.rows) if row.kind == "hunk"]

    def step_hunk(self, delta: int) -> bool:
        """Put the next (1) or previous (-1) hunk's header at the top; False at the end."""
        current = self.text.textCursor().blockNumber()
        hunks = self.hunk_blocks()
        targets = (
            [n for n in hunks if n > current] if delta > 0 else [n for n in hunks if n < current]
        )
        if not targets:
            return False
        target = targets[0] if delta > 0 else targets[-1]
        cursor = self.text.textCursor()
        cursor.setPosition(self.text.document().findBlockByNumber(target).position())
        self.text.setTextCursor(cursor)
        self.text.verticalScrollBar().setValue(target)
        return True

    def current_hunk(self) -> int:
        """The index of the hunk the cursor is in (-1 before the first)."""
        number = self.text.textCursor().blockNumber()
        return self.rows[number].hunk if number < len(self.rows) else -1

    def line_range(self, first: int, last: int) -> tuple[int | None, int | None, str]:
        """New-file lines (first, last) of the blocks and the code they hold, for a
        comment; a removed line counts as the new line after it."""
        numbers: list[int] = []
        quote: list[str] = []
        for n in range(first, last + 1):
            if n >= len(self.rows):
                break
            row = self.rows[n]
            if row.kind in "+ ":
                assert row.new_no is not None
                numbers.append(row.new_no)
            if row.kind in "+- " and self.file is not None:
                quote.append(self.file.hunks[row.hunk].lines[row.line].text)
        if not numbers:
            for n in range(last + 1, len(self.rows)):
                if self.rows[n].new_no is not None:
                    numbers.append(self.rows[n].new_no or 1)
                    break
        if not numbers:
            return None, None, "\n".join(quote)
        end = max(numbers) if max(numbers) != min(numbers) else None
        return min(numbers), end, "\n".join(quote)

    @Slot()
    def _on_show_anyway_clicked(self) -> None:
        if self.file is not None:
            self.show_anyway_requested.emit(self.file.path)

    @Slot(int)
    def _on_gutter_line_clicked(self, block: int) -> None:
        self.comment_requested.emit(block, block)

    def request_comment(self) -> None:
        """Comment on the selected lines (or the cursor's line)."""
        if self.rows:
            self.comment_requested.emit(*self.text.block_range())
