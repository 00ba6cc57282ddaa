"""The main window over a real engine: title and Needs-you walk, an engine that stopped, saved
geometry, notifications, dropping a folder, the screenshot command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from seedbed.domain.models import OnQuit, TaskState
from seedbed.store.lock import engine_running
from seedbed.ui.board.task_dialog import TaskDialog
from seedbed.ui.common.context import AppContext
from seedbed.ui.settings.settings_dialog import SettingsDialog
from seedbed.ui.window.main_window import MainWindow
from seedbed.ui.window.quit_dialog import QuitAnswer
from tests.conftest import SeedbedCli, make_repo
from tests.ui.conftest import ThreadEngine, make_context

RUN_TIMEOUT_MS = 30_000


def drop_urls(window: MainWindow, paths: list[Path]) -> None:
    """Drag folders in and drop them, as a file manager would (enter, then drop)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    try:
        enter = QDragEnterEvent(QPointF(50, 50), *args)
    except TypeError:  # Qt 6.11 takes a QPoint
        enter = QDragEnterEvent(QPoint(50, 50), *args)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    QApplication.sendEvent(window, QDropEvent(QPointF(50, 50), *args))


def open_window(qtbot: QtBot, context: AppContext) -> MainWindow:
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def add(seedbed: SeedbedCli, title: str, *extra: str) -> int:
    out = seedbed.ok("task", "add", "--project", "demo", "--title", title, *extra, "--json")
    return int(out.json()["id"])


@pytest.fixture
def quick(project: str, command_profile: Callable[[str, str], str]) -> str:
    return command_profile("quick", "echo done > out-$SEEDBED_TASK_ID.txt")


@pytest.mark.usefixtures("quick")
def test_the_title_counts_what_needs_you_and_the_button_walks_oldest_first(
    qtbot: QtBot, seedbed: SeedbedCli, app_context: AppContext
) -> None:
    window = open_window(qtbot, app_context)
    first = add(seedbed, "First", "--start")
    store = app_context.store
    qtbot.waitUntil(
        lambda: store.get_task(first).state is TaskState.AWAITING_REVIEW, timeout=RUN_TIMEOUT_MS
    )
    second = add(seedbed, "Second", "--start")
    qtbot.waitUntil(
        lambda: store.get_task(second).state is TaskState.AWAITING_REVIEW, timeout=RUN_TIMEOUT_MS
    )
    add(seedbed, "Still planned")
    qtbot.waitUntil(lambda: "2 need you" in window.windowTitle())
    assert window.needs_you_button.text() == "Needs you (2)"
    walk = window.actions_by_name["next_needs_you"]
    for expected in (first, second, first):
        walk.trigger()
        qtbot.waitUntil(lambda e=expected: window.board.selected_task_id() == e)
    # The selected task's log is shown beside the board.
    qtbot.waitUntil(lambda: window.log.task_id == first)


@pytest.mark.usefixtures("quick")
def test_a_finished_task_notifies_and_clicking_the_notification_opens_it(
    qtbot: QtBot, seedbed: SeedbedCli, app_context: AppContext
) -> None:
    window = open_window(qtbot, app_context)
    with qtbot.waitSignal(window.attention.notified, timeout=RUN_TIMEOUT_MS) as notified:
        task = add(seedbed, "Notify me", "--start")
    task_id, title, body = notified.args
    assert task_id == task and "ready for review" in title and body == "Notify me"
    assert window.board.selected_task_id() != task
    window.attention.tray.messageClicked.emit()
    qtbot.waitUntil(lambda: window.board.selected_task_id() == task)


