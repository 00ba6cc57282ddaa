"""The rows of the diff view, laid out in pure code (no Qt): unified, or side by side
with removed and added lines aligned by filler rows; the unchanged lines before, between
and after the hunks folded into one "expand" row until the file's lines are loaded and
the fold is opened."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from seedbed.domain.diffs import DiffLine, FileDiff, Hunk, LineKind
from seedbed.domain.intraline import intraline, pair_lines

_ADDED, _REMOVED = LineKind.ADDED, LineKind.REMOVED
MAX_PAIRS = 2000  # intraline comparisons per file, at most
NO_NEWLINE = "\\ No newline at end of file"

Span = tuple[int, int]


@dataclass(frozen=True)
class Row:
    """One line of the diff view: what it is, its line numbers, where it came from.

    `hunk` is the hunk the row belongs to (for a fold: the hunk after it, one past the
    last hunk for the fold at the end of the file), `line` the index of its DiffLine in
    that hunk (-1 for lines not in the diff)."""

    kind: str  # "hunk", "+", "-", " ", "note", "fold", "filler"
    old_no: int | None = None
    new_no: int | None = None
    hunk: int = -1
    line: int = -1


@dataclass(frozen=True)
class Gap:
    """Unchanged lines before hunk `hunk` that the diff leaves out; `count` is None for
    the lines after the last hunk while the file's length is not known."""

    hunk: int
    old_first: int
    new_first: int
    count: int | None


@dataclass
class Pane:
    """One text of the view: its rows, what each block shows, the code of each row."""

    rows: list[Row] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    code: list[str] = field(default_factory=list)

    def add(self, row: Row, line: str, code: str = "") -> None:
        self.rows.append(row)
        self.lines.append(line)
        self.code.append(code)

    def text(self) -> str:
        return "\n".join(self.lines)

    def row_of(self) -> dict[tuple[int, int], int]:
        """Block numbers of the changed lines, keyed by (hunk, line index)."""
        return {(r.hunk, r.line): n for n, r in enumerate(self.rows) if r.kind in ("+", "-")}


def _after(start: int, count: int) -> int:
    """The first line after a hunk side (git gives the line before when count is 0)."""
    return start + count if count else start + 1


def _first(start: int, count: int) -> int:
    return start if count else start + 1


def _foldable(file: FileDiff) -> bool:
    """Whether the file has unchanged lines to fold: an added or deleted file has none."""
    return bool(file.hunks) and not (file.binary or file.too_large or file.status in ("A", "D"))


def gaps(file: FileDiff) -> list[Gap]:
    """The folded regions: before the first hunk and between hunks."""
    found: list[Gap] = []
    old_next, new_next = 1, 1
    for h, hunk in enumerate(file.hunks):
        new_first = _first(hunk.new_start, hunk.new_count)
        count = new_first - new_next
        if count > 0 and _foldable(file):
            found.append(Gap(h, old_next, new_next, count))
        old_next = _after(hunk.old_start, hunk.old_count)
        new_next = _after(hunk.new_start, hunk.new_count)
    return found


CONTEXT_LINES = 3  # git diff --unified=3, pinned in vcs/diff.py


def _ends_in_hunk(hunk: Hunk) -> bool:
    """Whether a side of the file ends within the hunk: it is empty (git's start 0), its
    last line has no newline, or fewer context lines than git gives follow the last
    change (git stopped at the end of the file). Then no unchanged line follows."""
    if (hunk.old_start, hunk.old_count) == (0, 0) or (hunk.new_start, hunk.new_count) == (0, 0):
        return True
    if any(line.no_newline for line in hunk.lines):
        return True
    trailing = 0
    for line in reversed(hunk.lines):
        if line.kind is not LineKind.CONTEXT:
            break
        trailing += 1
    # A hunk without any context line says nothing (made with -U0, or all of it changed).
    with_context = any(line.kind is LineKind.CONTEXT for line in hunk.lines)
    return with_context and trailing < CONTEXT_LINES


def trailing_gap(file: FileDiff, source: list[str] | None = None) -> Gap | None:
    """The unchanged lines after the last hunk, to the end of the file (the fold's hunk
    is one past the last). Their count is None until the file's lines are loaded; None
    when there are none."""
    if not _foldable(file) or _ends_in_hunk(file.hunks[-1]):
        return None
    last = file.hunks[-1]
    old_first = _after(last.old_start, last.old_count)
    new_first = _after(last.new_start, last.new_count)
    if source is None:
        return Gap(len(file.hunks), old_first, new_first, None)
    count = len(source) - (new_first - 1)
    return Gap(len(file.hunks), old_first, new_first, count) if count > 0 else None


def fold_text(count: int | None) -> str:
    if count is None:
        return "⋯ expand to the end of the file"
    return f"⋯ {count:,} unchanged line{'s' if count != 1 else ''} — expand"


def _header(hunk: Hunk) -> str:
    text = f"@@ -{hunk.old_start},{hunk.old_count} +{hunk.new_start},{hunk.new_count} @@"
    return text + (f" {hunk.header}" if hunk.header else "")


def _gap_rows(gap: Gap, source: list[str] | None, expanded: set[int]) -> list[tuple[Row, str]]:
    """The fold row, or the unchanged lines once loaded and opened."""
    if source is None or gap.count is None or gap.hunk not in expanded:
        return [(Row("fold", hunk=gap.hunk), fold_text(gap.count))]
    start = gap.new_first - 1
    texts = source[start : start + gap.count]
    return [
        (Row(" ", gap.old_first + i, gap.new_first + i, gap.hunk - 1), text)
        for i, text in enumerate(texts)
    ]


