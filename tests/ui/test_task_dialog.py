"""The New task / Edit task dialog against a real store and a real engine thread."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDialog, QDialogButtonBox, QLineEdit
from pytestqt.qtbot import QtBot

from seedbed.core.tasks import TaskDraft, create_task
from seedbed.core.titles import one_line_title
from seedbed.domain.models import Phase, Task, TaskState
from seedbed.ui.board.task_dialog import FIRST_THAT_RUNS, NO_PROFILE, TaskDialog
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.host import ENGINE, LOST
from seedbed.ui.common.theme import danger
from tests.conftest import SeedbedCli
from tests.ui.conftest import catalog_caught_up

NASTY_TITLE = "He said \"hi\" & 'bye'\n$(rm -rf ~) `id`; echo $HOME | cat > x\r\n\\n end"
NASTY_PROMPT = "line 1: \"quotes\" and 'single'\n$(rm -rf ~)\n\ttab; `id` && ${HOME}\n\\0 end\n"

pytestmark = pytest.mark.usefixtures("project")


@contextmanager
def write_lock(context: AppContext) -> Iterator[None]:
    """Hold the database's write lock, as another process in mid-transaction does."""
    conn = sqlite3.connect(context.store.path, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        yield
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def open_dialog(qtbot: QtBot, context: AppContext, task: Task | None = None) -> TaskDialog:
    catalog_caught_up(qtbot, context)  # the profiles the test has just added
    dialog = TaskDialog(context, context.store.find_project("demo").id, task)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()  # shortcuts need the active window, as a real dialog is
    qtbot.waitUntil(dialog.isActiveWindow)
    return dialog


def save(qtbot: QtBot, dialog: TaskDialog) -> int:
    with qtbot.waitSignal(dialog.task_saved, timeout=10_000) as signal:
        dialog.ok_button().click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert not dialog.isVisible()
    return int(signal.args[0])


def test_a_task_is_created_with_every_field(
    qtbot: QtBot, command_profile: Callable[[str, str], str], app_context: AppContext
) -> None:
    command_profile("first", "true")
    command_profile("second", "echo second")
    dialog = open_dialog(qtbot, app_context)
    assert dialog.windowTitle() == "New task"
    # No executor named: first comes "the first that can run", which the engine picks.
    assert [dialog.profile_combo.itemData(i) for i in range(dialog.profile_combo.count())] == [
        None,
        "first",
        "second",
    ]
    assert dialog.profile_name() is None
    qtbot.keyClicks(dialog.title_edit, "Add a login page")
    dialog.prompt_edit.setPlainText("Use the existing form helpers.\nKeep it small.")
    dialog.profile_combo.setCurrentIndex(dialog.profile_combo.findData("second"))
    dialog.plan_first_box.setChecked(True)
    dialog.foreground_box.setChecked(True)
    assert "writes a plan" in dialog.plan_first_box.toolTip()
    options = dialog.options_box
    options.planner.setCurrentIndex(options.planner.findData("second"))
    options.reviewer.setCurrentIndex(options.reviewer.findData("first"))
    options.auto_merge_box.setChecked(True)
    options.usd.setValue(2.5)
    options.minutes.setValue(30)
    options.after_edit.setText("twelve")
    dialog._on_buttons_accepted()
    assert "'twelve' is not a task number" in dialog.error_label.text()
    assert not dialog.busy and dialog.isVisible()  # nothing saved, nothing lost
    options.after_edit.setText("")

    task = app_context.store.get_task(save(qtbot, dialog))
    assert task.planner_profile_id == app_context.store.find_profile("second").id
    assert task.reviewer_profile_id == app_context.store.find_profile("first").id
    assert task.auto_merge and not task.auto_approve_plan
    assert (task.budget_usd, task.budget_tokens, task.time_limit_s) == (2.5, 0, 1800.0)

    assert task.title == "Add a login page"
    assert task.prompt == "Use the existing form helpers.\nKeep it small."
    assert task.profile_id == app_context.store.find_profile("second").id
    assert task.plan_first and task.foreground
    assert task.project_id == app_context.store.find_project("demo").id
    assert (task.state, task.phase) == (TaskState.PLANNED, Phase.DRAFT)


def test_start_now_queues_the_task(
    qtbot: QtBot, command_profile: Callable[[str, str], str], app_context: AppContext
) -> None:
    command_profile("ok", "echo done > out.txt")
    dialog = open_dialog(qtbot, app_context)
    dialog.title_edit.setText("Write out.txt")
    dialog.start_box.setChecked(True)
    task_id = save(qtbot, dialog)
    assert app_context.store.get_task(task_id).state is not TaskState.PLANNED
    qtbot.waitUntil(
        lambda: app_context.store.get_task(task_id).state is TaskState.AWAITING_REVIEW,
        timeout=20_000,
    )


def test_quotes_newlines_and_shell_text_are_saved_as_the_field_shows_them(
    qtbot: QtBot, app_context: AppContext
) -> None:
    dialog = open_dialog(qtbot, app_context)
    QApplication.clipboard().setText(NASTY_TITLE)
    dialog.title_edit.paste()
    shown = dialog.title_edit.displayText()
    # A QLineEdit draws a newline as a space; the title keeps what was drawn.
    assert dialog.title_edit.text() == shown == NASTY_TITLE.replace("\r", " ").replace("\n", " ")
    dialog.prompt_edit.setPlainText(NASTY_PROMPT)

    task = app_context.store.get_task(save(qtbot, dialog))

    assert task.title == shown
    assert "$(rm -rf ~) `id`; echo $HOME | cat > x" in task.title
    assert task.prompt == NASTY_PROMPT


@pytest.mark.parametrize("char", ["\n", "\r", "\x00", "\x1b", "\u2028", "\u2029"])
def test_every_character_a_title_field_draws_as_a_space_is_stored_as_one(
    qtbot: QtBot, char: str
) -> None:
    plain = QLineEdit()
    qtbot.addWidget(plain)
    plain.setText(f"a{char}b")
    assert plain.displayText() == "a b"  # what Qt draws, without our validator
    assert one_line_title(f"a{char}b") == "a b"
    assert one_line_title("tab\tstays") == "tab\tstays"


def test_the_dialog_waits_for_a_slow_save_with_its_buttons_disabled(
    qtbot: QtBot, app_context: AppContext
) -> None:
    dialog = open_dialog(qtbot, app_context)
    dialog.title_edit.setText("Saved once the database is free")
    with (
        qtbot.waitSignal(dialog.task_saved, timeout=10_000),
        write_lock(app_context),  # another process is writing: the save must wait
    ):
        dialog.ok_button().click()
        assert dialog.busy
        assert not dialog.ok_button().isEnabled()
        assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel).isEnabled()
        assert not dialog.title_edit.isEnabled()
        dialog.reject()  # Esc mid-save: the answer is awaited, not hidden
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        assert dialog.isVisible() and dialog.busy
    assert not dialog.isVisible()
    assert [t.title for t in app_context.store.list_tasks()] == ["Saved once the database is free"]