def test_a_window_whose_engine_stopped_is_read_only(
    qtbot: QtBot, seedbed: SeedbedCli, app_context: AppContext, engine: ThreadEngine, quick: str
) -> None:
    planned = add(seedbed, "Planned")
    window = open_window(qtbot, app_context)
    qtbot.waitUntil(lambda: window.board.model.card(planned) is not None)
    settings = SettingsDialog(app_context, window)  # open before: it lists the profiles
    with qtbot.waitSignal(app_context.bridge.engine_lost, timeout=10_000):
        engine.stop()
    messages: list[str] = []
    window.board.message_posted.connect(lambda m, _e: messages.append(m))
    window.board.move(planned, TaskState.RUNNING)
    assert messages and "Read-only" in messages[-1]
    assert app_context.store.get_task(planned).state is TaskState.PLANNED
    # Pinning is refused too, at once (no call is even started).
    assert window.board.select_task(planned)
    # Selecting shows the task's log, whose reads fail now that the engine is gone.
    qtbot.waitUntil(lambda: app_context.host.pending() == 0)
    messages.clear()
    window.board.actions_by_name["pin_task"].trigger()
    assert messages == ["Read-only: nothing was changed."]
    assert app_context.host.pending() == 0
    assert not app_context.store.get_task(planned).foreground
    # So is saving a profile in the settings.
    settings.profiles.error.show_message("")
    assert settings.profiles.refused_read_only()
    assert "engine of this data dir stopped" in settings.profiles.error.text()
    assert not settings.keys.refused_read_only()  # keys live in the keyring
    settings.close()


@pytest.mark.usefixtures("project")
def test_geometry_and_splitter_are_restored(qtbot: QtBot, data_dir: Path) -> None:
    context = make_context(data_dir)
    try:
        window = open_window(qtbot, context)
        screen = window.screen().availableGeometry()
        # Smaller than the screen: restoring clamps to it.
        window.resize(screen.width() - 37, screen.height() - 63)
        size = (window.width(), window.height())
        assert size != (1400, 850)  # not the default first-run size
        window.splitter.setSizes([300, size[0] - 320])
        sizes = window.splitter.sizes()
        window.close()
        again = open_window(qtbot, context)
        assert (again.width(), again.height()) == size
        assert again.splitter.sizes() == sizes
    finally:
        context.close()
        context.store.close()


def test_dropping_a_folder_adds_the_project(
    qtbot: QtBot, app_context: AppContext, tmp_path: Path
) -> None:
    window = open_window(qtbot, app_context)
    assert window.pages.currentWidget() is window.empty  # no project yet: say how
    repo = make_repo(tmp_path / "dropped")
    errors: list[str] = []
    window.adder.failed.connect(errors.append)
    drop_urls(window, [repo / "src"] if (repo / "src").exists() else [repo])
    qtbot.waitUntil(lambda: window.projects.currentText() == "dropped" or bool(errors))
    assert not errors
    assert app_context.project_id == app_context.store.find_project("dropped").id
    assert window.pages.currentWidget() is window.splitter
    # Not a repository: a clear message, nothing added.
    plain = tmp_path / "plain"
    plain.mkdir()
    with qtbot.waitSignal(window.adder.failed) as failed:
        drop_urls(window, [plain])
    assert "not a git repository" in failed.args[0]
    assert len(app_context.store.list_projects()) == 1


@pytest.mark.usefixtures("quick")
def test_ctrl_n_opens_the_task_dialog(qtbot: QtBot, app_context: AppContext) -> None:
    window = open_window(qtbot, app_context)
    # The offscreen platform has no active window to send a shortcut to: check the
    # binding, then trigger the action the key would.
    new_task = window.actions_by_name["new_task"]
    assert new_task.shortcut().toString() == "Ctrl+N"
    new_task.trigger()
    qtbot.waitUntil(lambda: window.findChild(TaskDialog) is not None)
    dialog = window.findChild(TaskDialog)
    assert dialog.isVisible()
    dialog.title_edit.setText("From the keyboard")
    with qtbot.waitSignal(dialog.task_saved) as saved:
        dialog.ok_button().click()
    task_id = saved.args[0]
    qtbot.waitUntil(lambda: window.board.model.card(task_id) is not None)
    qtbot.waitUntil(lambda: window.board.selected_task_id() == task_id)


@pytest.fixture
def screenshot_data(seedbed: SeedbedCli, quick: str) -> Iterator[int]:
    done = add(seedbed, "Done", "--start")
    seedbed.ok("run", "--until-idle")
    add(seedbed, 'A "quoted" title')
    add(seedbed, "Queued, not started by a screenshot", "--start")
    yield done


