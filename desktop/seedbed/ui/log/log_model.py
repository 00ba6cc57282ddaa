"""The log of one run as a Qt list model, read page by page from the events table.

A run can hold a million events, so the model never holds them all: it knows the row
count (one index lookup) and reads `PAGE_ROWS` rows at a time when the view asks for
one, keeping at most `MAX_PAGES` pages (least recently used dropped). Each row's JSON
is parsed only when shown and its rendered line cached in its page.

Those page reads are asked of the engine (`host.remote`) from the GUI thread, which
DESIGN.md otherwise keeps free of waits: each is one range scan of the `events_by_row`
index returning 256 short rows plus a round trip on the local socket, about a
millisecond, and doing it in `data()` keeps the model synchronous, as Qt views need.
Slow work (search, copying a big selection) goes through `host.call`, using the Qt-free
helpers at the end of this module.
"""

from __future__ import annotations

from collections import OrderedDict
from enum import IntEnum
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from seedbed.core import transcript
from seedbed.domain.errors import SeedbedError
from seedbed.domain.events import Event, RawEvent, ToolCallEvent, ToolResultEvent, parse_event
from seedbed.ui.common.host import Remote
from seedbed.ui.log.log_render import LINE_CHARS, Line, render_detail, render_line, search_text

PAGE_ROWS = 256
MAX_PAGES = 16
# A row bigger than this (a tool result holding a whole file) is rendered when its page
# is read and its JSON dropped; asking for the whole event reads it again. So a cached
# page holds at most PAGE_ROWS * BIG_ROW characters of JSON.
BIG_ROW = 16_384
RESULT_WINDOW = 500  # rows after a tool call searched for its result
SEARCH_BATCH = 200
COPY_MAX_ROWS = 200_000

Index = QModelIndex | QPersistentModelIndex


class Role(IntEnum):
    ITEM = Qt.ItemDataRole.UserRole + 1  # the parsed Event
    LINE = Qt.ItemDataRole.UserRole + 2  # its rendered Line
    SEQ = Qt.ItemDataRole.UserRole + 3  # its seq in the events table


def parse_row(data: str) -> Event:
    """A stored event, or a RawEvent holding its start if it no longer parses (written
    by a newer Seedbed, say): a log view shows what it cannot read, never fails on it."""
    try:
        return parse_event(data)
    except ValidationError:
        return RawEvent(line=data[:LINE_CHARS])


class _Page:
    """PAGE_ROWS consecutive rows: their seqs and JSON, parsed events and lines as shown."""

    __slots__ = ("data", "events", "first", "lines", "seqs")

    def __init__(self, first: int, rows: list[tuple[int, int, str]]) -> None:
        self.first = first
        self.seqs = [seq for _row, seq, _data in rows]
        self.data: list[str | None] = [data for _row, _seq, data in rows]
        self.events: list[Event | None] = [None] * len(rows)
        self.lines: list[Line | None] = [None] * len(rows)
        for i, data in enumerate(self.data):
            if data is not None and len(data) > BIG_ROW:
                self.lines[i] = render_line(parse_row(data))
                self.data[i] = None

    def size(self) -> int:
        return len(self.seqs)


