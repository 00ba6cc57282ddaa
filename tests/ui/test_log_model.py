"""The log model over the engine's events: paged, bounded, live, never waiting on the
engine (pages come later, placeholders meanwhile), checked by qtmodeltester."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from seedbed.core.context import Context
from seedbed.domain.events import (
    ErrorEvent,
    Event,
    OutputEvent,
    RawEvent,
    Stream,
    TextEvent,
    ToolCallEvent,
    ToolResultEvent,
    UsageEvent,
)
from seedbed.domain.models import Project, Run, Task
from seedbed.store import Store
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.host import Remote
from seedbed.ui.log.log_model import (
    MAX_PAGES,
    PAGE_ROWS,
    LogModel,
    Role,
    detail_text,
    find_result,
    find_row,
    find_row_wrapping,
    plain_rows,
)
from seedbed.ui.log.log_render import render_line


def in_process(store: Store) -> Remote:
    """What `host.remote` does, without the socket: the verb called here on a Context."""
    ctx = Context(store)
    return lambda verb, *args, **kwargs: verb(ctx, *args, **kwargs)


@pytest.fixture
def store(data_dir: Path) -> Iterator[Store]:
    store = Store.open(data_dir)
    yield store
    store.close()


def open_model(qtbot: QtBot, context: AppContext, run_id: int | None) -> LogModel:
    """A model showing the run, once the engine has said how many rows it has."""
    model = LogModel(context.host)
    with qtbot.waitSignal(model.refreshed, timeout=10_000):
        model.set_run(run_id)
    return model


def shown(qtbot: QtBot, model: LogModel, row: int, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
    """The row's data once its page is in: asked (a placeholder comes back at first, as
    for a view's paint), then waited for."""
    model.index(row).data(role)
    qtbot.waitUntil(lambda: model.loaded(row), timeout=10_000)
    return model.index(row).data(role)


def new_run(store: Store, tmp_path: Path) -> int:
    projects = store.list_projects()
    if projects:
        project = projects[0]
    else:
        project = store.add_project(Project(name="demo", path=tmp_path, base_branch="main"))
    task = store.add_task(Task(project_id=project.id, title="T", base_branch="main"))
    return store.add_run(Run(task_id=task.id, number=0)).id


class Writer:
    """Appends events to a run the way the recorder does (deltas get no row)."""

    def __init__(self, store: Store, run_id: int) -> None:
        self.store = store
        self.run_id = run_id
        self.seq = 0

    def add(self, events: list[Event]) -> None:
        rows = []
        for event in events:
            shown = not (isinstance(event, TextEvent) and event.delta)
            rows.append((event.ts or 1.0, event.kind, event.model_dump_json(), shown))
        self.store.append_events(self.run_id, self.seq, rows)
        self.seq += len(rows)

    def add_raw(self, kind: str, data: str) -> None:
        self.store.append_events(self.run_id, self.seq, [(1.0, kind, data, True)])
        self.seq += 1


def out(n: int) -> OutputEvent:
    return OutputEvent(stream=Stream.STDOUT, line=f"line {n}")


def test_the_model_passes_qtmodeltester(
    qtbot: QtBot, qtmodeltester: ModelTester, app_context: AppContext, tmp_path: Path
) -> None:
    store = app_context.store
    run_id = new_run(store, tmp_path)
    writer = Writer(store, run_id)
    writer.add([TextEvent(text="Plan:\n1. read\n2. fix"), ToolCallEvent(name="bash")])
    writer.add([out(i) for i in range(PAGE_ROWS * 2 + 10)])
    writer.add([ErrorEvent(message="bad"), UsageEvent(tokens_in=5, context_fill=0.1)])
    model = open_model(qtbot, app_context, run_id)
    assert model.rowCount() == PAGE_ROWS * 2 + 14
    qtmodeltester.check(model, force_py=True)
    # The pages asked for meanwhile come in (dataChanged, checked by the tester too).
    assert shown(qtbot, model, 0) == "Plan: (+2 lines)"
    assert shown(qtbot, model, PAGE_ROWS * 2 + 13) != "…"
    qtmodeltester.check(model)