def test_the_screenshot_command_renders_the_board(
    screenshot_data: int, data_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "shot.png"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)  # no display at all: the screenshot needs none
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "seedbed",
            "--data-dir",
            str(data_dir),
            "gui",
            "--screenshot",
            str(target),
            "--select",
            str(screenshot_data),
            "--size",
            "1000x640",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    image = QImage(str(target))
    assert (image.width(), image.height()) == (1000, 640)
    colours = {image.pixel(x, y) for x in range(0, 1000, 7) for y in range(0, 640, 7)}
    assert len(colours) > 20  # not blank: text, cards, badges
    assert "Traceback" not in result.stderr
    # Taking a picture starts nothing: the queued task is still queued, with no run.
    from seedbed.store import Store

    store = Store.open(data_dir)
    [queued] = [t for t in store.list_tasks() if t.title.startswith("Queued")]
    assert (queued.state, queued.phase.value) == (TaskState.RUNNING, "queued")
    assert store.list_runs(queued.id) == []
    store.close()
    # The engine it started for the picture (one that starts no run) is gone again.
    assert not engine_running(data_dir)


def test_no_display_is_a_clear_error(data_dir: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = subprocess.run(
        [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no display" in result.stderr and "seedbed --help" in result.stderr


def window_with_a_slow_run(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    app_context: AppContext,
    command_profile: Callable[[str, str], str],
) -> tuple[MainWindow, int]:
    """An open window, and a task whose agent runs for 30 s, the engine saying it runs."""
    command_profile("slow", "sleep 30")
    window = open_window(qtbot, app_context)
    task = add(seedbed, "Slow", "--profile", "slow", "--start")
    qtbot.waitUntil(lambda: app_context.host.running_count() == 1, timeout=RUN_TIMEOUT_MS)
    return window, task


@pytest.mark.usefixtures("project")
def test_closing_with_agents_running_asks_first(
    qtbot: QtBot, seedbed: SeedbedCli, app_context: AppContext, command_profile
) -> None:
    window, task = window_with_a_slow_run(qtbot, seedbed, app_context, command_profile)
    questions: list[int] = []
    window.ask_quit = lambda running: questions.append(running) or None
    window.close()
    assert window.isVisible() and questions == [1]
    window.ask_quit = lambda running: QuitAnswer(OnQuit.STOP, remember=False)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible())
    app_context.host.stop()
    # The engine stops the run (its work committed) and ends the task interrupted.
    qtbot.waitUntil(
        lambda: app_context.store.get_task(task).phase.value == "interrupted",
        timeout=RUN_TIMEOUT_MS,
    )


@pytest.mark.usefixtures("project")
def test_keep_running_closes_the_window_and_leaves_the_agent_at_work(
    qtbot: QtBot, seedbed: SeedbedCli, app_context: AppContext, command_profile
) -> None:
    window, task = window_with_a_slow_run(qtbot, seedbed, app_context, command_profile)
    window.ask_quit = lambda running: QuitAnswer(OnQuit.KEEP, remember=False)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible())
    app_context.host.stop()  # the window's side only: its connection goes
    shown = seedbed.ok("task", "show", str(task)).out
    assert "running / " in shown and "interrupted" not in shown


def test_a_project_added_from_the_command_line_appears(
    qtbot: QtBot, seedbed: SeedbedCli, app_context: AppContext, repo: Path
) -> None:
    window = open_window(qtbot, app_context)
    assert window.pages.currentWidget() is window.empty
    proc = seedbed.spawn("project", "add", str(repo), "--name", "elsewhere")
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    qtbot.waitUntil(lambda: window.projects.currentText() == "elsewhere", timeout=5000)
    assert window.pages.currentWidget() is window.splitter


@pytest.mark.parametrize("view", ["review", "foreground"])
def test_the_screenshot_command_renders_the_reviewer_and_the_foreground_view(
    screenshot_data: int, data_dir: Path, tmp_path: Path, view: str
) -> None:
    target = tmp_path / f"{view}.png"
    result = subprocess.run(
        [
            sys.executable, "-m", "seedbed", "--data-dir", str(data_dir), "gui",
            "--screenshot", str(target), "--select", str(screenshot_data),
            "--size", "1300x800", "--view", view,
        ],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    image = QImage(str(target))
    assert (image.width(), image.height()) == (1300, 800)
    colours = {image.pixel(x, y) for x in range(0, 1300, 7) for y in range(0, 800, 7)}
    assert len(colours) > 10
    board = tmp_path / "board.png"
    subprocess.run(
        [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir), "gui",
         "--screenshot", str(board), "--select", str(screenshot_data), "--size", "1300x800"],
        capture_output=True, timeout=120, check=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    assert QImage(str(board)) != image  # another view, not the board again


@pytest.mark.parametrize("view", ["keys", "projects", "profiles"])
def test_the_screenshot_command_renders_a_settings_tab(
    screenshot_data: int, data_dir: Path, tmp_path: Path, view: str
) -> None:
    shots = {}
    for name in (view, "board"):
        shots[name] = tmp_path / f"{name}.png"
        subprocess.run(
            [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir), "gui",
             "--screenshot", str(shots[name]), "--size", "1300x800", "--view", name],
            capture_output=True, timeout=120, check=True,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )  # fmt: skip
    image = QImage(str(shots[view]))
    # The Settings dialog (820 wide, as tall as its tab needs), not the 1300x800 window.
    assert image.width() == 820 and 600 <= image.height() < 800
    colours = {image.pixel(x, y) for x in range(0, 820, 7) for y in range(0, 600, 7)}
    assert len(colours) > 10


def test_the_screenshot_command_renders_the_new_task_dialog(
    screenshot_data: int, data_dir: Path, tmp_path: Path
) -> None:
    target = tmp_path / "new-task.png"
    subprocess.run(
        [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir), "gui",
         "--screenshot", str(target), "--size", "1300x800", "--view", "new-task"],
        capture_output=True, timeout=120, check=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    image = QImage(str(target))
    assert 300 <= image.width() < 1300 and 200 <= image.height() < 800  # the dialog alone
    colours = {image.pixel(x, y) for x in range(0, image.width(), 5) for y in range(0, 200, 5)}
    assert len(colours) > 10


def test_a_review_screenshot_needs_a_task(data_dir: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "seedbed", "--data-dir", str(data_dir), "gui",
         "--screenshot", str(tmp_path / "x.png"), "--view", "review"],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )  # fmt: skip
    assert result.returncode == 2 and "--view review needs --select" in result.stderr


