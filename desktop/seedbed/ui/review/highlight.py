"""The diff view's highlighter: hunk headers, Pygments tokens and intraline spans.

Each block's state says what kind of diff line it is (the view lays the rows out, the
highlighter only reads them), so highlighting one block never needs its neighbours.
Token colours come from the palette, so light and dark themes both read.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
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

from seedbed.domain.diffs import FileDiff
from seedbed.ui.common import theme
from seedbed.ui.review.carry import Openers, line_openers
from seedbed.ui.review.layout import Row, Span

MAX_LEXED_CHARS = 1000  # a longer line (minified code) gets no token colours
MAX_LEXED_BLOCKS = 20_000  # nor does a diff longer than this
# Whole files are lexed on a worker (docstrings, block comments), and a worker busy in
# Python slows the GUI thread's every paint: a side longer than this (a generated file,
# say) is lexed line by line, as its lines come into view, each from the state it starts
# in (carry.py: inside a docstring or a block comment, or not).
MAX_CONTEXT_CHARS = 250_000

KIND_STATES = {"hunk": 1, "+": 2, "-": 3, " ": 4, "note": 5, "fold": 6, "filler": 7}

__all__ = [
    "KIND_STATES",
    "Colors",
    "DiffHighlighter",
    "Row",
    "SideLexing",
    "Span",
    "lexer_for",
]


@lru_cache(maxsize=64)
def lexer_for(name: str) -> Lexer | None:
    """The Pygments lexer for a file name (cached: the lookup is slow)."""
    try:
        return get_lexer_for_filename(PurePosixPath(name).name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


# The token types that get a colour, in the order of the highlighter's formats.
TOKEN_KINDS: tuple[_TokenType, ...] = (
    Keyword,
    Name.Builtin,
    Name.Function,
    Name.Class,
    Name.Decorator,
    String,
    Number,
    Comment,
)
_KIND_INDEX: dict[_TokenType, int] = {}


def kind_index(kind: _TokenType) -> int:
    """The index in TOKEN_KINDS of the kind or its nearest coloured ancestor, or -1."""
    index = _KIND_INDEX.get(kind)
    if index is None:
        ancestor: _TokenType | None
        index, ancestor = -1, kind
        while ancestor is not None and ancestor is not Token:
            if ancestor in TOKEN_KINDS:
                index = TOKEN_KINDS.index(ancestor)
                break
            ancestor = ancestor.parent
        _KIND_INDEX[kind] = index
    return index


SideTokens = dict[int, "array[int]"]  # a side's line number (1-based) → its tokens
BlobReader = Callable[[str], "str | None"]  # a blob id → its text (blocking; None: unread)


@dataclass(frozen=True)
class SideLexing:
    """One side of a file read in its context: lexed whole (`tokens`, by line number),
    or, over MAX_CONTEXT_CHARS, only scanned for the lines that start inside a
    multi-line string or comment (`openers`, by line number), which the view then lexes
    line by line from there."""

    tokens: SideTokens = field(default_factory=dict)
    openers: Openers = field(default_factory=dict)


def side_tokens(file: FileDiff, read: BlobReader) -> tuple[SideLexing, SideLexing]:
    """The old and the new file read whole (a line alone, or a hunk that starts inside
    a docstring, cannot know what it sits in): each line's coloured tokens, flat
    (start, length, kind index) after the row's one-character prefix, as the highlighter
    keeps them, keyed by line number; for a side too long to lex whole, its openers.
    Blocking (git reads, Pygments lexes): run off the GUI thread. Arrays, not tuples:
    thousands of tokens are no work for the collector."""
    lexer = lexer_for(file.path)
    if lexer is None or file.binary:
        return SideLexing(), SideLexing()
    old = read(file.old_blob) if file.old_blob and file.status != "A" else None
    new = read(file.new_blob) if file.new_blob and file.status != "D" else None
    return _side(lexer, file.path, old), _side(lexer, file.path, new)


def _side(lexer: Lexer, path: str, text: str | None) -> SideLexing:
    if text is None:
        return SideLexing()
    if len(text) > MAX_CONTEXT_CHARS:
        return SideLexing(openers=line_openers(path, text))
    return SideLexing(tokens=_numbered(lexer, text))


def _numbered(lexer: Lexer, text: str) -> SideTokens:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line.removesuffix("\r") for line in lines]
    # Every line, even one without a coloured token: its line-by-line tokens were wrong.
    return dict(enumerate(lex_lines(lexer, lines), 1))


def lex_lines(lexer: Lexer, texts: list[str]) -> list[array[int]]:
    """Lex the lines as one text; each line's coloured tokens (a token over several lines
    is cut at each line's end). A line too long to colour gets none."""
    per_line = [array("I") for _ in texts]
    starts, position = [], 0
    for text in texts:
        starts.append(position)
        position += len(text) + 1
    line = 0
    for index, kind, value in lexer.get_tokens_unprocessed("\n".join(texts)):
        colour = kind_index(kind)
        if colour < 0:
            continue
        end = index + len(value)
        while line + 1 < len(starts) and starts[line + 1] <= index:
            line += 1
        at, row = index, line
        while at < end and row < len(texts):
            piece = min(end, starts[row] + len(texts[row])) - at
            if piece > 0 and len(texts[row]) <= MAX_LEXED_CHARS:
                per_line[row].extend((at - starts[row] + 1, piece, colour))
            row += 1
            if row < len(starts):
                at = max(at, starts[row])
    return per_line


