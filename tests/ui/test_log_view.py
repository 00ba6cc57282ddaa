"""The log panel: a live run of a real command agent, runs, search, copy and details."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QPoint, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from seedbed.core import transcript
from seedbed.domain.events import Event, OutputEvent, Stream, TextEvent, ToolCallEvent
from seedbed.domain.events import ToolResultEvent as Result
from seedbed.domain.models import Project, Run, RunStatus, Task
from seedbed.store import Store
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.host import EngineHost
from seedbed.ui.log.foreground import ForegroundView
from seedbed.ui.log.log_model import read_tail
from seedbed.ui.log.log_render import Tone
from seedbed.ui.log.log_view import LogPanel
from tests.conftest import SeedbedCli

LIVE_SCRIPT = "for i in $(seq 1 200); do echo line $i; sleep 0.01; done"


def make_panel(qtbot: QtBot, context: AppContext, compact: bool = False) -> LogPanel:
    panel = LogPanel(context, compact=compact)
    qtbot.addWidget(panel)
    panel.resize(640, 360)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def engine_recovered(qtbot: QtBot, context: AppContext) -> None:
    """Wait until the engine has done its start-up recovery, which would end a run the
    test adds as running. Recovery is the engine loop's first step; a call made through
    the loop completes after it."""
    done: list[object] = []
    context.host.call(int, on_done=done.append)
    qtbot.waitUntil(lambda: bool(done))


def add_task(store: Store, tmp_path: Path) -> int:
    project = store.add_project(Project(name="logs", path=tmp_path, base_branch="main"))
    return store.add_task(Task(project_id=project.id, title="T", base_branch="main")).id


def add_run(store: Store, task_id: int, events: list[Event], status: RunStatus) -> int:
    run_id = store.add_run(Run(task_id=task_id, number=0, status=status)).id
    rows = [
        (1.0, e.kind, e.model_dump_json(), not (isinstance(e, TextEvent) and e.delta))
        for e in events
    ]
    store.append_events(run_id, 0, rows)
    return run_id


def lines(n: int, start: int = 0) -> list[Event]:
    return [OutputEvent(stream=Stream.STDOUT, line=f"line {i}") for i in range(start, start + n)]


def shown_texts(panel: LogPanel) -> list[str]:
    """What the rows say now ("…" for a row whose page is on its way: asked for)."""
    model = panel.model
    return [model.index(row).data() for row in range(model.rowCount())]


def loaded_texts(qtbot: QtBot, panel: LogPanel) -> list[str]:
    """What the rows say, once every row's page is in."""
    model = panel.model
    qtbot.waitUntil(lambda: all(model.line_at(row) for row in range(model.rowCount())))
    return shown_texts(panel)


