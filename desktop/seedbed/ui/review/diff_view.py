"""One file's diff, unified or side by side, with its unchanged regions folded until
asked for; binary and too-large files as a placeholder."""

from __future__ import annotations

from array import array
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from seedbed.domain.diffs import Comment, FileDiff
from seedbed.ui.common.background import BackgroundCall
from seedbed.ui.common.bridge import Done, Failed
from seedbed.ui.common.widgets import ElidedLabel, never_widens, wrap_anywhere
from seedbed.ui.review.diff_text import DiffText, SplitText
from seedbed.ui.review.highlight import BlobReader, SideLexing, side_tokens
from seedbed.ui.review.layout import (
    Pane,
    Row,
    Span,
    file_notes,
    file_spans,
    side_by_side,
    unified,
)

__all__ = ["Compute", "DiffView", "SourceLoader", "file_spans"]

# Runs fn() off the GUI thread and hands its result to the callback on the GUI thread.
Compute = Callable[[Callable[[], object], Callable[[object], None]], None]
# Called on the GUI thread with a path: returns the blocking read of its new-side lines.
SourceLoader = Callable[[str], Callable[[], list[str]]]


STATUS_WORDS = {
    "A": "added",
    "D": "deleted",
    "M": "modified",
    "R": "renamed",
    "C": "copied",
    "T": "type changed",
}


