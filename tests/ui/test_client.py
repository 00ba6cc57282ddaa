"""The window as a client of the engine process: other clients' moves, two windows on one
engine, closing the window mid-run, and an engine killed under a window."""

from __future__ import annotations

import functools
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from seedbed.api.sync_client import SyncClient
from seedbed.core import reads
from seedbed.core.merging import board_cards
from seedbed.core.tasks import move_before
from seedbed.core.verbs import verb_name
from seedbed.domain.models import Card, OnQuit, TaskState
from seedbed.service import launch
from seedbed.store.lock import engine_running
from seedbed.ui.common.host import LOST
from seedbed.ui.window.main_window import MainWindow
from seedbed.ui.window.quit_dialog import QuitAnswer
from tests.conftest import SeedbedCli
from tests.service.conftest import Engines
from tests.ui.conftest import CheckedContext, ThreadEngine, make_context

RUN_TIMEOUT_MS = 30_000


def open_window(qtbot: QtBot, context: CheckedContext) -> MainWindow:
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def add(seedbed: SeedbedCli, title: str, *extra: str) -> int:
    out = seedbed.ok("task", "add", "--project", "demo", "--title", title, *extra, "--json")
    return int(out.json()["id"])


def planned_order(window: MainWindow) -> list[int]:
    cards = window.board.model.cards()
    return [c.task.id for c in sorted(cards, key=lambda c: c.task.position)
            if c.task.state is TaskState.PLANNED]  # fmt: skip


@pytest.fixture
def second_context(
    qapp: object, data_dir: Path, engine: ThreadEngine, app_context: CheckedContext
) -> Iterator[CheckedContext]:
    """A second window's context on the same engine."""
    context = make_context(data_dir)
    yield context
    context.close()
    context.store.close()


@pytest.mark.usefixtures("project")
def test_the_board_follows_a_move_by_another_client(
    qtbot: QtBot, seedbed: SeedbedCli, app_context: CheckedContext, data_dir: Path
) -> None:
    a, b = add(seedbed, "A"), add(seedbed, "B")
    window = open_window(qtbot, app_context)
    qtbot.waitUntil(lambda: planned_order(window) == [a, b])
    with SyncClient.connect(data_dir) as client:
        client.call(verb_name(move_before), {"task_id": b, "before_id": a})
    qtbot.waitUntil(lambda: planned_order(window) == [b, a], timeout=5000)


@pytest.mark.usefixtures("project")
def test_two_windows_on_one_engine_see_each_others_moves(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    app_context: CheckedContext,
    second_context: CheckedContext,
) -> None:
    a, b = add(seedbed, "A"), add(seedbed, "B")
    first, second = open_window(qtbot, app_context), open_window(qtbot, second_context)
    for window in (first, second):
        qtbot.waitUntil(lambda w=window: planned_order(w) == [a, b])
    first.board.move(b, TaskState.PLANNED, before_id=a)
    qtbot.waitUntil(lambda: planned_order(second) == [b, a], timeout=5000)
    second.board.move(a, TaskState.PLANNED, before_id=b)
    # Its move done in the engine (the first window may show [a, b] a moment before, from
    # a read begun before its own move), then the first window shows it.
    qtbot.waitUntil(lambda: second_context.host.pending() == 0, timeout=5000)
    assert [t.id for t in app_context.store.list_tasks(states=[TaskState.PLANNED])] == [a, b]
    qtbot.waitUntil(lambda: planned_order(first) == [a, b], timeout=5000)


