"""What a line lexed alone cannot know: that it starts inside a multi-line string or
comment (a docstring, a /* block */, a `template`). Pure code, no Qt.

A file too long to lex whole with Pygments (see highlight.MAX_CONTEXT_CHARS) is scanned
here instead with one regular expression, which skips one-line strings and comments (a
`\"\"\"` inside them opens nothing) and finds the multi-line ones. Each line that starts
inside one gets its *opener*, the text that opens it; the highlighter lexes
`opener + line` and drops the opener's tokens, so the line is coloured in its context.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from pathlib import PurePosixPath

Openers = dict[int, str]  # line number (1-based) → the text that opens what it starts in

MAX_SCANNED_CHARS = 20_000_000  # a longer side stays lexed line by line

# Each finds the next opening of a multi-line string or comment in one match, skipping
# code, one-line strings and line comments possessively (`*+`: no backtracking over a
# file with no opening left), so Python runs once per opening, not once per token.
_PYTHON_OPEN = re.compile(
    r"""(?:[^"'\\#]++|\\.|#[^\n]*+"""
    r"""|"(?!"")(?:[^"\\\n]|\\.)*+"?|'(?!'')(?:[^'\\\n]|\\.)*+'?)*+"""
    r"""(?P<open>"{3}|'{3})""",
    re.DOTALL,
)
_C_LIKE_OPEN = re.compile(
    r"""(?:[^/"'`\\]++|\\.|//[^\n]*+|/(?![*/])"""
    r"""|"(?:[^"\\\n]|\\.)*+"?|'(?:[^'\\\n]|\\.)*+'?)*+"""
    r"""(?P<open>/\*|`)""",
    re.DOTALL,
)
# The rest of each, from after its opening: to its end, or to the end of the file when
# it is never closed.
_REST = {
    '"""': re.compile(r"""(?:[^"\\]++|\\.|"(?!""))*+(?:"{3}|\Z)""", re.DOTALL),
    "'''": re.compile(r"""(?:[^'\\]++|\\.|'(?!''))*+(?:'{3}|\Z)""", re.DOTALL),
    "/*": re.compile(r"(?:[^*]++|\*(?!/))*+(?:\*/|\Z)", re.DOTALL),
    "`": re.compile(r"(?:[^`\\]++|\\.)*+(?:`|\Z)", re.DOTALL),
}
_STRING_PREFIX = frozenset("rRbBuUfF")

PYTHON_SUFFIXES = frozenset({".py", ".pyi", ".pyw"})
C_LIKE_SUFFIXES = frozenset(
    {
        ".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".hxx", ".m", ".mm",
        ".java", ".kt", ".kts", ".scala", ".cs", ".swift", ".go", ".rs", ".php",
        ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".css", ".scss", ".less",
    }
)  # fmt: skip


def line_openers(path: str, text: str) -> Openers:
    """The lines of `text` that start inside a multi-line string or comment, each with
    its opener; empty for a language not known here (or a text too long to scan)."""
    suffix = PurePosixPath(path).suffix.lower()
    if len(text) > MAX_SCANNED_CHARS:
        return {}
    if suffix in PYTHON_SUFFIXES:
        spans = _spans(text, _PYTHON_OPEN, python=True)
    elif suffix in C_LIKE_SUFFIXES:
        spans = _spans(text, _C_LIKE_OPEN, python=False)
    else:
        return {}
    return _by_line(text, spans)


def _spans(text: str, opening: re.Pattern[str], python: bool) -> list[tuple[int, int, str]]:
    """(start, end, opener) of each multi-line string or comment that spans lines."""
    spans: list[tuple[int, int, str]] = []
    position = 0
    while True:
        match = opening.match(text, position)
        if match is None:
            return spans
        quote, at = match.group("open"), match.start("open")
        rest = _REST[quote].match(text, match.end())
        end = rest.end() if rest is not None else len(text)
        if text.find("\n", at, end) >= 0:
            prefix = _python_prefix(text, at) if python else ""
            spans.append((at - len(prefix), end, prefix + quote))
        position = max(end, match.end())


def _python_prefix(text: str, at: int) -> str:
    """The string's prefix letters before its quotes (r, b, f, rb …), if any."""
    start = at
    while start > max(0, at - 2) and text[start - 1] in _STRING_PREFIX:
        start -= 1
    if start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        return ""  # the end of a name, not a prefix
    return text[start:at]


def _by_line(text: str, spans: list[tuple[int, int, str]]) -> Openers:
    if not spans:
        return {}
    starts = [0]
    starts.extend(match.end() for match in re.finditer("\n", text))
    openers: Openers = {}
    for start, end, opener in spans:
        # The lines that begin after the opening and before the end (1-based numbers).
        first = bisect_right(starts, start) + 1
        last = bisect_right(starts, end - 1)
        for line in range(first, last + 1):
            openers[line] = opener
    return openers
