"""Discarding: what the confirmation says, and what Discard really does to git."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from seedbed.domain.models import Phase, Task, TaskState
from seedbed.ui.board.discard import DiscardDialog, confirm_discard_text
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.host import ENGINE, LOST
from tests.conftest import SeedbedCli, git

pytestmark = pytest.mark.usefixtures("project")


def run_task(seedbed: SeedbedCli, context: AppContext, qtbot: QtBot) -> Task:
    """Task 1, run to the end by the window's engine with a real command agent."""
    seedbed.ok("task", "add", "--project", "demo", "--title", "T", "--start")
    qtbot.waitUntil(
        lambda: context.store.get_task(1).state is TaskState.AWAITING_REVIEW, timeout=20_000
    )
    return context.store.get_task(1)


def open_dialog(qtbot: QtBot, context: AppContext, task: Task) -> DiscardDialog:
    dialog = DiscardDialog(context, task)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def branches(repo: Path) -> list[str]:
    return git(repo, "branch", "--list", "--format=%(refname:short)").split()


def test_a_task_that_never_ran_loses_only_its_card() -> None:
    text = confirm_discard_text(Task(id=3, project_id=1, title="Idea"))
    assert "has not run yet" in text
    assert "only the card goes" in text
    assert "seedbed task list --state discarded" in text
    assert "branch seedbed/" not in text
    assert "worktree /" not in text


def test_a_task_that_ran_keeps_its_branch_unless_asked() -> None:
    task = Task(
        id=3,
        project_id=1,
        title="Foo",
        state=TaskState.AWAITING_REVIEW,
        phase=Phase.READY,
        branch="seedbed/3-foo",
        worktree=Path("/data/worktrees/demo/3-foo"),
    )
    kept = confirm_discard_text(task)
    assert "The branch seedbed/3-foo and its commits are kept." in kept
    assert "The worktree /data/worktrees/demo/3-foo is removed" in kept
    assert "uncommitted in it is committed to the branch first" in kept
    assert "not run yet" not in kept
    deleted = confirm_discard_text(task, delete_branch=True)
    assert "The branch seedbed/3-foo is deleted" in deleted
    assert "are kept" not in deleted


def test_a_running_task_cannot_be_discarded() -> None:
    task = Task(id=3, project_id=1, title="Busy", state=TaskState.RUNNING, phase=Phase.QUEUED)
    assert "Stop it first" in confirm_discard_text(task)


def test_discard_keeps_the_branch_and_its_work(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    repo: Path,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> None:
    command_profile("ok", "echo done > out.txt")
    task = run_task(seedbed, app_context, qtbot)
    assert task.branch is not None and task.worktree is not None
    assert task.worktree.exists()
    # Work left uncommitted in the worktree must reach the branch, not vanish.
    (task.worktree / "late.txt").write_text("left behind\n")
    dialog = open_dialog(qtbot, app_context, task)
    assert task.branch in dialog.text_label.text()
    assert str(task.worktree) in dialog.text_label.text()
    assert dialog.delete_branch_box.isVisible() and not dialog.delete_branch_box.isChecked()

    with qtbot.waitSignal(dialog.task_discarded, timeout=20_000) as signal:
        dialog.discard_button.click()

    assert signal.args == [task.id]
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert app_context.store.get_task(task.id).state is TaskState.DISCARDED
    assert not task.worktree.exists()
    assert task.branch in branches(repo)
    assert git(repo, "show", f"{task.branch}:out.txt") == "done\n"
    assert git(repo, "show", f"{task.branch}:late.txt") == "left behind\n"


def test_discard_can_delete_the_branch(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    repo: Path,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> None:
    command_profile("ok", "echo done > out.txt")
    task = run_task(seedbed, app_context, qtbot)
    assert task.branch in branches(repo)
    dialog = open_dialog(qtbot, app_context, task)
    dialog.delete_branch_box.setChecked(True)
    assert f"The branch {task.branch} is deleted" in dialog.text_label.text()

    with qtbot.waitSignal(dialog.task_discarded, timeout=20_000):
        dialog.discard_button.click()

    assert task.branch not in branches(repo)
    assert branches(repo) == ["main"]
    assert app_context.store.get_task(task.id).state is TaskState.DISCARDED


def test_a_planned_task_is_discarded_without_a_branch_choice(
    qtbot: QtBot, seedbed: SeedbedCli, app_context: AppContext
) -> None:
    seedbed.ok("task", "add", "--project", "demo", "--title", "Never ran")
    dialog = open_dialog(qtbot, app_context, app_context.store.get_task(1))
    assert dialog.delete_branch_box.isHidden()
    assert "only the card goes" in dialog.text_label.text()
    with qtbot.waitSignal(dialog.task_discarded, timeout=10_000):
        dialog.discard_button.click()
    assert app_context.store.get_task(1).state is TaskState.DISCARDED
    listed = seedbed.ok("task", "list", "--state", "discarded").out
    assert "Never ran" in listed  # the archive the confirmation points to


def test_a_task_started_meanwhile_is_refused_inline(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> None:
    command_profile("slow", "sleep 30")
    seedbed.ok("task", "add", "--project", "demo", "--title", "Soon running")
    dialog = open_dialog(qtbot, app_context, app_context.store.get_task(1))
    seedbed.ok("task", "start", "1")
    dialog.discard_button.click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=10_000)
    assert dialog.isVisible()
    assert "cannot go from Running to Discarded" in dialog.error_label.text()
    assert app_context.store.get_task(1).state is TaskState.RUNNING
    # The bridge then reports the change: the text says why, the button is off.
    qtbot.waitUntil(lambda: "Stop it first" in dialog.text_label.text(), timeout=10_000)
    assert not dialog.discard_button.isEnabled()


def test_a_read_only_window_refuses_to_discard(
    qtbot: QtBot, seedbed: SeedbedCli, app_context: AppContext
) -> None:
    seedbed.ok("task", "add", "--project", "demo", "--title", "Keep me")
    dialog = open_dialog(qtbot, app_context, app_context.store.get_task(1))
    app_context.host.mode = LOST
    try:
        dialog.discard_button.click()
    finally:
        app_context.host.mode = ENGINE
    assert not dialog.busy and dialog.isVisible()
    assert "read-only" in dialog.error_label.text()
    assert app_context.store.get_task(1).state is TaskState.PLANNED