def file_title(file: FileDiff | None) -> str:
    """The header over the diff: the file's path (a rename's both), what happened to
    it, its counts."""
    if file is None:
        return "No file selected"
    path = (
        f"{file.old_path} → {file.path}"
        if file.old_path and file.status in ("R", "C")
        else file.path
    )
    counts = "binary" if file.binary else f"+{file.insertions} \u2212{file.deletions}"
    return f"{path}  ·  {STATUS_WORDS.get(file.status, file.status)}  ·  {counts}"


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
        self.source_loader: SourceLoader | None = None
        # Reads a blob by id (blocking, on a worker): files are lexed whole from them.
        self.blob_reader: BlobReader | None = None
        self.file: FileDiff | None = None
        self.split_mode = False
        # Spans, tokens and folds' lines for the file shown: a newer file drops the rest.
        self._work = BackgroundCall(self._start, self)
        self._source: list[str] | None = None
        self._expanded: set[int] = set()
        self._spans: dict[tuple[int, int], list[Span]] | None = None
        self.comments: list[Comment] = []
        self._side_tokens: tuple[SideLexing, SideLexing] = (SideLexing(), SideLexing())
        self.file_header = ElidedLabel(self)  # the file shown: path, status, counts
        font = self.file_header.font()
        font.setBold(True)
        self.file_header.setFont(font)
        self.info = QLabel(self)  # a rename, a mode or line-ending change
        self.info.setTextFormat(Qt.TextFormat.PlainText)
        never_widens(self.info)
        self.info.hide()
        self.text = DiffText(self)
        self.split = SplitText(self)
        self.placeholder = QWidget(self)
        self.placeholder_label = QLabel(self.placeholder)
        self.placeholder_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        never_widens(self.placeholder_label)
        self.show_anyway = QPushButton("Show anyway", self.placeholder)
        box = QVBoxLayout(self.placeholder)
        box.addStretch(1)
        box.addWidget(self.placeholder_label)
        box.addWidget(self.show_anyway, 0, Qt.AlignmentFlag.AlignHCenter)
        box.addStretch(1)
        self.pages = QStackedWidget(self)
        for page in (self.text, self.split, self.placeholder):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.file_header)
        layout.addWidget(self.info)
        layout.addWidget(self.pages)
        self.show_anyway.clicked.connect(self._on_show_anyway_clicked)
        for text in self.texts():
            text.line_clicked.connect(self._on_text_line_clicked)
            text.fold_activated.connect(self._on_text_fold_activated)

    def texts(self) -> tuple[DiffText, DiffText, DiffText]:
        return self.text, self.split.left, self.split.right

    def shown(self) -> list[DiffText]:
        """The texts on screen: the unified one, or the two sides."""
        if self.pages.currentWidget() is self.split:
            return list(self.split.panes())
        return [self.text]

    @property
    def active(self) -> DiffText:
        """The text the cursor and scroll position are read from."""
        return self.split.right if self.split_mode else self.text

    @property
    def rows(self) -> list[Row]:
        return self.active.rows

    def set_file(self, file: FileDiff | None, keep_position: bool = False) -> None:
        """Show `file`; with keep_position the scroll and cursor stay where they were
        (a refresh of the same file). Opened folds close: the file may have changed."""
        self._work.drop()
        self.file = file
        self._source = None
        self._expanded = set()
        self._spans = None
        self._side_tokens = (SideLexing(), SideLexing())
        self.file_header.set_full_text(file_title(file))
        notes = file_notes(file) if file is not None else []
        self.info.setText(wrap_anywhere(" · ".join(notes)))
        self.info.setVisible(bool(notes))
        plain = file is not None and not file.hunks and not file.binary and not file.too_large
        # A pure rename or mode change: no line to show.
        if plain and file is not None and not file.outline:
            self._show_placeholder(file)
            return
        if file is None or file.binary or file.outline or (file.too_large and not file.hunks):
            self._show_placeholder(file)
            return
        self._render(keep_position)
        self._work.join(file_spans, file, on_done=self._on_spans)

    def set_split(self, split: bool) -> None:
        """Side by side (True) or unified; the current hunk stays in view."""
        if split == self.split_mode:
            return
        hunk = self.current_hunk()
        self.split_mode = split
        if self.file is None or self.pages.currentWidget() is self.placeholder:
            return
        self._render(keep_position=False)
        header = next(
            (n for n, r in enumerate(self.rows) if r.kind == "hunk" and r.hunk == hunk), -1
        )
        if header >= 0:
            self._go_to(header)

    def _render(self, keep_position: bool) -> None:
        file = self.file
        assert file is not None
        before = self.active
        scroll = before.verticalScrollBar().value()
        hscroll = before.horizontalScrollBar().value()
        cursor_block = before.textCursor().blockNumber()
        if self.split_mode:
            left, right = side_by_side(file, self._source, self._expanded)
            self.split.left.set_pane(left, file.path)
            self.split.right.set_pane(right, file.path)
            self.text.set_pane(Pane(), "")
            self.pages.setCurrentWidget(self.split)
        else:
            self.text.set_pane(unified(file, self._source, self._expanded), file.path)
            for side in self.split.panes():
                side.set_pane(Pane(), "")
            self.pages.setCurrentWidget(self.text)
        if keep_position and self.rows:
            for text in self.shown():
                text.go_to_block(min(cursor_block, len(self.rows) - 1))
            self.active.verticalScrollBar().setValue(scroll)
            self.active.horizontalScrollBar().setValue(hscroll)
        self._apply_tokens()
        self._apply_spans()
        self._mark_comments()

    def set_comments(self, comments: list[Comment]) -> None:
        """The task's review comments: their lines get a mark in the gutter."""
        self.comments = comments
        self._mark_comments()

    def _mark_comments(self) -> None:
        file = self.file
        mine = [c for c in self.comments if file is not None and c.path == file.path]
        for text in self.texts():
            marks: dict[int, bool] = {}
            if mine and text.rows:
                lines: dict[int, bool] = {}
                for c in mine:
                    if c.line is None:
                        continue
                    for n in range(c.line, (c.end_line or c.line) + 1):
                        lines[n] = lines.get(n, True) and c.sent
                for block, row in enumerate(text.rows):
                    if row.new_no in lines and row.kind in (" ", "+"):
                        marks[block] = lines[row.new_no]
            if marks != text.comment_marks:
                text.comment_marks = marks
                text.gutter.update()

    def go_to_line(self, line: int) -> None:
        """Put the new file's `line` (or the first row after it, a fold) at the top."""
        rows = self.rows
        target = next(
            (n for n, r in enumerate(rows) if r.new_no is not None and r.new_no >= line), -1
        )
        if target < 0:
            target = next((n for n, r in enumerate(rows) if r.kind == "fold"), -1)
        if target >= 0:
            self._go_to(target)

    def _show_placeholder(self, file: FileDiff | None) -> None:
        for text in self.texts():
            text.set_pane(Pane(), "")
        if file is None:
            message = "No file selected."
        elif file.binary:
            message = f"{file.path}: binary file, not shown."
        elif file.outline:
            message = f"Reading {file.path}…"
        elif not file.hunks and not file.too_large:
            message = f"{file.path}: no line changed."
        else:
            n = file.insertions + file.deletions
            lines = f"{n:,} line{'s' if n != 1 else ''}"
            message = f"{file.path}: the diff is too large to show at once ({lines})."
        self.placeholder_label.setText(wrap_anywhere(message))
        self.show_anyway.setVisible(
            file is not None and file.too_large and not file.binary and not file.outline
        )
        self.pages.setCurrentWidget(self.placeholder)

    def _start(self, fn: Callable[[], object], done: Done, _failed: Failed) -> None:
        self.compute(fn, done)

    def _on_spans(self, spans: object) -> None:
        """The intraline spans, back from the worker; then the tokens lexed in context
        are asked for (lexing a big file takes longer: the spans do not wait for it)."""
        if not isinstance(spans, dict):
            return
        self._spans = spans
        self._apply_spans()
        file, read = self.file, self.blob_reader
        if file is not None and read is not None:
            self._work.join(side_tokens, file, read, on_done=self._on_tokens)

    def _on_tokens(self, found: object) -> None:
        if not isinstance(found, tuple):
            return
        self._side_tokens = found
        self._apply_tokens()

    def _apply_tokens(self) -> None:
        """Each code row gets its side's line's tokens (opened folds' lines too), or,
        for a side too long to lex whole, its line's opener."""
        old_side, new_side = self._side_tokens
        for text in self.shown():
            text.highlighter.set_openers(old_side.openers, new_side.openers)
        old, new = old_side.tokens, new_side.tokens
        if not old and not new:
            return
        for text in self.shown():
            tokens: dict[int, array[int]] = {}
            for n, row in enumerate(text.rows):
                side, number = (old, row.old_no) if row.kind == "-" else (new, row.new_no)
                if row.kind in "+- " and number is not None:
                    found = side.get(number)
                    if found is not None:
                        tokens[n] = found
            text.highlighter.set_tokens(tokens)

    def _apply_spans(self) -> None:
        if self._spans is None:
            return
        for text in self.shown():
            row_of = {(r.hunk, r.line): n for n, r in enumerate(text.rows) if r.kind in "+-"}
            text.highlighter.set_spans(
                {row_of[key]: value for key, value in self._spans.items() if key in row_of}
            )

    # -- folds -------------------------------------------------------------------------

    @Slot(int)
    def _on_text_fold_activated(self, block: int) -> None:
        self.expand(block)

    def expand(self, block: int) -> None:
        """Open the fold at this block: the file's lines are read once, off the GUI
        thread, then every fold opened is laid out from them."""
        if not 0 <= block < len(self.rows) or self.rows[block].kind != "fold":
            return
        gap = self.rows[block].hunk
        if self._source is not None:
            self._expanded.add(gap)
            self._render(keep_position=True)
            return
        file = self.file
        if file is None or self.source_loader is None:
            return
        read = self.source_loader(file.path)
        self._work.join(read, on_done=lambda lines: self._on_source(gap, lines))

    def _on_source(self, gap: int, lines: object) -> None:
        if not isinstance(lines, list) or not lines:
            return
        self._source = lines
        self._expanded.add(gap)
        self._render(keep_position=True)

    # -- moving around -----------------------------------------------------------------

    def hunk_blocks(self) -> list[int]:
        return [n for n, row in enumerate(self.rows) if row.kind == "hunk"]

    def _go_to(self, block: int) -> None:
        for text in self.shown():
            text.go_to_block(block)
        self.active.verticalScrollBar().setValue(block)

    def step_hunk(self, delta: int) -> bool:
        """Put the next (1) or previous (-1) hunk's header at the top; False at the end."""
        current = self.active.textCursor().blockNumber()
        hunks = self.hunk_blocks()
        targets = [n for n in hunks if (n > current if delta > 0 else n < current)]
        if not targets:
            return False
        self._go_to(targets[0] if delta > 0 else targets[-1])
        return True

    def go_to_last_hunk(self) -> None:
        hunks = self.hunk_blocks()
        if hunks:
            self._go_to(hunks[-1])

    def current_hunk(self) -> int:
        """The index of the hunk the cursor is in (-1 before the first)."""
        number = self.active.textCursor().blockNumber()
        if number >= len(self.rows):
            return -1
        row = self.rows[number]
        return row.hunk - 1 if row.kind == "fold" else row.hunk

    def line_range(self, first: int, last: int) -> tuple[int | None, int | None, str]:
        """New-file lines (first, last) of the blocks and the code they hold, for a
        comment; a removed line counts as the new line after it."""
        texts = self.shown()
        numbers: list[int] = []
        quote: list[str] = []
        for i, text in enumerate(texts):
            new_side = i == len(texts) - 1
            for n in range(first, min(last, len(text.rows) - 1) + 1):
                row = text.rows[n]
                if row.kind == "-" or (new_side and row.kind in ("+", " ")):
                    quote.append(text.code[n])
                if new_side and row.kind in ("+", " ") and row.new_no is not None:
                    numbers.append(row.new_no)
        if not numbers:
            rows = texts[-1].rows
            following = (r.new_no for r in rows[last + 1 :] if r.new_no is not None)
            number = next(following, None)
            if number is not None:
                numbers.append(number)
        if not numbers:
            return None, None, "\n".join(quote)
        end = max(numbers) if max(numbers) != min(numbers) else None
        return min(numbers), end, "\n".join(quote)

    @Slot()
    def _on_show_anyway_clicked(self) -> None:
        if self.file is not None:
            self.show_anyway_requested.emit(self.file.path)

    @Slot(int)
    def _on_text_line_clicked(self, block: int) -> None:
        self.comment_requested.emit(block, block)

    def request_comment(self) -> None:
        """Comment on the selected lines (or the cursor's line)."""
        if self.rows:
            text = self.split.focused() if self.split_mode else self.text
            self.comment_requested.emit(*text.block_range())