def test_rows_show_a_placeholder_until_their_page_comes(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    store = app_context.store
    run_id = new_run(store, tmp_path)
    total = PAGE_ROWS * 3 + 5
    Writer(store, run_id).add([out(i) for i in range(total)])
    model = open_model(qtbot, app_context, run_id)
    # The end came with the count (its last page, and the one before: the last is short).
    assert all(model.loaded(row) for row in range(PAGE_ROWS * 2, total))
    assert model.index(total - 1).data() == f"line {total - 1}"
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda first, last, *_: changed.append((first.row(), last.row())))
    assert model.index(3).data() == "…" and model.index(3).data(Role.ITEM) is None
    assert model.line_at(3) is None and not model.loaded(3)
    assert model.index(4).data() == "…"  # the same page: asked once
    qtbot.waitUntil(lambda: model.loaded(3))
    assert changed == [(0, PAGE_ROWS - 1)]
    assert model.index(3).data() == "line 3" and model.index(4).data() == "line 4"
    # Near a page's end the next page is asked for too.
    assert model.index(PAGE_ROWS - 2).data() == f"line {PAGE_ROWS - 2}"
    qtbot.waitUntil(lambda: model.loaded(PAGE_ROWS))
    assert changed[1:] == [(PAGE_ROWS, PAGE_ROWS * 2 - 1)]
    # An answer for a run no longer shown is dropped.
    other = new_run(store, tmp_path)
    more = PAGE_ROWS * 2 + 200  # its first page is not among those read with the count
    Writer(store, other).add(
        [OutputEvent(stream=Stream.STDOUT, line=f"other {i}") for i in range(more)]
    )
    with qtbot.waitSignal(model.refreshed):
        model.set_run(run_id)
    assert model.index(0).data() == "…"  # its page asked for
    model.set_run(other)
    qtbot.waitUntil(lambda: model.rowCount() == more)
    assert not model.loaded(0)
    assert shown(qtbot, model, 0) == "other 0"