class LogModel(QAbstractListModel):
    """The shown events of one run (every event but streamed text pieces), one per row.

    `set_run` switches runs (a reset); `refresh` appends the rows stored since, with
    beginInsertRows, so a view keeps its scroll position and selection while a run is
    live. Rows are contiguous numbers 0…n-1 (`Store.append_events` numbers them in one
    transaction), so row N is page N // PAGE_ROWS, slot N % PAGE_ROWS.
    """

    def __init__(self, remote: Remote, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._read = remote
        self._run_id: int | None = None
        self._count = 0
        self._pages: OrderedDict[int, _Page] = OrderedDict()

    @property
    def run_id(self) -> int | None:
        return self._run_id

    def set_run(self, run_id: int | None) -> None:
        self.beginResetModel()
        self._run_id = run_id
        self._pages.clear()
        self._count = 0 if run_id is None else self._ask(0, transcript.log_row_count, run_id)
        self.endResetModel()

    def refresh(self) -> int:
        """Take in the rows stored since the last look; returns how many arrived."""
        if self._run_id is None:
            return 0
        count = self._ask(self._count, transcript.log_row_count, self._run_id)
        old = self._count
        if count < old:  # the log never shrinks; if it did, start over
            self.set_run(self._run_id)
            return 0
        if count == old:
            return 0
        self.beginInsertRows(QModelIndex(), old, count - 1)
        self._count = count
        # The last page was read when it was shorter; read it again when next shown.
        self._pages.pop((old - 1) // PAGE_ROWS, None)
        self.endInsertRows()
        return count - old

    def _ask(self, default: Any, fn: Any, *args: Any) -> Any:
        """fn(*args) asked of the engine; `default` when it cannot answer (it stopped)."""
        try:
            return self._read(fn, *args)
        except SeedbedError:
            return default

    def cached_rows(self) -> int:
        """Rows held in memory now (at most MAX_PAGES * PAGE_ROWS)."""
        return sum(page.size() for page in self._pages.values())

    # -- rows ------------------------------------------------------------------------

    def event_at(self, row: int) -> Event | None:
        """The event at row, parsed."""
        found = self._locate(row)
        if found is None:
            return None
        page, i = found
        event = page.events[i]
        if event is not None:
            return event
        data = page.data[i]
        if data is None:  # a big row, dropped after rendering: read it again, keep nothing
            assert self._run_id is not None
            rows = self._ask([], transcript.log_rows, self._run_id, row, 1)
            return parse_row(rows[0][2]) if rows else None
        event = page.events[i] = parse_row(data)
        return event

    def line_at(self, row: int) -> Line | None:
        found = self._locate(row)
        if found is None:
            return None
        page, i = found
        line = page.lines[i]
        if line is None:
            event = self.event_at(row)
            assert event is not None
            line = page.lines[i] = render_line(event)
        return line

    def seq_at(self, row: int) -> int | None:
        found = self._locate(row)
        return None if found is None else found[0].seqs[found[1]]

    def find_result(self, row: int) -> ToolResultEvent | None:
        """The result of the tool call at row: the first tool_result with its call id
        among the next RESULT_WINDOW rows (by name when the agent gave no call ids)."""
        call = self.event_at(row)
        if not isinstance(call, ToolCallEvent) or self._run_id is None:
            return None
        for data in self._ask([], transcript.tool_results_after, self._run_id, row, RESULT_WINDOW):
            if call.call_id and call.call_id not in data:
                continue
            event = parse_row(data)
            if not isinstance(event, ToolResultEvent):
                continue
            if event.call_id == call.call_id and (call.call_id or event.name == call.name):
                return event
        return None

    def detail(self, row: int) -> str:
        """The row's whole event for the detail pane (a tool call with its result)."""
        event = self.event_at(row)
        if event is None:
            return ""
        return render_detail(event, self.find_result(row))

    def _locate(self, row: int) -> tuple[_Page, int] | None:
        if self._run_id is None or not 0 <= row < self._count:
            return None
        number = row // PAGE_ROWS
        page = self._pages.get(number)
        if page is None or row - page.first >= page.size():
            first = number * PAGE_ROWS
            rows = self._ask(None, transcript.log_rows, self._run_id, first, PAGE_ROWS)
            if rows is None:
                return None  # the engine is gone: nothing to show, nothing kept
            page = _Page(first, rows)
            self._pages[number] = page
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        self._pages.move_to_end(number)
        i = row - page.first
        return (page, i) if i < page.size() else None

    # -- QAbstractListModel ----------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            line = self.line_at(row)
            return None if line is None else line.text
        if role == Role.LINE:
            return self.line_at(row)
        if role == Role.ITEM:
            return self.event_at(row)
        if role == Role.SEQ:
            return self.seq_at(row)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )


# -- Qt-free helpers for host.call (they run on a worker thread, asking the engine) --------------


def find_row(
    remote: Remote, run_id: int, needle: str, start: int, backward: bool = False
) -> int | None:
    """The nearest row after start (before it, when backward) whose event says needle.

    SQLite narrows the rows down (`instr` on the JSON, ASCII case folding); each
    candidate is then checked on its text, so a search for "line" does not match every
    output event by its `"line"` key."""
    wanted = needle.lower()
    after = start
    while True:
        batch = remote(transcript.search_log, run_id, needle, after, SEARCH_BATCH, backward)
        for row, data in batch:
            if wanted in search_text(parse_row(data)).lower():
                return row
        if len(batch) < SEARCH_BATCH:
            return None
        after = batch[-1][0]


def find_row_wrapping(
    remote: Remote, run_id: int, needle: str, start: int, backward: bool = False
) -> tuple[int | None, bool]:
    """find_row, going on from the other end when nothing is left; (row, wrapped)."""
    row = find_row(remote, run_id, needle, start, backward)
    if row is not None:
        return row, False
    edge = remote(transcript.log_row_count, run_id) if backward else -1
    row = find_row(remote, run_id, needle, edge, backward)
    return row, row is not None


def plain_rows(remote: Remote, run_id: int, ranges: list[tuple[int, int]]) -> tuple[str, int]:
    """The rows of inclusive (first, last) ranges as text, one line each, as copied;
    at most COPY_MAX_ROWS of them. Returns (text, rows left out)."""
    lines: list[str] = []
    left_out = 0
    for first, last in sorted(ranges):
        row = first
        while row <= last:
            room = COPY_MAX_ROWS - len(lines)
            if room <= 0:
                left_out += last - row + 1
                break
            batch = remote(transcript.log_rows, run_id, row, min(last - row + 1, room, 5000))
            if not batch:
                break
            lines.extend(render_line(parse_row(data)).plain for _r, _s, data in batch)
            row = batch[-1][0] + 1
    return "\n".join(lines), left_out