def utf16_offsets(text: str) -> list[int] | None:
    """Qt counts a line in UTF-16 units, Python (Pygments, the intraline diff) in code
    points; they differ after a character outside the BMP (an emoji). None when they
    agree, else the UTF-16 offset of every code point offset (one past the end too)."""
    if text.isascii() or max(text) <= "\uffff":
        return None
    units = [0]
    for char in text:
        units.append(units[-1] + (2 if char > "\uffff" else 1))
    return units


@dataclass
class Colors:
    hunk: QColor
    added: QColor
    removed: QColor
    added_strong: QColor
    removed_strong: QColor
    muted: QColor
    filler: QColor
    comment: QColor  # the mark of a line with an unsent review comment
    text: QColor
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
            comment=warning,
            text=text,
            tokens=dict(
                zip(
                    TOKEN_KINDS,
                    (
                        theme.mix(text, accent, 0.75),  # Keyword
                        theme.mix(text, accent, 0.5),  # Name.Builtin
                        theme.mix(text, warning, 0.6),  # Name.Function
                        theme.mix(text, warning, 0.6),  # Name.Class
                        theme.mix(text, warning, 0.6),  # Name.Decorator
                        theme.mix(text, success, 0.7),  # String
                        theme.mix(text, danger, 0.6),  # Number
                        theme.muted(palette),  # Comment
                    ),
                    strict=True,
                )
            ),
        )