def test_a_window_on_a_foreground_engine_logs_the_whole_run_live(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    repo: Path,
    data_dir: Path,
    command_profile: Callable[[str, str], str],
) -> None:
    """A run of `seedbed run`'s engine shows in full, its checks and its end included, and
    the log keeps to the bottom as lines arrive."""
    seedbed.ok(
        "project", "add", str(repo), "--name", "demo",
        "--check", "for i in 1 2 3; do echo check line $i; done",
    )  # fmt: skip
    command_profile(
        "chatty", "for i in $(seq 1 60); do echo agent line $i; sleep 0.03; done; echo x > x.txt"
    )
    task_id = add(seedbed, "Talk a lot", "--profile", "chatty")
    with seedbed.spawn("run") as other:
        context: AppContext | None = None
        try:
            qtbot.waitUntil(lambda: engine_running(data_dir), timeout=10_000)
            context = make_context(data_dir)  # a client of `seedbed run`'s engine
            window = open_window(qtbot, context)
            qtbot.waitUntil(lambda: window.board.model.card(task_id) is not None)
            assert window.board.select_task(task_id)
            qtbot.waitUntil(lambda: window.log.task_id == task_id)
            seedbed.ok("task", "start", str(task_id))
            log = window.log
            scrolled: list[bool] = []

            def at_bottom() -> None:
                bar = log.view.verticalScrollBar()
                if log.model.rowCount() > 20:  # more rows than the view shows
                    scrolled.append(bar.value() == bar.maximum())

            log.model.rowsInserted.connect(lambda *_: QTimer.singleShot(0, at_bottom))
            store = context.store
            qtbot.waitUntil(
                lambda: store.get_task(task_id).state is TaskState.AWAITING_REVIEW,
                timeout=RUN_TIMEOUT_MS,
            )
            [run] = store.list_runs(task_id)
            stored = store.count_log_rows(run.id)
            qtbot.waitUntil(lambda: log.model.rowCount() == stored, timeout=5000)
            # The rows' pages come from the engine after the count: wait for them all.
            qtbot.waitUntil(lambda: all(log.model.line_at(row) for row in range(stored)))
            texts = [log.model.line_at(row).text for row in range(stored)]
            assert any("check line 3" in text for text in texts)
            assert "run 1 ended" in texts[-1]
            assert scrolled and all(scrolled), scrolled
            bar = log.view.verticalScrollBar()
            assert bar.value() == bar.maximum() > 0
            assert log.following
        finally:
            other.send_signal(signal.SIGTERM)
            other.communicate(timeout=30)
            if context is not None:
                context.close()
                context.store.close()
