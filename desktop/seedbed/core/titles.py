"""A task's title is one line: what a title field (a QLineEdit) shows of pasted text is
what is saved."""

from __future__ import annotations

# What QLineEdit draws as a space (QWidgetLineControl::updateDisplayText): control
# characters except tab, and the Unicode line and paragraph separators.
_SHOWN_AS_SPACE = {chr(c) for c in range(0x20) if c != 0x09} | {"\u2028", "\u2029"}


def one_line_title(text: str) -> str:
    """The title as a QLineEdit shows it: a pasted newline is a space there, so it is
    one in the saved title too (and a NUL, which no title may hold, goes the same way)."""
    return "".join(" " if c in _SHOWN_AS_SPACE else c for c in text)