class DiffHighlighter(QSyntaxHighlighter):
    """Colours one block at a time from `rows[block]`, the lexer and `spans[block]`.

    Lazy: nothing is highlighted when the text is set; the view asks for the blocks it
    is about to paint (`highlight_range`), and each block is lexed at most once (its
    tokens are cached), so re-applying intraline spans or a palette never lexes again.
    Every block's state is preset by the view (`KIND_STATES`), so highlighting one block
    never cascades into the next.
    """

    def __init__(self, document: QTextDocument, palette: QPalette) -> None:
        super().__init__(document)
        self.rows: list[Row] = []
        self.spans: dict[int, list[Span]] = {}
        self.lexer: Lexer | None = None
        self.colors = Colors.from_palette(palette)
        self.highlighted: set[int] = set()  # blocks whose formats are up to date
        self.visible: tuple[int, int] = (0, -1)  # the blocks last asked for
        # Per block, its coloured tokens as flat (start, length, kind index) triples: an
        # array is one object the garbage collector never traverses, however many.
        self._tokens: dict[int, array[int]] = {}
        self._kinds: list[_TokenType] = list(TOKEN_KINDS)
        # Old and new side: the lines that start inside a multi-line string or comment.
        self._openers: tuple[Openers, Openers] = ({}, {})
        self._formats: list[QTextCharFormat] = []
        self._build_formats()

    def set_palette(self, palette: QPalette) -> None:
        """New colours: every block is stale; the visible ones are highlighted again
        (from their cached tokens), the others as they come into view."""
        self.colors = Colors.from_palette(palette)
        self._build_formats()
        self.highlighted = set()
        self.highlight_range(*self.visible)

    def set_rows(self, rows: list[Row], file_name: str) -> None:
        """Rows of the text about to be set; the view highlights its blocks as it
        paints them."""
        self.rows = rows
        self.spans = {}
        self.lexer = lexer_for(file_name) if len(rows) <= MAX_LEXED_BLOCKS else None
        self.highlighted = set()
        self.visible = (0, -1)
        self._tokens = {}
        self._openers = ({}, {})

    def set_tokens(self, tokens: dict[int, array[int]]) -> None:
        """Tokens lexed with their context (see `token_arrays`), by block number: they
        replace the line-by-line ones; the blocks in view are highlighted again."""
        self._tokens.update(tokens)
        changed = tokens.keys() & self.highlighted
        self.highlighted -= changed
        self.highlight_range(*self.visible)

    def set_openers(self, old: Openers, new: Openers) -> None:
        """Where each side's lines start inside a multi-line string or comment (see
        carry.py): the blocks of those lines are lexed again from there."""
        if self.lexer is None or (old, new) == self._openers:
            self._openers = (old, new)
            return
        before = self._openers
        self._openers = (old, new)
        changed = {
            number
            for number, row in enumerate(self.rows)
            if self._opener_of(row, (old, new)) != self._opener_of(row, before)
        }
        for number in changed:
            self._tokens.pop(number, None)
        self.highlighted -= changed
        self.highlight_range(*self.visible)

    @staticmethod
    def _opener_of(row: Row, openers: tuple[Openers, Openers]) -> str:
        if row.kind == "-":
            return openers[0].get(row.old_no or 0, "")
        if row.kind in ("+", " "):
            return openers[1].get(row.new_no or 0, "")
        return ""

    def set_spans(self, spans: dict[int, list[Span]]) -> None:
        """Intraline spans by block number (offsets in the line without its prefix).
        Only the blocks in view are highlighted again now; the others get their spans
        when they are highlighted."""
        changed = (self.spans.keys() | spans.keys()) & self.highlighted
        self.spans = spans
        self.highlighted -= changed
        self.highlight_range(*self.visible)

    def highlight_range(self, first: int, last: int) -> None:
        """Highlight the blocks first..last not highlighted yet (and remember the range,
        as the one in view)."""
        self.visible = (first, last)
        document = self.document()
        if document is None or last < first:
            return
        block = document.findBlockByNumber(max(first, 0))
        while block.isValid():
            number = block.blockNumber()
            if number > last:
                break
            if number not in self.highlighted:
                self.highlighted.add(number)
                self.rehighlightBlock(block)
            block = block.next()

    def lex_ahead(self, ranges: list[tuple[int, int]], budget_s: float) -> bool:
        """Lex the code lines of these block ranges into the cache (nothing is
        highlighted), for up to `budget_s`; True once all are lexed."""
        document = self.document()
        if document is None or self.lexer is None:
            return True
        deadline = time.perf_counter() + budget_s
        for first, last in ranges:
            block = document.findBlockByNumber(max(first, 0))
            while block.isValid():
                number = block.blockNumber()
                if number > last or number >= len(self.rows):
                    break
                if number not in self._tokens and self.rows[number].kind in ("+", "-", " "):
                    self._lex(number, block.text())
                    if time.perf_counter() > deadline:
                        return False
                block = block.next()
        return True

    def _build_formats(self) -> None:
        """One format per coloured kind, in `_kinds` order (the same in every palette)."""
        self._formats = []
        for kind in self._kinds:
            fmt = QTextCharFormat()
            fmt.setForeground(self.colors.tokens[kind])
            if kind is Comment:
                fmt.setFontItalic(True)
            self._formats.append(fmt)

    def _lex(self, number: int, text: str) -> array[int]:
        """The coloured tokens of a line, flat (start, length, kind index); lexed once,
        after its opener when it starts inside a multi-line string or comment (the
        opener's own tokens dropped)."""
        tokens = self._tokens.get(number)
        if tokens is None:
            tokens = array("I")
            if self.lexer is not None and len(text) <= MAX_LEXED_CHARS:
                row = self.rows[number] if 0 <= number < len(self.rows) else None
                opener = self._opener_of(row, self._openers) if row is not None else ""
                position = 1 - len(opener)
                for kind, value in self.lexer.get_tokens(opener + text[1:]):
                    index = kind_index(kind)
                    end = position + len(value)
                    if index >= 0 and end > 1:
                        start = max(position, 1)
                        tokens.extend((start, end - start, index))
                    position = end
            self._tokens[number] = tokens
        return tokens

    def _token_formats(self, number: int, text: str) -> list[tuple[int, int, QTextCharFormat]]:
        """The coloured tokens of a line as (start, length, format)."""
        tokens, formats = self._lex(number, text), self._formats
        return [
            (tokens[i], tokens[i + 1], formats[tokens[i + 2]]) for i in range(0, len(tokens), 3)
        ]

    def _set(self, units: list[int] | None, start: int, length: int, fmt: QTextCharFormat) -> None:
        """setFormat with offsets in code points (Python's), given in UTF-16 units to Qt."""
        if units is None:
            self.setFormat(start, length, fmt)
        else:
            self.setFormat(units[start], units[start + length] - units[start], fmt)

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
            whole = utf16_offsets(text)
            self.setFormat(0, whole[-1] if whole else len(text), fmt)
            return
        prefix = QTextCharFormat()
        prefix.setForeground(self.colors.muted)
        self.setFormat(0, 1, prefix)
        units = utf16_offsets(text)
        tokens = self._token_formats(number, text)
        for start, length, fmt in tokens:
            self._set(units, start, length, fmt)
        spans = self.spans.get(number)
        if not spans:
            return
        strong = self.colors.added_strong if row.kind == "+" else self.colors.removed_strong
        # Pieces of the line with one format each: the tokens and the gaps between.
        pieces: list[tuple[int, int, QTextCharFormat | None]] = []
        position = 1
        for start, length, fmt in tokens:
            if start > position:
                pieces.append((position, start, None))
            pieces.append((start, start + length, fmt))
            position = start + length
        if position < len(text):
            pieces.append((position, len(text), None))
        for span_start, span_end in spans:
            lo, hi = span_start + 1, min(span_end + 1, len(text))
            for start, end, base in pieces:
                a, b = max(start, lo), min(end, hi)
                if a < b:
                    fmt = QTextCharFormat(base) if base is not None else QTextCharFormat()
                    fmt.setBackground(strong)
                    if base is not None and base.foreground().color() == self.colors.muted:
                        # A comment's pale grey vanishes on the strong background.
                        fmt.setForeground(self.colors.text)
                    self._set(units, a, b - a, fmt)