def _gaps_by_hunk(file: FileDiff, source: list[str] | None) -> dict[int, Gap]:
    found = gaps(file)
    end = trailing_gap(file, source)
    return {g.hunk: g for g in (found if end is None else [*found, end])}


def _add_gap(
    gap: Gap | None,
    source: list[str] | None,
    expanded: set[int] | frozenset[int],
    panes: list[Pane],
) -> None:
    """The gap's rows, the same in every pane (a fold or unchanged lines face themselves)."""
    if gap is None:
        return
    for row, text in _gap_rows(gap, source, set(expanded)):
        for pane in panes:
            pane.add(row, text if row.kind == "fold" else " " + text, text)


def _line_row(h: int, i: int, line: DiffLine) -> Row:
    return Row(line.kind.value, line.old_no, line.new_no, h, i)


def unified(
    file: FileDiff,
    source: list[str] | None = None,
    expanded: set[int] | frozenset[int] = frozenset(),
) -> Pane:
    """Each hunk's header and lines, preceded by its gap (folded or opened), and the
    gap after the last hunk."""
    pane = Pane()
    by_hunk = _gaps_by_hunk(file, source)
    for h, hunk in enumerate(file.hunks):
        _add_gap(by_hunk.get(h), source, expanded, [pane])
        pane.add(Row("hunk", hunk=h), _header(hunk))
        for i, line in enumerate(hunk.lines):
            pane.add(_line_row(h, i, line), line.kind.value + line.text, line.text)
            if line.no_newline:
                pane.add(Row("note", hunk=h, line=i), NO_NEWLINE)
    _add_gap(by_hunk.get(len(file.hunks)), source, expanded, [pane])
    return pane


def _side(h: int, i: int, line: DiffLine) -> list[tuple[Row, str, str]]:
    rows = [(_line_row(h, i, line), line.kind.value + line.text, line.text)]
    if line.no_newline:
        rows.append((Row("note", hunk=h, line=i), NO_NEWLINE, ""))
    return rows


def _pad(pane: Pane, items: list[tuple[Row, str, str]], length: int, h: int) -> None:
    for row, text, code in items:
        pane.add(row, text, code)
    for _ in range(length - len(items)):
        pane.add(Row("filler", hunk=h), "")


def side_by_side(
    file: FileDiff,
    source: list[str] | None = None,
    expanded: set[int] | frozenset[int] = frozenset(),
) -> tuple[Pane, Pane]:
    """Old on the left, new on the right; every block of one lines up with the same
    block of the other (a run of removed lines faces the run of added lines after it,
    the shorter one padded with filler rows)."""
    left, right = Pane(), Pane()
    by_hunk = _gaps_by_hunk(file, source)
    for h, hunk in enumerate(file.hunks):
        _add_gap(by_hunk.get(h), source, expanded, [left, right])
        left.add(Row("hunk", hunk=h), _header(hunk))
        right.add(Row("hunk", hunk=h), _header(hunk))
        removed: list[tuple[Row, str, str]] = []
        added: list[tuple[Row, str, str]] = []
        for i, line in [*enumerate(hunk.lines), (-1, None)]:
            if line is None or line.kind is LineKind.CONTEXT:
                length = max(len(removed), len(added))
                _pad(left, removed, length, h)
                _pad(right, added, length, h)
                removed, added = [], []
                if line is not None:
                    _pad(left, _side(h, i, line), 0, h)
                    _pad(right, _side(h, i, line), 0, h)
            elif line.kind is LineKind.REMOVED:
                if added:  # a removal after additions starts a new change block
                    length = max(len(removed), len(added))
                    _pad(left, removed, length, h)
                    _pad(right, added, length, h)
                    removed, added = [], []
                removed.extend(_side(h, i, line))
            else:
                added.extend(_side(h, i, line))
    _add_gap(by_hunk.get(len(file.hunks)), source, expanded, [left, right])
    return left, right


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


MODE_NAMES = {"100644": "file", "100755": "executable", "120000": "symlink", "160000": "submodule"}


def file_notes(file: FileDiff) -> list[str]:
    """What the lines do not show: a rename or copy, a mode change, lines whose only
    change is their ending (LF ↔ CRLF)."""
    notes: list[str] = []
    if file.old_path and file.status in ("R", "C"):
        verb = "Renamed" if file.status == "R" else "Copied"
        similar = f" ({file.similarity}% similar)" if file.similarity is not None else ""
        notes.append(f"{verb} from {file.old_path}{similar}")
    if file.old_mode and file.new_mode and file.old_mode != file.new_mode:
        old = MODE_NAMES.get(file.old_mode, file.old_mode)
        new = MODE_NAMES.get(file.new_mode, file.new_mode)
        notes.append(f"Mode {file.old_mode} → {file.new_mode} ({old} → {new})")
    endings = 0
    for hunk in file.hunks:
        # Matched by text, not position: lines inserted among them do not hide them.
        removed = Counter((line.text, line.crlf) for line in hunk.lines if line.kind is _REMOVED)
        added = Counter((line.text, line.crlf) for line in hunk.lines if line.kind is _ADDED)
        endings += sum(min(n, added[(text, not crlf)]) for (text, crlf), n in removed.items())
    if endings:
        to = (
            "CRLF"
            if any(line.crlf for h in file.hunks for line in h.lines if line.kind is LineKind.ADDED)
            else "LF"
        )
        s = "s" if endings != 1 else ""
        notes.append(f"{endings:,} line{s} changed only in their ending (now {to})")
    return notes
