"""Wiring: the QApplication, the context, the engine thread and the main window.

Qt is imported here only inside functions, so `seedbed --help` and every headless
command start without loading it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import seedbed.service.launch as launch
from seedbed.core.data_dir import database_problem
from seedbed.core.merging import FIRST_CARDS, board_cards
from seedbed.core.reads import get_task
from seedbed.domain.errors import SeedbedError, UserError

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication, QWidget

    from seedbed.ui.window.main_window import MainWindow

SCREENSHOT_TIMEOUT_MS = 10_000
SETTLE_MS = 150


def parse_size(text: str) -> tuple[int, int]:
    """'1400x850' → (1400, 850)."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit():
        raise UserError(f"--size wants WIDTHxHEIGHT, like 1400x850, not {text!r}")
    size = (int(width), int(height))
    if not (200 <= size[0] <= 8000 and 200 <= size[1] <= 8000):
        raise UserError(f"--size {text}: each side must be between 200 and 8000 pixels")
    return size


GIL_SWITCH_S = 0.001


def tune_process() -> None:
    """The GUI thread shares the interpreter with the client's loop thread and workers.
    Python hands the GIL over every 5 ms by default; with several busy threads the GUI
    thread can then wait a few turns in a row (a visible stall when twenty runs end at
    once). Handing over every 1 ms keeps its waits short."""
    sys.setswitchinterval(GIL_SWITCH_S)


def preload_window() -> None:
    """Import what a window needs, creating nothing: the engine's ready window does this
    once, and each window it forks starts with it done (service/ready_window.py)."""
    import PySide6.QtWidgets  # noqa: F401

    import seedbed.ui.common.context
    import seedbed.ui.common.host
    import seedbed.ui.window.main_window  # noqa: F401


def probe_platform() -> int:
    """Start Qt's platform plugin as the window would, say which, and stop: what
    `seedbed doctor` runs in a process of its own (a plugin that cannot load aborts the
    whole process, with Qt's reason on stderr)."""
    from PySide6.QtGui import QGuiApplication

    try:  # an abort here is an answer, not a crash to keep a core dump of
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    print(QGuiApplication.platformName())
    del app
    return 0


def check_display(screenshot: bool) -> None:
    """Without a display Qt aborts the whole process; say what to do instead.
    A screenshot needs no display: it renders offscreen."""
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform != "linux":
        return
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return
    if screenshot:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        return
    raise UserError(
        "no display to open the window on (DISPLAY and WAYLAND_DISPLAY are unset). "
        "The headless commands work anywhere: see `seedbed --help`; "
        "or set QT_QPA_PLATFORM=offscreen."
    )


def run_gui(
    data_dir: Path,
    screenshot: Path | None = None,
    select: int | None = None,
    size: tuple[int, int] | None = None,
    view: str = "board",
    engine_socket: str | None = None,
) -> int:
    check_display(screenshot is not None)
    if view == "review" and select is None:
        raise UserError("--view review needs --select TASK_ID: the task to review")
    # The engine is found, or started, while Qt and the window load: an engine to be
    # started takes as long to answer as the window takes to load.
    found = launch.find_engine_soon(
        data_dir, paused=screenshot is not None, engine_socket=engine_socket
    )
    tune_process()
    from PySide6.QtWidgets import QApplication

    from seedbed.ui.common.context import AppContext
    from seedbed.ui.common.host import forwarded_socket

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Seedbed")
    app.setDesktopFileName("io.github.seedbed.Seedbed")  # the launcher entry's id
    while True:
        try:
            # Connects to the engine of the data dir, starting it when none runs (a
            # screenshot's engine starts no run, and stops when the picture is taken), or
            # to the engine at --engine-socket / SEEDBED_ENGINE_SOCKET (never started here).
            context = AppContext.open(
                data_dir,
                snapshot=screenshot is not None,
                found=found,
                engine_socket=engine_socket,
            )
            break
        except (OSError, SeedbedError) as exc:
            remote = forwarded_socket(engine_socket) is not None
            # A database that cannot be opened is said as such, not as the engine's exit;
            # a forwarded socket's engine has its database on its own machine.
            problem = str(exc) if remote else database_problem(data_dir) or str(exc)
            if screenshot is None and _cannot_reach(problem, retry=remote):
                continue
            raise UserError(problem) from None
    host = context.host
    if select is not None:
        try:
            # Before the window shows, so nothing waits on the GUI thread but the start.
            context.project_id = host.call(get_task, select).result().project_id
        except SeedbedError:
            host.stop()
            raise
    if context.project_id is not None:
        # The board's first read (Board.load's) is on its way while the window loads.
        host.ask_early(board_cards, context.project_id, first=FIRST_CARDS)
    from seedbed.ui.window.main_window import MainWindow, app_icon

    app.setWindowIcon(app_icon())
    window = MainWindow(context)
    if size is not None:
        window.resize(*size)
    code = 0
    try:
        if screenshot is None:
            window.show()
            code = app.exec()
        else:
            code = _screenshot(app, window, screenshot, select, view)
    finally:
        window.hide()
        context.close()
        window.deleteLater()
    return code