def test_a_long_run_opens_at_once_and_holds_only_a_few_pages(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    store = app_context.store
    run_id = new_run(store, tmp_path)
    writer = Writer(store, run_id)
    total = 200_000
    batch = 20_000
    for start in range(0, total, batch):
        events: list[Event] = []
        for n in range(start, start + batch):
            events.append(out(n))
            if n % 1000 == 0:  # streamed text: stored, but no row of its own
                events.append(TextEvent(text="pie", delta=True))
        writer.add(events)

    started = time.perf_counter()
    model = open_model(qtbot, app_context, run_id)
    assert model.rowCount() == total
    assert shown(qtbot, model, 150_000) == "line 150000"
    assert time.perf_counter() - started < 1.0
    event = model.index(150_000).data(Role.ITEM)
    assert isinstance(event, OutputEvent) and event.line == "line 150000"
    # 150 deltas (one after each of lines 0, 1000, … 149,000) come before it.
    assert model.index(150_000).data(Role.SEQ) == 150_000 + 150
    assert shown(qtbot, model, total - 1) == f"line {total - 1}"
    assert model.index(total).data() is None

    # Reading all over the run keeps at most MAX_PAGES pages in memory.
    for row in range(0, total, 997):
        assert shown(qtbot, model, row) == f"line {row}"
    assert model.cached_rows() <= MAX_PAGES * PAGE_ROWS
    assert shown(qtbot, model, 0) == "line 0"


def test_new_rows_are_inserted_and_the_partial_page_read_again(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    store = app_context.store
    run_id = new_run(store, tmp_path)
    writer = Writer(store, run_id)
    writer.add([out(i) for i in range(10)])
    model = open_model(qtbot, app_context, run_id)
    assert shown(qtbot, model, 9) == "line 9"  # the first page is cached, 10 rows long
    with qtbot.waitSignal(model.refreshed) as refreshed:
        model.refresh()
    assert refreshed.args == [0]
    writer.add([TextEvent(text="partial", delta=True), *[out(i) for i in range(10, 15)]])
    with (
        qtbot.waitSignal(model.rowsInserted) as inserted,
        qtbot.waitSignal(model.refreshed) as refreshed,
    ):
        model.refresh()
    assert refreshed.args == [5]
    assert inserted.args[1:] == [10, 14]
    assert [shown(qtbot, model, r) for r in (9, 10, 14)] == ["line 9", "line 10", "line 14"]
    model.set_run(None)
    with qtbot.assertNotEmitted(model.refreshed, wait=100):
        model.refresh()
    assert model.rowCount() == 0


def test_a_told_count_inserts_rows_and_waits_for_the_tail_on_its_way(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    store = app_context.store
    run_id = new_run(store, tmp_path)
    writer = Writer(store, run_id)
    writer.add([out(i) for i in range(10)])
    model = LogModel(app_context.host)
    model.set_run(run_id)
    # Told before the tail (asked before these were written) comes: inserted after it,
    # never shrunk back by the tail's older count, the tail's rows shown.
    writer.add([out(i) for i in range(10, 15)])
    model.grow(15)
    assert model.rowCount() == 0
    qtbot.waitUntil(lambda: model.rowCount() == 15)
    assert [shown(qtbot, model, r) for r in (9, 10, 14)] == ["line 9", "line 10", "line 14"]
    # Told with the end here: the rows are read, then inserted with their data (painted
    # once, never as placeholders), across a page's edge too.
    loaded_when_inserted: list[bool] = []
    model.rowsInserted.connect(
        lambda _parent, first, last: loaded_when_inserted.append(
            all(model.loaded(row) for row in range(first, last + 1))
        )
    )
    writer.add([out(i) for i in range(15, PAGE_ROWS + 5)])
    with qtbot.waitSignal(model.refreshed) as refreshed:
        model.grow(PAGE_ROWS + 5)
    assert refreshed.args == [PAGE_ROWS - 10] and model.rowCount() == PAGE_ROWS + 5
    assert loaded_when_inserted == [True]
    assert model.line_at(PAGE_ROWS + 4) == render_line(out(PAGE_ROWS + 4))
    with qtbot.assertNotEmitted(model.rowsInserted, wait=50):
        model.grow(16)  # an older count, told late: nothing changes


def test_a_tool_calls_detail_finds_its_result_further_down(store: Store, tmp_path: Path) -> None:
    run_id = new_run(store, tmp_path)
    writer = Writer(store, run_id)
    writer.add(
        [
            ToolCallEvent(call_id="a", name="bash", arguments={"command": "make"}),
            ToolCallEvent(call_id="b", name="read", arguments={"path": "x.py"}),
            *[out(i) for i in range(40)],
            ToolResultEvent(call_id="b", name="read", output="print('x')"),
            ToolResultEvent(call_id="a", name="bash", output="built", is_error=True),
            ToolCallEvent(name="noid", arguments={}),
            ToolResultEvent(name="noid", output="anonymous"),
            ToolCallEvent(call_id="never", name="bash"),
        ]
    )
    read = in_process(store)
    assert "Result (error):\nbuilt" in detail_text(read, run_id, 0)
    assert "Result:\nprint('x')" in detail_text(read, run_id, 1)
    assert "anonymous" in detail_text(read, run_id, 44)
    assert "Result: not yet" in detail_text(read, run_id, 46)
    assert find_result(read, run_id, 2, out(0)) is None  # not a tool call
    assert detail_text(read, run_id, 999) == ""


def test_big_and_unreadable_rows(qtbot: QtBot, app_context: AppContext, tmp_path: Path) -> None:
    store = app_context.store
    run_id = new_run(store, tmp_path)
    writer = Writer(store, run_id)
    big = "z" * 200_000
    writer.add([ToolResultEvent(name="read", output=big), out(1)])
    writer.add_raw("future", '{"kind": "hologram", "beam": 1}')
    model = open_model(qtbot, app_context, run_id)
    assert shown(qtbot, model, 0).startswith("read: zzz")
    assert len(model.index(0).data()) < 500
    # The page keeps only the rendered line of a big row; the whole event is read again.
    page = next(iter(model._pages.values()))
    assert page.data[0] is None and page.data[1] is not None
    with qtbot.waitSignal(model.dataChanged):
        assert model.index(0).data(Role.ITEM) is None  # on its way
    event = model.index(0).data(Role.ITEM)
    assert isinstance(event, ToolResultEvent) and event.output == big
    unreadable = model.index(2).data(Role.ITEM)
    assert isinstance(unreadable, RawEvent) and "hologram" in unreadable.line


def test_search_and_copy_helpers(store: Store, tmp_path: Path) -> None:
    run_id = new_run(store, tmp_path)
    writer = Writer(store, run_id)
    writer.add([out(i) for i in range(1000)])
    writer.add([ErrorEvent(message='Say "Hi" to Ünïcode'), out(1000)])
    # Finds by what rows say, not by JSON keys ("stream" is in every output row's JSON).
    read = in_process(store)
    assert find_row(read, run_id, "line 999", -1) == 999
    assert find_row(read, run_id, "LINE 5", 5) == 50  # after row 5: "line 50" comes next
    assert find_row(read, run_id, "line 5", 600, backward=True) == 599
    assert find_row(read, run_id, "stream", -1) is None
    assert find_row(read, run_id, 'say "hi"', -1) == 1000
    assert find_row(read, run_id, "Ünïcode", -1) == 1000
    assert find_row_wrapping(read, run_id, "line 3", 900) == (3, True)
    assert find_row_wrapping(read, run_id, "line 3", 2) == (3, False)
    assert find_row_wrapping(read, run_id, "line 998", 10, backward=True) == (
        998,
        True,
    )
    assert find_row_wrapping(read, run_id, "nowhere", 10) == (None, False)
    text, left_out = plain_rows(read, run_id, [(999, 1000), (0, 1)])
    assert text == 'line 0\nline 1\nline 999\nerror: Say "Hi" to Ünïcode'
    assert left_out == 0
