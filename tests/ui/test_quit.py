"""Closing the window while agents run: the decision, the dialog and its buttons, the
remembered choice, and the setting in the settings dialog."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QComboBox, QLabel
from pytestqt.qtbot import QtBot

from seedbed.domain.models import OnQuit, Settings, TaskState
from seedbed.store.settings import load_settings, save_settings
from seedbed.ui.common.context import AppContext
from seedbed.ui.settings.settings_dialog import SettingsDialog
from seedbed.ui.window.main_window import MainWindow
from seedbed.ui.window.quit_dialog import (
    QuitAnswer,
    QuitDialog,
    QuitPlan,
    quit_plan,
    quit_question,
)
from tests.conftest import SeedbedCli
from tests.ui.conftest import make_context

pytestmark = pytest.mark.real_quit_dialog

RUN_TIMEOUT_MS = 30_000


def test_nothing_running_just_closes_whatever_the_setting() -> None:
    for setting in OnQuit:
        assert quit_plan(0, setting) is QuitPlan.CLOSE
    assert quit_plan(2, OnQuit.ASK) is QuitPlan.ASK
    assert quit_plan(1, OnQuit.KEEP) is QuitPlan.KEEP
    assert quit_plan(3, OnQuit.STOP) is QuitPlan.STOP


def test_the_question_counts_the_agents() -> None:
    assert quit_question(1) == "Stop the running agent, or keep it running in the background?"
    assert quit_question(3) == (
        "Stop the 3 running agents, or keep them running in the background?"
    )


@pytest.mark.parametrize(
    ("button", "remember", "expected"),
    [
        ("keep_button", False, QuitAnswer(OnQuit.KEEP, False)),
        ("stop_button", True, QuitAnswer(OnQuit.STOP, True)),
        ("cancel_button", True, None),
    ],
)
def test_each_button_of_the_dialog(
    qtbot: QtBot, button: str, remember: bool, expected: QuitAnswer | None
) -> None:
    dialog = QuitDialog(2)
    qtbot.addWidget(dialog)
    dialog.open()
    if remember:
        dialog.remember.click()
    with qtbot.waitSignal(dialog.finished):
        getattr(dialog, button).click()
    assert dialog.answer == expected
    assert not dialog.isVisible()


def answer_when_asked(window: MainWindow, button: str, remember: bool = False) -> list[str]:
    """Click `button` of the quit dialog once it is open (it runs its own loop); the
    questions it asked."""
    asked: list[str] = []

    def click() -> None:
        dialog = window.findChild(QuitDialog)
        if dialog is None or not dialog.isVisible():
            QTimer.singleShot(10, click)
            return
        asked.append(quit_question_of(dialog))
        if remember:
            dialog.remember.setChecked(True)
        getattr(dialog, button).click()

    QTimer.singleShot(0, click)
    return asked


def quit_question_of(dialog: QuitDialog) -> str:
    label = dialog.findChild(QLabel, "quit-question")
    assert label is not None
    return label.text()


@pytest.fixture
def running_window(
    qtbot: QtBot,
    project: str,
    seedbed: SeedbedCli,
    command_profile: Callable[[str, str], str],
    data_dir: Path,
) -> Iterator[Callable[[], tuple[MainWindow, AppContext, int]]]:
    """A window over an engine running one slow agent (after the settings are saved)."""
    contexts: list[AppContext] = []
    windows: list[MainWindow] = []

    def open_running() -> tuple[MainWindow, AppContext, int]:
        command_profile("slow", "sleep 30")
        context = make_context(data_dir)
        contexts.append(context)
        window = MainWindow(context)
        windows.append(window)  # closed below, not by qtbot: an agent may run still
        window.show()
        qtbot.waitExposed(window)
        out = seedbed.ok(
            "task",
            "add",
            "--project",
            project,
            "--title",
            "Slow",
            "--profile",
            "slow",
            "--start",
            "--json",
        )
        task = int(out.json()["id"])
        qtbot.waitUntil(lambda: context.host.running_count() == 1, timeout=RUN_TIMEOUT_MS)
        return window, context, task

    yield open_running
    for window in windows:
        window.ask_quit = lambda _running: QuitAnswer(OnQuit.KEEP, remember=False)
        window.close()
        window.deleteLater()
    for context in contexts:
        context.host.stop()
        context.store.close()


def test_closing_with_an_agent_running_asks_and_cancel_keeps_the_window(
    qtbot: QtBot, running_window: Callable[[], tuple[MainWindow, AppContext, int]]
) -> None:
    window, context, task = running_window()
    asked = answer_when_asked(window, "cancel_button")
    window.close()
    assert asked == ["Stop the running agent, or keep it running in the background?"]
    assert window.isVisible()
    assert context.store.get_task(task).state is TaskState.RUNNING
    assert context.settings.value.on_quit is OnQuit.ASK


def test_stop_remembered_is_written_to_the_settings_and_the_window_closes(
    qtbot: QtBot,
    running_window: Callable[[], tuple[MainWindow, AppContext, int]],
    data_dir: Path,
) -> None:
    window, context, task = running_window()
    answer_when_asked(window, "stop_button", remember=True)
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible())
    assert load_settings(data_dir).on_quit is OnQuit.STOP
    assert context.settings.value.on_quit is OnQuit.STOP
    context.host.stop()  # the window's connection; the engine stopped the run
    qtbot.waitUntil(lambda: context.store.get_task(task).phase.value == "interrupted")


def test_keep_not_remembered_closes_and_leaves_the_setting(
    qtbot: QtBot,
    running_window: Callable[[], tuple[MainWindow, AppContext, int]],
    data_dir: Path,
) -> None:
    window, context, task = running_window()
    asked = answer_when_asked(window, "keep_button")
    window.close()
    assert asked and not window.isVisible()
    # Nothing was asked to stop: the agent still runs (until its engine stops).
    assert context.host.running_count() == 1
    assert context.store.get_task(task).state is TaskState.RUNNING
    assert load_settings(data_dir).on_quit is OnQuit.ASK


def test_a_remembered_choice_asks_nothing(
    qtbot: QtBot,
    running_window: Callable[[], tuple[MainWindow, AppContext, int]],
    data_dir: Path,
) -> None:
    save_settings(data_dir, Settings(on_quit=OnQuit.KEEP))
    window, _context, _task = running_window()
    window.ask_quit = lambda running: pytest.fail(f"asked with {running} running")
    window.close()
    assert not window.isVisible()


def test_nothing_running_closes_without_a_question(qtbot: QtBot, app_context: AppContext) -> None:
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.ask_quit = lambda running: pytest.fail(f"asked with {running} running")
    window.close()
    assert not window.isVisible()


def test_the_setting_is_in_the_settings_dialog(qtbot: QtBot, app_context: AppContext) -> None:
    dialog = SettingsDialog(app_context)
    qtbot.addWidget(dialog)
    editor = dialog.general.form.editor("on_quit")
    assert isinstance(editor, QComboBox)
    assert [editor.itemText(i) for i in range(editor.count())] == ["ask", "keep", "stop"]
    assert editor.currentText() == "ask"