def _cannot_reach(problem: str, retry: bool) -> bool:
    """Say, in place of the board it cannot show, why the window has no engine; with
    `retry` (an engine elsewhere, which may answer once its forwarding runs), whether
    the user wants to try again."""
    from PySide6.QtWidgets import QMessageBox

    title = "Seedbed cannot reach its engine"
    if not retry:
        QMessageBox.critical(None, title, problem)
        return False
    buttons = QMessageBox.StandardButton.Retry | QMessageBox.StandardButton.Close
    answer = QMessageBox.critical(None, title, problem, buttons)
    return answer == QMessageBox.StandardButton.Retry


SETTINGS_VIEWS = ("projects", "profiles", "keys")  # the Settings tab of that name


def _open_settings(window: MainWindow, view: str) -> QWidget:
    from seedbed.ui.settings.settings_dialog import SettingsDialog

    window.actions_by_name["settings"].trigger()
    dialog = window.findChild(SettingsDialog)
    assert dialog is not None
    dialog.tabs.setCurrentWidget(getattr(dialog, view))
    return dialog


def _open_new_task(window: MainWindow) -> QWidget:
    from seedbed.ui.board.task_dialog import TaskDialog

    if window.context.project_id is None:
        raise UserError("--view new-task needs a project: add one first")
    window.actions_by_name["new_task"].trigger()
    dialog = window.findChild(TaskDialog)
    assert dialog is not None
    return dialog


def _screenshot(
    app: QApplication, window: MainWindow, path: Path, select: int | None, view: str = "board"
) -> int:
    """Show the window offscreen (the foreground view, or the selected task's reviewer,
    if asked), wait until every read it asked for has arrived and painted, save a PNG."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    state = {"quiet": 0, "selected": select is None}
    window.show()
    shown: list[QWidget] = [window]
    if view == "foreground":
        window.actions_by_name["show_foreground"].trigger()
    elif view in SETTINGS_VIEWS:
        shown.append(_open_settings(window, view))
    elif view == "new-task":
        shown.append(_open_new_task(window))

    def poll() -> None:
        if not state["selected"] and window.board.select_task(select or 0):
            state["selected"] = True
            state["quiet"] = 0
            if view == "review" and select is not None:
                reviewer = window.open_reviewer(select)
                reviewer.resize(window.size())
                shown.append(reviewer)
        busy = window.context.host.pending() > 0
        state["quiet"] = 0 if busy or not state["selected"] else state["quiet"] + 1
        if state["quiet"] >= 3:
            loop.quit()

    timer = QTimer()
    timer.setInterval(SETTLE_MS // 3)
    timer.timeout.connect(poll)
    timer.start()
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, loop.quit)
    loop.exec()
    timer.stop()
    app.processEvents()
    image = shown[-1].grab()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path), "PNG"):
        raise UserError(f"cannot write the screenshot to {path}")
    return 0