def test_the_log_follows_a_live_run_of_a_real_agent(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    project: str,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> None:
    command_profile("sh", LIVE_SCRIPT)
    panel = make_panel(qtbot, app_context)
    panel.show_task(None)
    assert panel.note.text() == "No task selected."
    task_id = int(seedbed.ok("task", "add", "--project", project, "--title", "T", "--start").out)
    panel.show_task(task_id)
    assert panel.task_id == task_id
    model = panel.model
    scroll = panel.view.verticalScrollBar()

    # Rows appear while the agent prints, and the view keeps the newest in sight.
    qtbot.waitUntil(lambda: model.rowCount() > 40, timeout=30_000)
    assert panel.run_id is not None and panel.run_box.count() == 1
    assert panel.run_box.currentText().startswith("Run 1 · implement · running")
    qtbot.waitUntil(lambda: scroll.maximum() > 0 and scroll.value() == scroll.maximum())
    assert panel.following

    # The user scrolls up: following stops, rows keep coming, the view stays put.
    scroll.setValue(0)
    assert not panel.following
    seen = model.rowCount()
    qtbot.waitUntil(lambda: model.rowCount() > seen + 20, timeout=30_000)
    assert scroll.value() == 0 and not panel.following

    # "End" jumps to the newest row and follows again, to the agent's last line.
    qtbot.mouseClick(panel.end_button, Qt.MouseButton.LeftButton)
    assert panel.following
    qtbot.waitUntil(lambda: "line 200" in shown_texts(panel), timeout=30_000)
    qtbot.waitUntil(lambda: scroll.value() == scroll.maximum())
    texts = loaded_texts(qtbot, panel)
    assert [t for t in texts if t.startswith("line ")] == [f"line {i}" for i in range(1, 201)]
    viewport = panel.view.viewport()
    last = panel.view.indexAt(QPoint(5, viewport.height() - 3))
    assert last.isValid() and last.row() >= model.rowCount() - 3
    qtbot.waitUntil(lambda: "succeeded" in panel.run_box.currentText(), timeout=30_000)


def test_a_followed_log_grows_by_the_counts_told_without_asking(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    project: str,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The engine tells each run's row count with its events: the model grows by it,
    asking for no count, and ends exact."""
    asked: list[Callable[..., Any]] = []
    calling = EngineHost.call

    def call(host: EngineHost, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        asked.append(fn)
        calling(host, fn, *args, **kwargs)

    monkeypatch.setattr(EngineHost, "call", call)
    command_profile("sh", LIVE_SCRIPT)
    panel = make_panel(qtbot, app_context)
    task_id = int(seedbed.ok("task", "add", "--project", project, "--title", "T", "--start").out)
    panel.show_task(task_id)
    model = panel.model
    qtbot.waitUntil(lambda: model.rowCount() > 40, timeout=30_000)
    qtbot.waitUntil(lambda: "succeeded" in panel.run_box.currentText(), timeout=30_000)
    run_id = panel.run_id
    assert run_id is not None
    count = app_context.store.count_log_rows(run_id)
    qtbot.waitUntil(lambda: model.rowCount() == count)
    assert "line 200" in loaded_texts(qtbot, panel)
    assert read_tail in asked  # the calls are watched
    assert transcript.log_row_count not in asked


def test_a_new_run_replaces_the_newest_unless_the_user_chose_an_older_one(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    engine_recovered(qtbot, app_context)
    store = app_context.store
    task_id = add_task(store, tmp_path)
    first = add_run(store, task_id, lines(3), RunStatus.SUCCEEDED)
    second = add_run(store, task_id, lines(1234), RunStatus.FAILED)
    panel = make_panel(qtbot, app_context)
    panel.show_task(task_id)
    qtbot.waitUntil(lambda: panel.run_id == second)
    assert panel.run_box.itemText(0) == "Run 1 · implement · succeeded · 3 events"
    assert panel.run_box.itemText(1) == "Run 2 · implement · failed · 1,234 events"

    # A third run (written by "another process": the store watcher reports it).
    third = add_run(store, task_id, lines(2), RunStatus.RUNNING)
    qtbot.waitUntil(lambda: panel.run_id == third, timeout=10_000)
    assert panel.run_box.currentIndex() == 2
    qtbot.waitUntil(lambda: shown_texts(panel) == ["line 0", "line 1"])

    # On an older run the user stays there when yet another run starts.
    panel.run_box.activated.emit(0)
    assert panel.run_id == first
    qtbot.waitUntil(lambda: shown_texts(panel) == ["line 0", "line 1", "line 2"])
    store.update_run(third, status=RunStatus.SUCCEEDED)
    fourth = add_run(store, task_id, lines(1), RunStatus.RUNNING)
    qtbot.waitUntil(lambda: panel.run_box.count() == 4, timeout=10_000)
    assert panel.run_id == first and fourth != first
    assert panel.run_box.currentIndex() == 0


def test_streamed_text_shows_as_writing_until_its_row_arrives(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    engine_recovered(qtbot, app_context)
    store = app_context.store
    task_id = add_task(store, tmp_path)
    run_id = add_run(store, task_id, lines(2), RunStatus.RUNNING)
    panel = make_panel(qtbot, app_context)
    panel.show_task(task_id)
    qtbot.waitUntil(lambda: panel.run_id == run_id and panel.model.rowCount() == 2)
    assert panel.note.isHidden()
    pieces = [TextEvent(text="I will ", delta=True), TextEvent(text="fix it", delta=True)]
    store.append_events(run_id, 2, [(1.0, "text", e.model_dump_json(), False) for e in pieces])
    qtbot.waitUntil(lambda: panel.note.text() == "writing… I will fix it", timeout=10_000)
    assert panel.model.rowCount() == 2  # the model holds only stored rows
    whole = TextEvent(text="I will fix it")
    store.append_events(run_id, 4, [(1.0, "text", whole.model_dump_json(), True)])
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3, timeout=10_000)
    qtbot.waitUntil(lambda: panel.note.isHidden() and shown_texts(panel)[-1] == "I will fix it")


def test_ctrl_f_finds_a_row_far_down_and_selects_it(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    store = app_context.store
    task_id = add_task(store, tmp_path)
    needle = TextEvent(text="Found the Needle here")
    add_run(store, task_id, [*lines(30_000), needle, *lines(100, 30_000)], RunStatus.SUCCEEDED)
    panel = make_panel(qtbot, app_context)
    panel.show_task(task_id)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 30_101)
    panel.view.setFocus()
    panel.view.setCurrentIndex(panel.model.index(0))
    panel.open_find()  # what Ctrl+F does
    assert panel.find_bar.isVisible()
    qtbot.keyClicks(panel.find_bar.edit, "needle")
    with qtbot.waitSignal(panel.search_finished, timeout=10_000) as found:
        qtbot.keyClick(panel.find_bar.edit, Qt.Key.Key_Return)
    assert found.args == [30_000]
    assert panel.view.currentIndex().row() == 30_000
    assert panel.view.selectionModel().isRowSelected(30_000)
    assert not panel.following
    assert panel.view.visualRect(panel.model.index(30_000)).intersects(panel.view.viewport().rect())

    # Shift+Enter finds the previous match, from the current row up.
    panel.find_bar.edit.setText("line 2999")
    with qtbot.waitSignal(panel.search_finished, timeout=10_000) as found:
        qtbot.keyClick(panel.find_bar.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert found.args == [29_999] and "row 30,000" in panel.find_bar.status.text()
    with qtbot.waitSignal(panel.search_finished, timeout=10_000) as found:
        qtbot.keyClick(panel.find_bar.edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert found.args == [29_998]
    panel.find_bar.edit.setText("absent words")
    with qtbot.waitSignal(panel.search_finished, timeout=10_000) as found:
        qtbot.keyClick(panel.find_bar.edit, Qt.Key.Key_Return)
    assert found.args == [None] and panel.find_bar.status.text() == "no match"
    qtbot.keyClick(panel.find_bar.edit, Qt.Key.Key_Escape)
    assert panel.find_bar.isHidden()


def test_the_find_shortcut_opens_the_find_bar(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    panel = make_panel(qtbot, app_context)
    panel.activateWindow()
    panel.view.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is panel.view)
    qtbot.keyClick(panel.view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert panel.find_bar.isVisible()
    assert QApplication.focusWidget() is panel.find_bar.edit


def test_ctrl_c_copies_the_selected_rows(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    store = app_context.store
    task_id = add_task(store, tmp_path)
    events: list[Event] = [*lines(10), ToolCallEvent(name="bash", arguments={"command": "ls"})]
    add_run(store, task_id, events, RunStatus.SUCCEEDED)
    panel = make_panel(qtbot, app_context)
    panel.show_task(task_id)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 11)
    selection = panel.view.selectionModel()
    flags = QItemSelectionModel.SelectionFlag.Select
    for row in (10, 2, 3):
        selection.select(panel.model.index(row), flags)
    QApplication.clipboard().clear()
    qtbot.keyClick(panel.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: QApplication.clipboard().text() == "line 2\nline 3\n→ bash ls")


def test_a_big_selection_is_copied_off_the_gui_thread(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    store = app_context.store
    task_id = add_task(store, tmp_path)
    add_run(store, task_id, lines(5000), RunStatus.SUCCEEDED)
    panel = make_panel(qtbot, app_context)
    panel.show_task(task_id)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 5000)
    QApplication.clipboard().clear()
    panel.view.selectAll()
    panel.copy_selection()
    qtbot.waitUntil(lambda: QApplication.clipboard().text() != "", timeout=10_000)
    assert QApplication.clipboard().text().splitlines() == [f"line {i}" for i in range(5000)]
    assert panel.model.cached_rows() < 5000


@pytest.mark.parametrize("compact", [False, True])
def test_enter_and_double_click_toggle_the_detail_pane(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path, compact: bool
) -> None:
    store = app_context.store
    task_id = add_task(store, tmp_path)
    events: list[Event] = [
        TextEvent(text="First line\nsecond line\nthird line"),
        ToolCallEvent(call_id="c", name="bash", arguments={"command": "make test"}),
        *lines(5),
        Result(call_id="c", name="bash", output="all 12 passed"),
    ]
    add_run(store, task_id, events, RunStatus.SUCCEEDED)
    panel = make_panel(qtbot, app_context, compact=compact)
    panel.show_task(task_id)
    assert panel.run_box.isVisible() is not compact
    qtbot.waitUntil(lambda: panel.model.rowCount() == 8)
    panel.view.setFocus()
    panel.view.setCurrentIndex(panel.model.index(0))
    qtbot.waitUntil(lambda: panel.model.index(0).data() == "First line (+2 lines)")
    qtbot.keyClick(panel.view, Qt.Key.Key_Return)
    if compact:  # a tile has no room for details
        assert panel.detail.isHidden()
        return
    assert panel.detail.isVisible()
    qtbot.waitUntil(
        lambda: panel.detail.toPlainText().endswith("First line\nsecond line\nthird line")
    )
    panel.view.setCurrentIndex(panel.model.index(1))
    qtbot.waitUntil(lambda: "all 12 passed" in panel.detail.toPlainText())
    assert '"command": "make test"' in panel.detail.toPlainText()
    assert panel.detail.isReadOnly()
    rect = panel.view.visualRect(panel.model.index(1))
    # QTest's double click alone presses no index first, as a real one does.
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert panel.detail.isHidden()


def test_colours_follow_the_palette(qtbot: QtBot, app_context: AppContext) -> None:
    panel = make_panel(qtbot, app_context)
    light = QPalette(QColor("#202020"), QColor("#f4f4f4"))  # button text, window
    light.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
    light.setColor(QPalette.ColorRole.Text, QColor("#101010"))
    panel.setPalette(light)
    red_on_light = panel.delegate.color(Tone.ERROR)
    assert red_on_light.lightnessF() < 0.5
    dark = QPalette(QColor("#e0e0e0"), QColor("#202124"))
    dark.setColor(QPalette.ColorRole.Base, QColor("#161616"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#eeeeee"))
    panel.setPalette(dark)
    red_on_dark = panel.delegate.color(Tone.ERROR)
    assert red_on_dark.lightnessF() > 0.5 and red_on_dark.red() > red_on_dark.green()
    assert panel.delegate.color(Tone.NORMAL) == QColor("#eeeeee")
    assert panel.note.palette().color(QPalette.ColorRole.WindowText).alphaF() < 1


@pytest.fixture
def gui_never_waits(app_context: AppContext, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`host.remote` (a blocking round trip to the engine) fails when the GUI thread
    calls it, from here on (the context itself is opened before: it reads the settings
    so). Returns the names of the verbs it was asked for on the GUI thread."""
    asked_on_gui: list[str] = []
    blocking = EngineHost.remote

    def remote(host: EngineHost, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if threading.current_thread() is threading.main_thread():
            asked_on_gui.append(fn.__name__)
            raise AssertionError(f"{fn.__name__} was asked of the engine on the GUI thread")
        return blocking(host, fn, *args, **kwargs)

    monkeypatch.setattr(EngineHost, "remote", remote)
    return asked_on_gui


def test_the_panel_never_waits_on_the_engine(
    qtbot: QtBot, app_context: AppContext, gui_never_waits: list[str], tmp_path: Path
) -> None:
    """Open, follow, scroll, live rows, the pending text, search, details, copy, another
    run, another task, a foreground tile: every read of the engine is made off the GUI
    thread."""
    engine_recovered(qtbot, app_context)
    store = app_context.store
    task_id = add_task(store, tmp_path)
    call = ToolCallEvent(call_id="c", name="bash", arguments={"command": "make"})
    result = Result(call_id="c", name="bash", output="made it")
    older = [call, *lines(300), result, *lines(2700, 300)]
    first = add_run(store, task_id, older, RunStatus.SUCCEEDED)
    live = add_run(store, task_id, lines(2000), RunStatus.RUNNING)
    project_id = store.get_task(task_id).project_id
    other_task = store.add_task(Task(project_id=project_id, title="U", base_branch="main")).id
    add_run(store, other_task, lines(5), RunStatus.SUCCEEDED)
    panel = make_panel(qtbot, app_context)
    model = panel.model
    scroll = panel.view.verticalScrollBar()

    # A running log opens at its end, its rows painted.
    panel.show_task(task_id)
    qtbot.waitUntil(lambda: panel.run_id == live and model.rowCount() == 2000)
    assert panel.following
    qtbot.waitUntil(lambda: scroll.maximum() > 0 and scroll.value() == scroll.maximum())
    bottom = panel.view.indexAt(QPoint(5, panel.view.viewport().height() - 3))
    assert bottom.row() >= 1990
    qtbot.waitUntil(lambda: model.loaded(bottom.row()))
    assert bottom.data() == f"line {bottom.row()}"
    assert panel.run_box.itemText(0) == "Run 1 · implement · succeeded · 3,002 events"

    # Rows and pending text arrive while the run goes; the view follows them.
    pieces = [TextEvent(text="thinking ", delta=True), TextEvent(text="hard", delta=True)]
    rows = [(1.0, e.kind, e.model_dump_json(), True) for e in lines(5, 2000)]
    rows += [(1.0, "text", e.model_dump_json(), False) for e in pieces]
    store.append_events(live, 2000, rows)
    qtbot.waitUntil(lambda: model.rowCount() == 2005, timeout=10_000)
    qtbot.waitUntil(lambda: panel.note.text() == "writing… thinking hard", timeout=10_000)
    qtbot.waitUntil(lambda: scroll.value() == scroll.maximum())
    qtbot.waitUntil(lambda: shown_texts(panel)[-1] == "line 2004")

    # Scrolling up stops following and shows the top once its page is in.
    scroll.setValue(0)
    assert not panel.following
    qtbot.waitUntil(lambda: model.loaded(0) and model.index(0).data() == "line 0")
    qtbot.mouseClick(panel.end_button, Qt.MouseButton.LeftButton)
    assert panel.following

    # Search, then copy a selection whose rows are not all read yet.
    panel.open_find()
    panel.find_bar.edit.setText("line 1500")
    with qtbot.waitSignal(panel.search_finished, timeout=10_000) as found:
        qtbot.keyClick(panel.find_bar.edit, Qt.Key.Key_Return)
    assert found.args == [1500] and panel.view.currentIndex().row() == 1500
    selection = panel.view.selectionModel()
    selection.clearSelection()
    flags = QItemSelectionModel.SelectionFlag.Select
    for row in (1, 1500, 1999):
        selection.select(model.index(row), flags)
    QApplication.clipboard().clear()
    panel.copy_selection()
    qtbot.waitUntil(lambda: QApplication.clipboard().text() == "line 1\nline 1500\nline 1999")

    # Another run: a tool call's details, its result found further down.
    panel.run_box.activated.emit(0)
    assert panel.run_id == first
    qtbot.waitUntil(lambda: model.rowCount() == 3002)
    panel.view.setCurrentIndex(model.index(0))
    panel.toggle_detail()
    qtbot.waitUntil(lambda: "made it" in panel.detail.toPlainText())
    assert '"command": "make"' in panel.detail.toPlainText()

    # Another task, and back.
    panel.show_task(other_task)
    qtbot.waitUntil(lambda: shown_texts(panel) == [f"line {i}" for i in range(5)])
    panel.show_task(task_id)
    qtbot.waitUntil(lambda: panel.run_id == live and model.rowCount() == 2005)

    # A foreground tile (a compact panel) of the other task.
    tiles = ForegroundView(app_context)
    qtbot.addWidget(tiles)
    tiles.set_tasks([other_task])
    tiles.show()
    tile = tiles.tile(other_task)
    assert tile is not None
    qtbot.waitUntil(lambda: tile.panel.model.index(4).data() == "line 4")
    qtbot.waitUntil(lambda: tile.title.text() == f"#{other_task} U")
    assert gui_never_waits == []
