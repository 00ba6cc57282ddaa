"""The diff view's highlighter: hunk headers, Pygments tokens and intraline spans.

Each block's state says what kind of diff line it is (the view lays the rows out, the
highlighter only reads them), so highlighting one block never needs its neighbours.
Token colours come from the palette, so light and dark themes both read.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

from pygments.lexer import Lexer
from pygments.lexers import get_lexer_for_filename
from pygments.token import Comment, Keyword, Name, Number, String, Token, _TokenType
from pygments.util import ClassNotFound
from PySide6.QtGui import (
    QColor,
    QFont,
    QPalette,
    QSyntaxHighlighter,
    QTextCharFormat,
    QTextDocument,
)

from seedbed.ui import theme
from seedbed.ui.review.layout import Row, Span

MAX_LEXED_CHARS = 1000  # a longer line (minified code) gets no token colours
MAX_LEXED_BLOCKS = 20_000  # nor does a diff longer than this

KIND_STATES = {"hunk": 1, "+": 2, "-": 3, " ": 4, "note": 5, "fold": 6, "filler": 7}

__all__ = ["KIND_STATES", "Colors", "DiffHighlighter", "Row", "Span", "lexer_for"]


@lru_cache(maxsize=64)
def lexer_for(name: str) -> Lexer | None:
    """The Pygments lexer for a file name (cached: the lookup is slow)."""
    try:
        return get_lexer_for_filename(PurePosixPath(name).name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


@dataclass
class Colors:
    hunk: QColor
    added: QColor
    removed: QColor
    added_strong: QColor
    removed_strong: QColor
    muted: QColor
    filler: QColor
    tokens: dict[_TokenType, QColor]

    @classmethod
    def from_palette(cls, palette: QPalette) -> Colors:
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        success, danger = theme.success(palette), theme.danger(palette)
        accent, warning = theme.accent(palette), theme.warning(palette)
        return cls(
            hunk=theme.mix(base, accent, 0.12),
            added=theme.mix(base, success, 0.16),
            removed=theme.mix(base, danger, 0.16),
            added_strong=theme.mix(base, success, 0.40),
            removed_strong=theme.mix(base, danger, 0.40),
            muted=theme.muted(palette),
            filler=theme.mix(base, text, 0.06),
            tokens={
                Keyword: theme.mix(text, accent, 0.75),
                Name.Builtin: theme.mix(text, accent, 0.5),
                Name.Function: theme.mix(text, warning, 0.6),
                Name.Class: theme.mix(text, warning, 0.6),
                Name.Decorator: theme.mix(text, warning, 0.6),
                String: theme.mix(text, success, 0.7),
                Number: theme.mix(text, danger, 0.6),
                Comment: theme.muted(palette),
            },
        )


class DiffHighlighter(QSyntaxHighlighter):
    """Colours one block at a time from `rows[block]`, the lexer and `spans[block]`."""

    def __init__(self, document: QTextDocument, palette: QPalette) -> None:
        super().__init__(document)
        self.rows: list[Row] = []
        self.spans: dict[int, list[Span]] = {}
        self.lexer: Lexer | None = None
        self.colors = Colors.from_palette(palette)
        self._formats: dict[_TokenType, QTextCharFormat] = {}
        self._build_formats()

    def set_palette(self, palette: QPalette) -> None:
        self.colors = Colors.from_palette(palette)
        self._build_formats()
        self.rehighlight()

    def set_rows(self, rows: list[Row], file_name: str) -> None:
        """Rows of the text about to be set; the text itself triggers the highlighting."""
        self.rows = rows
        self.spans = {}
        self.lexer = lexer_for(file_name) if len(rows) <= MAX_LEXED_BLOCKS else None

    def set_spans(self, spans: dict[int, list[Span]]) -> None:
        """Intraline spans by block number (offsets in the line without its prefix)."""
        self.spans = spans
        document = self.document()
        for number in spans:
            block = document.findBlockByNumber(number)
            if block.isValid():
                self.rehighlightBlock(block)

    def _build_formats(self) -> None:
        self._formats = {}
        for kind, color in self.colors.tokens.items():
            fmt = QTextCharFormat()
            fmt.setForeground(color)
            if kind is Comment:
                fmt.setFontItalic(True)
            self._formats[kind] = fmt

    def _token_format(self, kind: _TokenType) -> QTextCharFormat | None:
        while kind is not Token:
            fmt = self._formats.get(kind)
            if fmt is not None:
                return fmt
            kind = kind.parent
        return None

    def highlightBlock(self, text: str) -> None:
        number = self.currentBlock().blockNumber()
        row = self.rows[number] if 0 <= number < len(self.rows) else None
        if row is None:
            return
        self.setCurrentBlockState(KIND_STATES[row.kind])
        if row.kind == "filler":
            return
        if row.kind in ("hunk", "note", "fold"):
            fmt = QTextCharFormat()
            fmt.setForeground(self.colors.muted)
            if row.kind == "fold":
                fmt.setFontUnderline(True)
            if row.kind == "hunk":
                fmt.setFontWeight(QFont.Weight.DemiBold)
            self.setFormat(0, len(text), fmt)
            return
        prefix = QTextCharFormat()
        prefix.setForeground(self.colors.muted)
        self.setFormat(0, 1, prefix)
        if self.lexer is not None and len(text) <= MAX_LEXED_CHARS:
            position = 1
            for kind, value in self.lexer.get_tokens(text[1:]):
                fmt = self._token_format(kind)
                if fmt is not None:
                    self.setFormat(position, len(value), fmt)
                position += len(value)
        strong = self.colors.added_strong if row.kind == "+" else self.colors.removed_strong
        for start, end in self.spans.get(number, ()):
            for i in range(start + 1, min(end + 1, len(text))):
                fmt = self.format(i)
                fmt.setBackground(strong)
                self.setFormat(i, 1, fmt)