def test_closing_the_window_mid_run_leaves_the_run_going(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    project: str,
    command_profile: Callable[[str, str], str],
    engine: ThreadEngine,
    data_dir: Path,
) -> None:
    command_profile(
        "chatty", "for i in $(seq 1 40); do echo agent line $i; sleep 0.05; done; echo x > x.txt"
    )
    task_id = add(seedbed, "Talk a while", "--profile", "chatty", "--start")
    context = make_context(data_dir)
    try:
        window = open_window(qtbot, context)
        qtbot.waitUntil(lambda: window.board.select_task(task_id), timeout=5000)
        qtbot.waitUntil(lambda: window.log.model.rowCount() > 3, timeout=RUN_TIMEOUT_MS)
        window.ask_quit = lambda _running: QuitAnswer(OnQuit.KEEP, remember=False)
        window.close()
    finally:
        context.close()  # the window goes; its agents are kept running
    store = context.store
    assert store.get_task(task_id).state is TaskState.RUNNING
    # The engine finishes the run without any window.
    qtbot.waitUntil(
        lambda: store.get_task(task_id).state is TaskState.AWAITING_REVIEW,
        timeout=RUN_TIMEOUT_MS,
    )
    context.store.close()
    again = make_context(data_dir)
    try:
        window = open_window(qtbot, again)
        qtbot.waitUntil(lambda: window.board.select_task(task_id), timeout=5000)
        [run] = again.store.list_runs(task_id)
        stored = again.store.count_log_rows(run.id)
        qtbot.waitUntil(lambda: window.log.model.rowCount() == stored, timeout=5000)
        # The rows' pages come from the engine after the count: wait for them all.
        qtbot.waitUntil(lambda: all(window.log.model.line_at(row) for row in range(stored)))
        texts = [window.log.model.line_at(row).text for row in range(stored)]
        assert any("agent line 40" in text for text in texts)
        assert "run 1 ended" in texts[-1]
    finally:
        again.close()
        again.store.close()


@pytest.mark.usefixtures("project")
def test_a_window_whose_engine_is_killed_says_so(
    qtbot: QtBot, seedbed: SeedbedCli, data_dir: Path, engines: Engines
) -> None:
    task_id = add(seedbed, "Anything")
    started = engines.start()  # a real detached engine process
    context = make_context(data_dir)
    try:
        window = open_window(qtbot, context)
        qtbot.waitUntil(lambda: window.board.model.card(task_id) is not None, timeout=5000)
        with qtbot.waitSignal(context.bridge.engine_lost, timeout=10_000) as lost:
            os.kill(started["pid"], signal.SIGKILL)
        assert "stopped" in lost.args[0]
        assert context.host.mode == LOST and context.read_only and context.controls_off
        messages: list[str] = []
        window.board.message_posted.connect(lambda m, _e: messages.append(m))
        window.board.move(task_id, TaskState.RUNNING)
        assert messages and "Read-only" in messages[-1]
        assert engines.wait_gone()
    finally:
        context.close()
        context.store.close()
    assert not engine_running(data_dir)
    assert launch.answering(data_dir) is None


@pytest.mark.usefixtures("project")
def test_a_call_asked_early_gets_that_answer_once(
    qtbot: QtBot, app_context: CheckedContext
) -> None:
    """The window asks for its first board while it loads (app.py): the board's own first
    read takes that answer instead of asking again; a later read asks anew."""
    host = app_context.host
    project_id = app_context.project_id
    assert project_id is not None
    early = host.ask_early(board_cards, project_id)
    assert host.ask_early(board_cards, project_id) is early  # asked once
    got: list[list[Card]] = []
    assert host.call(board_cards, project_id, on_done=got.append) is early
    qtbot.waitUntil(lambda: len(got) == 1)
    assert got[0] == early.result()
    later: list[list[Card]] = []
    assert host.call(board_cards, project_id, on_done=later.append) is not early
    again = functools.partial(board_cards, project_id)  # as BackgroundCall asks it
    assert host.call(again, on_done=later.append) is not early
    qtbot.waitUntil(lambda: len(later) == 2)


def test_a_round_trip_that_would_wait_on_the_gui_thread_is_refused(
    project: str, app_context: CheckedContext
) -> None:
    """`host.remote` waits for its answer: on the GUI thread it raises instead (a slow
    engine would freeze the window), and from a worker thread it answers."""
    host = app_context.host
    with pytest.raises(RuntimeError, match="on the GUI thread"):
        host.remote(reads.list_projects)
    projects = host.call(host.remote, reads.list_projects).result(10)
    assert [p.name for p in projects] == [project]
