"""What changed inside a changed line: spans for the diff view to highlight.

Pure and capped, so the UI can run it off the GUI thread and never stall on a minified
line (git-cola's `intraline_diff.py` is the model). Granularity is word-ish: tokens are
runs of word characters, runs of spaces, or single punctuation marks. Characters would
highlight noise inside renamed identifiers; whole lines would say nothing new.
"""

from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher

from seedbed.domain.diffs import Hunk, LineKind

Span = tuple[int, int]

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]", re.UNICODE)
# Below this token similarity the lines are rewrites: marking nearly all of both says less
# than the plain removed/added colours do.
MIN_RATIO = 0.3
# SequenceMatcher is quadratic in repeated tokens: `x = 1 x = 1 …` against `x = 2 x = 2 …`
# costs about (pairs of equal tokens) times (matching blocks). Past this many equal-token
# pairs a line is a table or generated data, where spans would be noise anyway.
MAX_PAIRS = 10_000


def _tokens(line: str) -> tuple[list[str], list[int]]:
    """The tokens of `line` and where each starts (plus the end), for span offsets."""
    tokens: list[str] = []
    starts: list[int] = []
    for match in _TOKEN.finditer(line):
        tokens.append(match.group())
        starts.append(match.start())
    starts.append(len(line))
    return tokens, starts


def _equal_pairs(old: list[str], new: list[str]) -> int:
    """How many (old, new) token pairs are equal: the matcher's work per search."""
    counts = Counter(new)
    return sum(counts[token] for token in old)


def _merge(spans: list[Span], line: str) -> list[Span]:
    """Join spans that touch or are only whitespace apart, so one edit is one highlight."""
    merged: list[Span] = []
    for start, end in spans:
        if merged and (merged[-1][1] >= start or line[merged[-1][1] : start].isspace()):
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def intraline(old: str, new: str, max_chars: int = 500) -> tuple[list[Span], list[Span]]:
    """Changed (start, end) character spans in `old` and in `new`.

    Both lists are empty when the lines are equal, too long or repetitive to compare
    cheaply, or so different that highlighting would cover almost everything.

    Offsets count code points (Python `str` indexes); Qt counts UTF-16 units, so a view
    must convert them on lines with characters outside the BMP (emoji).
    """
    if old == new or len(old) > max_chars or len(new) > max_chars:
        return [], []
    old_tokens, old_starts = _tokens(old)
    new_tokens, new_starts = _tokens(new)
    # An edit is usually small: match the common ends for free, compare only the middle.
    limit = min(len(old_tokens), len(new_tokens))
    head = 0
    while head < limit and old_tokens[head] == new_tokens[head]:
        head += 1
    tail = 0
    while tail < limit - head and old_tokens[-1 - tail] == new_tokens[-1 - tail]:
        tail += 1
    old_mid = old_tokens[head : len(old_tokens) - tail]
    new_mid = new_tokens[head : len(new_tokens) - tail]
    if _equal_pairs(old_mid, new_mid) > MAX_PAIRS:
        return [], []
    matcher = SequenceMatcher(None, old_mid, new_mid, autojunk=False)
    matched = head + tail + sum(block.size for block in matcher.get_matching_blocks())
    if 2 * matched < MIN_RATIO * (len(old_tokens) + len(new_tokens)):
        return [], []
    old_spans: list[Span] = []
    new_spans: list[Span] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if i2 > i1:
            old_spans.append((old_starts[head + i1], old_starts[head + i2]))
        if j2 > j1:
            new_spans.append((new_starts[head + j1], new_starts[head + j2]))
    return _merge(old_spans, old), _merge(new_spans, new)


def pair_lines(hunk: Hunk) -> list[tuple[int, int]]:
    """(removed, added) index pairs into `hunk.lines` to compare with `intraline`.

    A block of removed lines directly followed by a block of added lines is an edit; they
    pair up by position, and the surplus of the longer block has no partner. Added lines
    with no removed block before them are plain insertions.
    """
    pairs: list[tuple[int, int]] = []
    lines = hunk.lines
    i, end = 0, len(lines)
    while i < end:
        if lines[i].kind != LineKind.REMOVED:
            i += 1
            continue
        removed_start = i
        while i < end and lines[i].kind == LineKind.REMOVED:
            i += 1
        added_start = i
        while i < end and lines[i].kind == LineKind.ADDED:
            i += 1
        count = min(added_start - removed_start, i - added_start)
        pairs.extend((removed_start + k, added_start + k) for k in range(count))
    return pairs
