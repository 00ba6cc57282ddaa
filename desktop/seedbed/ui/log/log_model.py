"""The log of one run as a Qt list model, read page by page from the engine.

A run can hold a million events, so the model never holds them all: it knows the row
count and reads `PAGE_ROWS` rows at a time when the view asks for one, keeping at most
`MAX_PAGES` pages (least recently used dropped). Each row's JSON is parsed only when
shown and its rendered line cached in its page.

Nothing here waits on the engine: the GUI thread never does (DESIGN.md). The row count
and every page are asked with `host.call` and arrive later on the GUI thread. Meanwhile
`data()` answers a placeholder ("…") for a row whose page is on its way, each missing
page is asked once, and `dataChanged` repaints its rows when it comes. Answers carry the
model's generation, so one for a run no longer shown is dropped. Slow reads (the detail
pane, search, copying rows) are the Qt-free helpers at the end of this module, run on a
worker thread by `host.call` with `host.remote`.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from enum import IntEnum
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from seedbed.core import transcript
from seedbed.domain.events import Event, RawEvent, ToolCallEvent, ToolResultEvent, parse_event
from seedbed.ui.common.host import EngineHost, Remote
from seedbed.ui.log.log_render import (
    LINE_CHARS,
    WAITING_LINE,
    Line,
    render_detail,
    render_line,
    search_text,
)

PAGE_ROWS = 256
MAX_PAGES = 16
PREFETCH_ROWS = 32  # a row this near its page's edge has the neighbouring page asked too
# A row bigger than this (a tool result holding a whole file) is rendered when its page
# is read and its JSON dropped; asking for the whole event reads it again. So a cached
# page holds at most PAGE_ROWS * BIG_ROW characters of JSON.
BIG_ROW = 16_384
BIG_EVENTS = 4  # big rows' whole events kept after being asked for
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


class Page:
    """Consecutive rows from `first`: their seqs and JSON, parsed events and lines as
    shown. Made on a worker thread (`read_page`), where big rows are rendered."""

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

    def render(self) -> None:
        """Parse and render every row now (on the worker thread that read them: rows a
        followed log paints at once, so the GUI thread does not parse them there)."""
        for i, data in enumerate(self.data):
            if data is not None and self.lines[i] is None:
                event = self.events[i] = parse_row(data)
                self.lines[i] = render_line(event)

    def extend(self, more: Page) -> None:
        """Append the rows read after this page's last (a live run's partial page)."""
        self.seqs += more.seqs
        self.data += more.data
        self.events += more.events
        self.lines += more.lines


# Combined once: the view asks for a row's flags twice per paint, and each `|` of Qt
# enums from Python builds a new member.
ROW_FLAGS = (
    Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemNeverHasChildren
)


class LogModel(QAbstractListModel):
    """The shown events of one run (every event but streamed text pieces), one per row.

    `set_run` switches runs: a reset to no rows, then the rows inserted when the engine
    says how many there are. `refresh` asks again and appends the rows stored since, with
    beginInsertRows, so a view keeps its scroll position and selection while a run is
    live; `grow` appends them from a count the engine told with its events (no question
    asked). Rows are contiguous numbers 0…n-1 (`Store.append_events` numbers them in one
    transaction), so row N is page N // PAGE_ROWS, slot N % PAGE_ROWS.

    Signals: refreshed(int): the row count was read (after `set_run` or `refresh`); how
    many rows it added.
    """

    refreshed = Signal(int)

    def __init__(self, host: EngineHost, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._host = host
        self._run_id: int | None = None
        self._count = 0
        self._generation = 0  # answers asked for an earlier run (or reset) are dropped
        self._pages: OrderedDict[int, Page] = OrderedDict()
        self._asked: set[int] = set()  # page numbers on their way
        self._counting = False
        self._count_again = False
        self._told = 0  # a count told (`grow`) while one asked was on its way
        self._big: OrderedDict[int, Event] = OrderedDict()  # big rows' whole events
        self._big_asked: set[int] = set()

    @property
    def run_id(self) -> int | None:
        return self._run_id

    def set_run(self, run_id: int | None) -> None:
        """Show this run: no rows until the engine says how many it has. Its last page
        comes with the count (a log opens at its end), so the first paint has data."""
        self.beginResetModel()
        self._generation += 1
        self._run_id = run_id
        self._count = 0
        self._pages.clear()
        self._asked.clear()
        self._big.clear()
        self._big_asked.clear()
        self._counting = self._count_again = False
        self._told = 0
        self.endResetModel()
        if run_id is None:
            return
        self._counting = True
        self._host.call(
            read_tail,
            self._host.remote,
            run_id,
            on_done=functools.partial(self._tail_read, self._generation),
            on_error=functools.partial(self._count_failed, self._generation),
            owner=self,
        )

    def refresh(self) -> None:
        """Ask for the row count again; rows stored since are inserted when it comes
        (one count on its way at a time, so counts arrive in order)."""
        if self._run_id is None:
            return
        if self._counting:
            self._count_again = True
            return
        self._counting = True
        self._host.call(
            transcript.log_row_count,
            self._run_id,
            on_done=functools.partial(self._counted, self._generation),
            on_error=functools.partial(self._count_failed, self._generation),
            owner=self,
        )

    def grow(self, count: int) -> None:
        """The engine told the run's row count with its events: insert the rows stored
        since. While an asked count (or the tail, or rows) is on its way, this one waits
        for it: the tail's pages must be in before their rows are, and counts go up in
        order. When the model holds the end (a view follows it), the new rows are read
        before they are inserted, so they are painted once, with their data, instead of
        as placeholders first and again when their page comes."""
        if self._run_id is None:
            return
        if self._counting:
            self._told = max(self._told, count)
        elif count > self._count:  # a smaller one is older: counts are told in order
            if not self._holds_end():
                self._counted(self._generation, count, asked=False)
                return
            self._counting = True
            self._host.call(
                read_pages,
                self._host.remote,
                self._run_id,
                self._count,
                count - self._count,
                on_done=functools.partial(self._grown, self._generation, count),
                on_error=functools.partial(self._grow_failed, self._generation, count),
                owner=self,
            )

    def _holds_end(self) -> bool:
        """Whether the last row's page is here, every row of it."""
        page = self._pages.get((self._count - 1) // PAGE_ROWS) if self._count else None
        return page is not None and page.first + page.size() == self._count

    def _grown(self, generation: int, count: int, pages: list[Page]) -> None:
        if generation != self._generation:
            return
        for page in pages:
            self._page_read(generation, page.first // PAGE_ROWS, page)
        self._grow_failed(generation, count, None)

    def _grow_failed(self, generation: int, count: int, _error: BaseException | None) -> None:
        """The rows are inserted all the same (the count is right): a row whose data did
        not come is asked for when shown."""
        if generation != self._generation:
            return
        self._counting = False
        told, self._told = self._told, 0
        self._counted(generation, count, asked=False)
        if told > self._count:
            self.grow(told)

    def _tail_read(self, generation: int, tail: tuple[int, list[Page]]) -> None:
        if generation != self._generation:
            return
        count, pages = tail
        for page in pages:
            self._pages[page.first // PAGE_ROWS] = page
        self._counted(generation, count)

    def _counted(self, generation: int, count: int, asked: bool = True) -> None:
        if generation != self._generation:
            return
        if asked:
            self._counting = False
            count, self._told = max(count, self._told), 0
        old = self._count
        if count < old:  # the log never shrinks; if it did, start over
            self.set_run(self._run_id)
            return
        if count > old:
            self.beginInsertRows(QModelIndex(), old, count - 1)
            self._count = count
            self.endInsertRows()
        self.refreshed.emit(count - old)
        if self._count_again:
            self._count_again = False
            self.refresh()

    def _count_failed(self, generation: int, _error: BaseException) -> None:
        # The engine cannot answer (it stopped): the rows shown stay; the next event
        # appended, or the engine back, asks again.
        if generation == self._generation:
            self._counting = self._count_again = False

    def cached_rows(self) -> int:
        """Rows held in memory now (at most MAX_PAGES * PAGE_ROWS)."""
        return sum(page.size() for page in self._pages.values())

    def loaded(self, row: int) -> bool:
        """Whether the row's page is here (its data shows), without asking for it."""
        page = self._pages.get(row // PAGE_ROWS)
        return 0 <= row < self._count and page is not None and row - page.first < page.size()

    # -- rows ------------------------------------------------------------------------

    def event_at(self, row: int) -> Event | None:
        """The event at row, parsed; None while its page (or, for a big row, its whole
        event) is on its way."""
        found = self._locate(row)
        if found is None:
            return None
        page, i = found
        event = page.events[i]
        if event is not None:
            return event
        data = page.data[i]
        if data is None:  # a big row, dropped after rendering: read it again, keep few
            return self._big_event(row)
        event = page.events[i] = parse_row(data)
        return event

    def line_at(self, row: int) -> Line | None:
        """The row's line; None out of range or while its page is on its way."""
        found = self._locate(row)
        if found is None:
            return None
        page, i = found
        line = page.lines[i]
        if line is None:
            data = page.data[i]
            assert data is not None  # a big row's line was rendered with its page
            event = page.events[i] = page.events[i] or parse_row(data)
            line = page.lines[i] = render_line(event)
        return line

    def seq_at(self, row: int) -> int | None:
        found = self._locate(row)
        return None if found is None else found[0].seqs[found[1]]

    def _locate(self, row: int) -> tuple[Page, int] | None:
        """The row's page and slot, when here; else its page is asked for (once)."""
        if self._run_id is None or not 0 <= row < self._count:
            return None
        number = row // PAGE_ROWS
        page = self._pages.get(number)
        if page is None or row - page.first >= page.size():
            self._ask_page(number)
            return None
        self._pages.move_to_end(number)
        i = row - page.first
        if i < PREFETCH_ROWS and number > 0:
            self._ask_page(number - 1)
        elif i >= PAGE_ROWS - PREFETCH_ROWS and (number + 1) * PAGE_ROWS < self._count:
            self._ask_page(number + 1)
        return page, i

    def _ask_page(self, number: int) -> None:
        """Read the page's rows, or, for a page read when shorter, the rows after it."""
        if number in self._asked or self._run_id is None:
            return
        page = self._pages.get(number)
        first = number * PAGE_ROWS if page is None else page.first + page.size()
        wanted = (number + 1) * PAGE_ROWS - first
        if wanted <= 0 or first >= self._count:
            return
        self._asked.add(number)
        self._host.call(
            read_page,
            self._host.remote,
            self._run_id,
            first,
            wanted,
            on_done=functools.partial(self._page_read, self._generation, number),
            on_error=functools.partial(self._page_failed, self._generation, number),
            owner=self,
        )

    def _page_read(self, generation: int, number: int, read: Page) -> None:
        if generation != self._generation:
            return
        self._asked.discard(number)
        if read.size() == 0:
            return
        page = self._pages.get(number)
        if page is not None and page.first + page.size() == read.first:
            page.extend(read)
        elif read.first == number * PAGE_ROWS:
            self._pages[number] = read
        else:
            return  # the page went (dropped, or read anew) while these rows came
        self._pages.move_to_end(number)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        last = min(read.first + read.size(), self._count) - 1
        if last >= read.first:
            self.dataChanged.emit(self.index(read.first), self.index(last))
        # Rows counted while these were on their way (a live run) are asked for now:
        # their placeholders were painted already and nothing else would repaint them.
        page = self._pages[number]
        if page.first + page.size() < min(self._count, (number + 1) * PAGE_ROWS):
            self._ask_page(number)

    def _page_failed(self, generation: int, number: int, _error: BaseException) -> None:
        # Nothing to show (the engine is gone); asked again when the row is next shown.
        if generation == self._generation:
            self._asked.discard(number)

    def _big_event(self, row: int) -> Event | None:
        event = self._big.get(row)
        if event is not None:
            self._big.move_to_end(row)
            return event
        if row not in self._big_asked and self._run_id is not None:
            self._big_asked.add(row)
            self._host.call(
                read_event,
                self._host.remote,
                self._run_id,
                row,
                on_done=functools.partial(self._big_read, self._generation, row),
                on_error=functools.partial(self._big_failed, self._generation, row),
                owner=self,
            )
        return None

    def _big_read(self, generation: int, row: int, event: Event | None) -> None:
        if generation != self._generation:
            return
        self._big_asked.discard(row)
        if event is None:
            return
        self._big[row] = event
        while len(self._big) > BIG_EVENTS:
            self._big.popitem(last=False)
        if row < self._count:
            self.dataChanged.emit(self.index(row), self.index(row), [Role.ITEM])

    def _big_failed(self, generation: int, row: int, _error: BaseException) -> None:
        if generation == self._generation:
            self._big_asked.discard(row)

    # -- QAbstractListModel ----------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            line = self.line_at(row)
            if line is None:
                return WAITING_LINE.text if 0 <= row < self._count else None
            return line.text
        if role == Role.LINE:
            line = self.line_at(row)
            return WAITING_LINE if line is None and 0 <= row < self._count else line
        if role == Role.ITEM:
            return self.event_at(row)
        if role == Role.SEQ:
            return self.seq_at(row)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return ROW_FLAGS


# -- Qt-free helpers for host.call (they run on a worker thread, asking the engine) --------------


def read_tail(remote: Remote, run_id: int) -> tuple[int, list[Page]]:
    """The run's row count and its last page (the one before too, when the last holds
    less than half a page): what a log opened at its end shows first."""
    count: int = remote(transcript.log_row_count, run_id)
    if count == 0:
        return 0, []
    last = (count - 1) // PAGE_ROWS
    first = last - 1 if last > 0 and count - last * PAGE_ROWS < PAGE_ROWS // 2 else last
    rows = remote(transcript.log_rows, run_id, first * PAGE_ROWS, (last - first + 1) * PAGE_ROWS)
    pages = [
        Page(number * PAGE_ROWS, [r for r in rows if r[0] // PAGE_ROWS == number])
        for number in range(first, last + 1)
    ]
    return count, pages


def read_pages(remote: Remote, run_id: int, first: int, limit: int) -> list[Page]:
    """At most `limit` rows from `first`, as a Page per page number they fall in, each
    row parsed and rendered (the rows a followed log shows next)."""
    rows = remote(transcript.log_rows, run_id, first, limit)
    by_page: dict[int, list[tuple[int, int, str]]] = {}
    for row in rows:
        by_page.setdefault(row[0] // PAGE_ROWS, []).append(row)
    pages = [Page(piece[0][0], piece) for _number, piece in sorted(by_page.items())]
    for page in pages:
        page.render()
    return pages


def read_page(remote: Remote, run_id: int, first: int, limit: int) -> Page:
    """At most `limit` rows from `first`, as a Page (its big rows rendered here)."""
    return Page(first, remote(transcript.log_rows, run_id, first, limit))


def read_event(remote: Remote, run_id: int, row: int) -> Event | None:
    """The whole event at row, parsed (None past the end)."""
    rows = remote(transcript.log_rows, run_id, row, 1)
    return parse_row(rows[0][2]) if rows and rows[0][0] == row else None


def find_result(remote: Remote, run_id: int, row: int, call: Event) -> ToolResultEvent | None:
    """The result of the tool call at row: the first tool_result with its call id
    among the next RESULT_WINDOW rows (by name when the agent gave no call ids)."""
    if not isinstance(call, ToolCallEvent):
        return None
    for data in remote(transcript.tool_results_after, run_id, row, RESULT_WINDOW):
        if call.call_id and call.call_id not in data:
            continue
        event = parse_row(data)
        if not isinstance(event, ToolResultEvent):
            continue
        if event.call_id == call.call_id and (call.call_id or event.name == call.name):
            return event
    return None


def detail_text(remote: Remote, run_id: int, row: int) -> str:
    """The row's whole event for the detail pane (a tool call with its result)."""
    event = read_event(remote, run_id, row)
    if event is None:
        return ""
    return render_detail(event, find_result(remote, run_id, row, event))


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