def test_an_empty_title_disables_ok_and_ctrl_enter(qtbot: QtBot, app_context: AppContext) -> None:
    dialog = open_dialog(qtbot, app_context)
    assert not dialog.ok_button().isEnabled()
    dialog.title_edit.setText("   ")
    assert not dialog.ok_button().isEnabled()
    dialog.prompt_edit.setFocus()
    qtbot.keyClick(dialog.prompt_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert not dialog.busy and dialog.isVisible()
    assert app_context.store.list_tasks() == []

    dialog.title_edit.setText("Now with a title")
    assert dialog.ok_button().isEnabled()
    with qtbot.waitSignal(dialog.task_saved, timeout=10_000):
        qtbot.keyClick(dialog.prompt_edit, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert [t.title for t in app_context.store.list_tasks()] == ["Now with a title"]


def test_a_planned_task_is_edited(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> None:
    command_profile("first", "true")
    command_profile("second", "true")
    seedbed.ok("task", "add", "--project", "demo", "--title", "Old", "--prompt", "old prompt")
    task = app_context.store.get_task(1)
    dialog = open_dialog(qtbot, app_context, task)
    assert dialog.windowTitle() == "Edit task 1"
    assert dialog.start_box.isHidden()
    assert dialog.title_edit.text() == "Old"
    assert dialog.prompt_edit.toPlainText() == "old prompt"
    assert dialog.profile_name() == "first"
    dialog.title_edit.setText("New")
    dialog.prompt_edit.setPlainText("new prompt\nsecond line")
    dialog.profile_combo.setCurrentIndex(dialog.profile_combo.findData("second"))
    dialog.foreground_box.setChecked(True)
    dialog.plan_first_box.setChecked(True)

    assert save(qtbot, dialog) == 1

    edited = app_context.store.get_task(1)
    assert (edited.title, edited.prompt) == ("New", "new prompt\nsecond line")
    assert edited.profile_id == app_context.store.find_profile("second").id
    assert edited.foreground and edited.plan_first
    assert edited.state is TaskState.PLANNED


def test_editing_a_task_that_started_meanwhile_is_refused_and_keeps_the_text(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> None:
    command_profile("ok", "echo done > out.txt")
    seedbed.ok("task", "add", "--project", "demo", "--title", "Soon running")
    dialog = open_dialog(qtbot, app_context, app_context.store.get_task(1))
    dialog.title_edit.setText("My careful new title")
    dialog.prompt_edit.setPlainText("A long prompt I do not want to type again.")
    seedbed.ok("task", "start", "1")

    dialog.ok_button().click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)

    assert dialog.isVisible()
    assert dialog.error_label.isVisible()
    assert "not planned; nothing changed" in dialog.error_label.text()
    assert dialog.title_edit.text() == "My careful new title"
    assert dialog.prompt_edit.toPlainText() == "A long prompt I do not want to type again."
    assert dialog.ok_button().isEnabled() and dialog.title_edit.isEnabled()
    assert app_context.store.get_task(1).title == "Soon running"
    error_colour = dialog.error_label.palette().color(QPalette.ColorRole.WindowText)
    assert error_colour == danger(dialog.palette())


def test_without_profiles_the_task_is_saved_but_cannot_start(
    qtbot: QtBot, app_context: AppContext
) -> None:
    dialog = open_dialog(qtbot, app_context)
    assert dialog.profile_combo.currentText() == NO_PROFILE
    assert not dialog.profile_combo.isEnabled()
    assert not dialog.start_box.isEnabled()
    assert "add one in Settings" in dialog.start_box.toolTip()
    dialog.title_edit.setText("Later")
    task = app_context.store.get_task(save(qtbot, dialog))
    assert task.profile_id is None
    assert task.state is TaskState.PLANNED


def test_a_read_only_window_refuses_to_save(qtbot: QtBot, app_context: AppContext) -> None:
    dialog = open_dialog(qtbot, app_context)
    dialog.title_edit.setText("Typed while another engine runs")
    app_context.host.mode = LOST
    try:
        dialog.ok_button().click()
    finally:
        app_context.host.mode = ENGINE
    assert not dialog.busy
    assert dialog.isVisible()
    assert "read-only" in dialog.error_label.text()
    assert dialog.title_edit.text() == "Typed while another engine runs"
    assert app_context.store.list_tasks() == []


def test_editing_a_task_keeps_and_changes_its_options(
    qtbot: QtBot, command_profile: Callable[[str, str], str], app_context: AppContext
) -> None:
    command_profile("first", "true")
    store = app_context.store
    ctx = app_context.core
    before = create_task(ctx, TaskDraft(project="demo", title="Lay the ground")).value
    draft = TaskDraft(project="demo", title="Build on it", reviewer="first", auto_merge=True)
    task = create_task(ctx, draft).value
    dialog = open_dialog(qtbot, app_context, store.get_task(task.id))
    options = dialog.options_box
    assert options.reviewer.currentData() == "first" and options.auto_merge_box.isChecked()
    options.after_edit.setText(f"#{before.id}")
    options.tokens.setValue(500_000)
    save(qtbot, dialog)
    changed = store.get_task(task.id)
    assert changed.after == [before.id] and changed.budget_tokens == 500_000
    assert changed.reviewer_profile_id == store.find_profile("first").id and changed.auto_merge
    # A cycle is refused in the dialog, with everything left in place.
    dialog = open_dialog(qtbot, app_context, store.get_task(before.id))
    dialog.options_box.after_edit.setText(str(task.id))
    dialog._on_buttons_accepted()
    qtbot.waitUntil(lambda: "cycle" in dialog.error_label.text(), timeout=10_000)
    assert store.get_task(before.id).after == []


def test_a_refused_option_leaves_no_task_and_the_project_executor_is_the_default(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> None:
    command_profile("first", "true")
    command_profile("coder", "true")
    store = app_context.store
    # Through the engine, as every client while one runs: the window's catalog hears of it.
    seedbed.ok("project", "set", "demo", "--executor", "coder")
    dialog = open_dialog(qtbot, app_context)
    assert dialog.profile_name() == "coder"
    dialog.title_edit.setText("Waits for a ghost")
    dialog.options_box.after_edit.setText("99")
    dialog._on_buttons_accepted()
    qtbot.waitUntil(lambda: "no task with id 99" in dialog.error_label.text(), timeout=10_000)
    assert store.list_tasks() == []  # nothing half-made
    assert dialog.title_edit.text() == "Waits for a ghost"


def test_a_refused_edit_changes_nothing(
    qtbot: QtBot, command_profile: Callable[[str, str], str], app_context: AppContext
) -> None:
    command_profile("first", "true")
    store = app_context.store
    a = create_task(app_context.core, TaskDraft(project="demo", title="A")).value
    b = create_task(app_context.core, TaskDraft(project="demo", title="B", after=[a.id])).value
    dialog = open_dialog(qtbot, app_context, store.get_task(a.id))
    dialog.title_edit.setText("A renamed")
    dialog.options_box.after_edit.setText(str(b.id))
    dialog._on_buttons_accepted()
    qtbot.waitUntil(lambda: "cycle" in dialog.error_label.text(), timeout=10_000)
    assert store.get_task(a.id).title == "A" and store.get_task(a.id).after == []


@pytest.fixture
def keyless_then_script(seedbed: SeedbedCli) -> None:
    """Two agents: a builtin one without its key (no keyring works in tests), then one
    that can run."""
    seedbed.ok("profile", "add", "keyless", "--kind", "builtin", "--provider", "openai",
               "--model", "m")  # fmt: skip
    seedbed.ok("profile", "add", "script", "--kind", "command", "--command", "true")


@pytest.mark.usefixtures("keyless_then_script")
def test_a_new_task_gets_an_agent_that_can_run_and_the_others_say_why_not(
    qtbot: QtBot, app_context: AppContext
) -> None:
    dialog = open_dialog(qtbot, app_context)
    combo = dialog.profile_combo
    qtbot.waitUntil(lambda: combo.itemText(1).endswith("— cannot run"), timeout=10_000)
    assert combo.itemText(0) == f"{FIRST_THAT_RUNS} (script)" and combo.currentIndex() == 0
    assert combo.itemText(1) == "keyless (builtin) — cannot run"
    assert "no API key 'openai'" in combo.itemData(1, Qt.ItemDataRole.ToolTipRole)
    assert combo.itemText(2) == "script (command)"
    dialog.title_edit.setText("Saved at once")
    task_id = save(qtbot, dialog)  # the engine picks: not the first, which would only fail
    store = app_context.store
    assert store.get_task(task_id).profile_id == store.find_profile("script").id


@pytest.mark.usefixtures("keyless_then_script")
def test_an_agent_the_user_picked_is_kept(qtbot: QtBot, app_context: AppContext) -> None:
    dialog = open_dialog(qtbot, app_context)
    dialog.profile_combo.setCurrentIndex(1)  # keyless, chosen before the look came back
    dialog.title_edit.setText("Mine")
    task_id = save(qtbot, dialog)
    store = app_context.store
    assert store.get_task(task_id).profile_id == store.find_profile("keyless").id
