"""The reviewer's side panel and decision box over a real run: comments edited and
deleted, the worktree buttons, a merge conflict, and keys typed into text boxes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from seedbed.core import comments as comment_ops
from seedbed.core.tasks import set_plan
from seedbed.domain.models import MergeStrategy, Phase, TaskState
from seedbed.store import Store
from seedbed.ui.common.context import AppContext
from seedbed.ui.common.host import ENGINE, LOST, SNAPSHOT
from seedbed.ui.review.reviewer import REFRESH_MS, ReviewWindow
from seedbed.ui.review.side_panel import NO_PLAN
from tests.conftest import SeedbedCli, git
from tests.core.test_review import commit_in
from tests.core.test_review_data import EXECUTOR, REVIEWER
from tests.model_server import ModelServer, answer
from tests.ui import test_reviewer
from tests.ui.test_reviewer import RUN_TIMEOUT_MS

reviewed = test_reviewer.reviewed  # the fixture: a finished run of the tidy-up agent


def test_unsent_comments_are_edited_and_deleted_and_sent_ones_refused(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], app_context: AppContext
) -> None:
    window, task_id = reviewed
    store = app_context.store
    unsent = comment_ops.add_comment(
        app_context.core, task_id, "lib.txt", 5, None, "Use a digit", ""
    ).value
    sent = comment_ops.add_comment(
        app_context.core, task_id, "added.txt", None, None, "Why?", ""
    ).value
    store.mark_comments_sent([sent.id], time.time())
    window.reload()
    side = window.side
    qtbot.waitUntil(lambda: side.comments.count() == 2, timeout=10_000)
    rows = {side.comments.item(i).data(Qt.ItemDataRole.UserRole).id: i for i in range(2)}

    side.comments.setCurrentRow(rows[sent.id])
    assert not side.edit_button.isEnabled() and not side.delete_button.isEnabled()
    side.edit_button.click()
    side.delete_button.click()
    assert side.edit_dialog is None
    assert store.get_comment(sent.id).body == "Why?"

    side.comments.setCurrentRow(rows[unsent.id])
    assert side.edit_button.isEnabled()
    side.edit_button.click()
    dialog = side.edit_dialog
    assert dialog is not None and dialog.body() == "Use a digit"
    dialog.body_edit.setPlainText("Write it as 5")
    dialog.done(QDialog.DialogCode.Accepted)
    qtbot.waitUntil(lambda: store.get_comment(unsent.id).body == "Write it as 5", timeout=10_000)
    qtbot.waitUntil(
        lambda: any("Write it as 5" in side.comments.item(i).text() for i in range(2)),
        timeout=10_000,
    )

    side.comments.setCurrentRow(
        next(i for i in range(2) if not side.comments.item(i).data(Qt.ItemDataRole.UserRole).sent)
    )
    side.delete_button.click()
    qtbot.waitUntil(lambda: side.comments.count() == 1, timeout=10_000)
    assert [c.id for c in store.list_comments(task_id)] == [sent.id]


def test_the_plan_and_the_task_sit_beside_the_diff(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], app_context: AppContext
) -> None:
    window, task_id = reviewed
    side = window.side
    plan_tab = side.tabs.indexOf(side.plan_page)
    assert side.tabs.tabText(plan_tab) == "Plan (none)" and side.plan.toPlainText() == ""
    assert side.plan.placeholderText() == NO_PLAN
    set_plan(app_context.core, task_id, "# Steps\n\n- rename **notes**\n")
    window.reload()
    qtbot.waitUntil(lambda: side.tabs.tabText(plan_tab) == "Plan", timeout=10_000)
    assert side.plan.toPlainText().splitlines() == ["Steps", "rename notes"]  # rendered
    assert side.plan.document().toMarkdown().count("**notes**") == 1  # bold, not literal
    side.tabs.setCurrentWidget(side.prompt)
    assert side.prompt.toPlainText() == app_context.store.get_task(task_id).prompt


def test_the_worktree_buttons_open_the_folder_editor_and_terminal(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], app_context: AppContext
) -> None:
    window, task_id = reviewed
    bar = window.decision.worktree
    worktree = app_context.store.get_task(task_id).worktree
    assert worktree is not None and bar.editor_action.isEnabled()
    opened: list[QUrl] = []
    bar.open_url = opened.append
    bar.folder_action.trigger()
    assert opened == [QUrl.fromLocalFile(str(worktree))]

    bar.editor_action.trigger()
    assert "Set an editor command in Settings" in window.error_label.text()
    settings = app_context.settings
    settings.value = settings.value.model_copy(
        update={"terminal_command": "no-such-terminal-seedbed {path}"}
    )
    bar.terminal_action.trigger()
    qtbot.waitUntil(lambda: "was not found" in window.error_label.text(), timeout=10_000)
    settings.value = settings.value.model_copy(update={"editor_command": "touch {path}/opened"})
    bar.editor_action.trigger()
    qtbot.waitUntil(lambda: (worktree / "opened").exists(), timeout=10_000)
    assert window.error_label.isHidden()


def test_a_conflict_names_the_files_and_goes_back_to_the_agent(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], repo: Path, app_context: AppContext
) -> None:
    window, task_id = reviewed
    store = app_context.store
    assert window.decision.resolve_button.isHidden()
    commit_in(repo, "lib.txt", "".join(f"row {n}\n" for n in range(1, 41)))
    window.approve_button.click()
    qtbot.waitUntil(lambda: store.get_task(task_id).phase is Phase.CONFLICT, timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.decision.resolve_button.isVisible(), timeout=10_000)
    assert "lib.txt" in window.decision.conflict_label.text()
    window.decision.resolve_button.click()
    qtbot.waitUntil(
        lambda: (
            store.get_task(task_id).state is TaskState.RUNNING or len(store.list_runs(task_id)) > 1
        ),
        timeout=RUN_TIMEOUT_MS,
    )
    qtbot.waitUntil(lambda: window.decision.resolve_button.isHidden(), timeout=10_000)


def test_review_keys_do_not_fire_while_typing(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int]
) -> None:
    window, _task_id = reviewed
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5_000)
    window.files.select_row(window.files.model.row_of("lib.txt"))
    before = window.diff.current_hunk()
    for box in (window.message, window.request_message):
        box.setFocus()
        qtbot.waitUntil(box.hasFocus, timeout=5_000)
        qtbot.keyClicks(box, "npjkcs")
        assert "npjkcs" in box.toPlainText()
    filter_box = window.files.filter_box
    filter_box.setFocus()
    qtbot.waitUntil(filter_box.hasFocus, timeout=5_000)
    qtbot.keyClicks(filter_box, "n")
    assert filter_box.text() == "n"
    filter_box.clear()
    assert window.diff.current_hunk() == before
    # A button takes no letters itself: only the keys' scope (the file list and the
    # diff) keeps "n" from moving the diff here; a window-wide key would fire.
    fired: list[bool] = []
    window.actions_by_name["next_hunk"].triggered.connect(lambda: fired.append(True))
    button = window.decision.discard_button
    button.setFocus()
    qtbot.waitUntil(button.hasFocus, timeout=5_000)
    qtbot.keyClick(button, Qt.Key.Key_N)
    assert fired == []
    window.diff.text.setFocus()
    qtbot.waitUntil(window.diff.text.hasFocus, timeout=5_000)
    qtbot.keyClick(window.diff.text, Qt.Key.Key_N)
    assert fired == [True]  # the same key does fire where it belongs
    assert not window.split_box.isChecked() and window.comments.dialog is None

    window.files.select_row(window.files.model.row_of("lib.txt"))
    window.diff.text.setFocus()
    qtbot.waitUntil(window.diff.text.hasFocus, timeout=5_000)
    qtbot.keyClick(window.diff.text, Qt.Key.Key_N)
    assert window.diff.current_hunk() == before + 1
    qtbot.keyClick(window.diff.text, Qt.Key.Key_S)
    assert window.split_box.isChecked()


def test_approve_from_the_reviewer_follows_the_delete_branch_setting(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], repo: Path, app_context: AppContext
) -> None:
    window, task_id = reviewed
    branch = app_context.store.get_task(task_id).branch
    assert branch is not None and git(repo, "branch", "--list", branch).strip()
    assert app_context.settings.value.delete_branch_after_merge  # the default
    rebase = window.strategy.findData(MergeStrategy.REBASE)
    window.strategy.setCurrentIndex(rebase)
    assert not window.message.isEnabled()  # a rebase keeps the branch's own messages
    window.strategy.setCurrentIndex(window.strategy.findData(MergeStrategy.SQUASH))
    assert window.message.isEnabled()
    with qtbot.waitSignal(window.task_finished, timeout=RUN_TIMEOUT_MS):
        window.approve_button.click()
    assert app_context.store.get_task(task_id).state is TaskState.MERGED
    assert git(repo, "branch", "--list", branch).strip() == ""


def test_a_failed_approve_says_why_and_is_no_longer_merging(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], repo: Path, app_context: AppContext
) -> None:
    window, task_id = reviewed
    (repo / "lib.txt").write_text("uncommitted\n")  # a dirty base checkout
    window.approve_button.click()
    assert window.status_label.text() == "Merging…"
    qtbot.waitUntil(lambda: "lib.txt" in window.error_label.text(), timeout=RUN_TIMEOUT_MS)
    assert window.status_label.text() == ""
    qtbot.waitUntil(lambda: window.approve_button.isEnabled(), timeout=10_000)
    assert app_context.store.get_task(task_id).state is TaskState.AWAITING_REVIEW
    assert (repo / "lib.txt").read_text() == "uncommitted\n"


def test_a_read_only_reviewer_changes_nothing_and_is_not_stuck(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], app_context: AppContext
) -> None:
    window, task_id = reviewed
    app_context.host.mode = LOST
    try:
        window.reload()
        qtbot.waitUntil(lambda: not window.approve_button.isEnabled(), timeout=10_000)
        assert not window.request_button.isEnabled() and not window.discard_button.isEnabled()
        window.decide.approve()  # a click that was on its way
        assert "this window only reads" in window.error_label.text()
        assert window.status_label.text() == "" and not window.decide.busy
    finally:
        app_context.host.mode = ENGINE
    window.reload()
    qtbot.waitUntil(lambda: window.approve_button.isEnabled(), timeout=10_000)
    assert app_context.store.get_task(task_id).state is TaskState.AWAITING_REVIEW


def test_a_snapshot_shows_the_buttons_as_a_user_sees_them_and_changes_nothing(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], app_context: AppContext
) -> None:
    window, task_id = reviewed
    app_context.host.mode = SNAPSHOT  # `gui --screenshot`: a picture for the guide
    try:
        window.update_buttons()  # as a reload's answer does
        assert window.approve_button.isEnabled() and window.request_button.isEnabled()
        window.decide.approve()  # were it clicked, it would still only read
        assert "this window only reads" in window.error_label.text()
    finally:
        app_context.host.mode = ENGINE
    assert app_context.store.get_task(task_id).state is TaskState.AWAITING_REVIEW


def test_comments_are_marked_in_the_diff_and_lead_to_their_line(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], app_context: AppContext
) -> None:
    window, task_id = reviewed
    comment_ops.add_comment(
        app_context.core, task_id, "lib.txt", 35, None, "Thirty-five in digits", ""
    )
    window.reload()
    qtbot.waitUntil(lambda: window.side.comments.count() == 1, timeout=10_000)
    first = window.files.current_file()
    assert first is not None and first.path != "lib.txt"
    assert window.diff.text.comment_marks == {}  # none on this file

    window.side.comments.itemActivated.emit(window.side.comments.item(0))
    assert window.diff.file is not None and window.diff.file.path == "lib.txt"
    text = window.diff.text
    marked = next(n for n, r in enumerate(text.rows) if r.kind == "+" and r.new_no == 35)
    assert text.comment_marks == {marked: False}
    assert text.cursorForPosition(text.viewport().rect().topLeft()).blockNumber() <= marked
    assert text.textCursor().blockNumber() == marked
    comment_ops.request_changes_with_comments(app_context.core, task_id, "")
    window.reload()
    qtbot.waitUntil(lambda: window.diff.text.comment_marks == {marked: True}, timeout=10_000)


def test_a_plan_is_read_edited_sent_back_and_approved_in_the_window(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    project: str,
    app_context: AppContext,
    model_server: ModelServer,
) -> None:
    from tests.engine.test_builtin_agent import builtin_profile

    builtin_profile(seedbed, "anthropic", model_server.url, name="coder")
    model_server.script(answer("# Plan\n\n1. Write hello.txt.\n"))
    task_id = int(
        seedbed.ok(
            "task", "add", "--project", "demo", "--title", "Greet", "--plan-first", "--start"
        ).out
    )
    store = app_context.store
    qtbot.waitUntil(lambda: store.get_task(task_id).phase is Phase.PLAN_READY, timeout=20_000)
    window = test_reviewer.open_reviewer(qtbot, app_context, task_id)
    decision, side = window.decision, window.side
    assert decision.plan_approve_button.isVisible() and decision.plan_back_button.isVisible()
    assert not window.approve_button.isVisible() and not window.request_button.isVisible()
    assert side.plan.toPlainText().startswith("Plan")

    side.edit_plan_button.click()
    assert side.plan_edit.toPlainText() == "# Plan\n\n1. Write hello.txt.\n"
    side.plan_edit.setPlainText("# Plan\n\n1. Write hello.txt with a greeting.\n")
    side.save_plan_button.click()
    qtbot.waitUntil(lambda: "greeting" in store.get_task(task_id).plan, timeout=10_000)
    qtbot.waitUntil(lambda: not side.plan_edit.isVisible(), timeout=10_000)

    decision.plan_back_button.click()  # nothing written: refused, nothing sent
    assert "what the plan misses" in window.error_label.text()
    model_server.script(answer("# Plan\n\n1. Write hello.txt saying hello world.\n"))
    window.request_message.setPlainText("Say hello to the world")
    decision.plan_back_button.click()
    qtbot.waitUntil(lambda: len(store.list_runs(task_id)) == 2, timeout=20_000)
    qtbot.waitUntil(lambda: store.get_task(task_id).phase is Phase.PLAN_READY, timeout=20_000)
    assert "hello world" in store.get_task(task_id).plan
    assert "Say hello to the world" in json.dumps(model_server.posts[1].body["messages"])

    write = {"path": "hello.txt", "content": "hello world\n"}
    model_server.script(answer(tool_calls=[("c1", "write_file", write)]), answer("Done."))
    qtbot.waitUntil(lambda: decision.plan_approve_button.isEnabled(), timeout=10_000)
    decision.plan_approve_button.click()
    qtbot.waitUntil(lambda: store.get_task(task_id).phase is Phase.READY, timeout=20_000)
    assert [r.kind.value for r in store.list_runs(task_id)] == ["plan", "plan", "implement"]
    qtbot.waitUntil(lambda: window.approve_button.isVisible(), timeout=10_000)
    assert not decision.plan_approve_button.isVisible()


def _break_on_merge(store: Store, repo: Path, task_id: int) -> None:
    """From now on the project's checks fail on any tree holding `broken.txt`, which the
    base gains after the task ran: the task's branch passes, its merge result does not."""
    project = store.get_project(store.get_task(task_id).project_id)
    store.update_project(project.model_copy(update={"check_command": "test ! -f broken.txt"}))
    commit_in(repo, "broken.txt", "x\n", "the base moves on")


def test_checks_that_fail_on_the_merge_result_keep_the_base_and_offer_a_fix(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], repo: Path, app_context: AppContext
) -> None:
    window, task_id = reviewed
    store = app_context.store
    _break_on_merge(store, repo, task_id)
    base = git(repo, "rev-parse", "main").strip()
    assert window.decision.recheck.isChecked()  # by default

    window.approve_button.click()

    qtbot.waitUntil(
        lambda: store.get_task(task_id).phase is Phase.MERGE_CHECKS_FAILED, timeout=RUN_TIMEOUT_MS
    )
    assert git(repo, "rev-parse", "main").strip() == base
    qtbot.waitUntil(lambda: window.decision.resolve_button.isVisible(), timeout=10_000)
    assert "checks failed on the merge result" in window.decision.conflict_label.text()
    assert window.decision.resolve_button.text() == "Bring in the base and &fix"
    window.decision.resolve_button.click()
    qtbot.waitUntil(
        lambda: (
            store.get_task(task_id).state is TaskState.RUNNING
            or store.list_runs(task_id)[-1].kind.value == "fix"
        ),
        timeout=RUN_TIMEOUT_MS,
    )


def test_approving_without_the_recheck_lands_as_asked(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], repo: Path, app_context: AppContext
) -> None:
    window, task_id = reviewed
    store = app_context.store
    _break_on_merge(store, repo, task_id)
    window.decision.recheck.setChecked(False)
    assert window.approve_button.text() == "&Approve and merge (no re-check)"

    window.approve_button.click()

    assert window.decision.recheck.isChecked()  # for the next approve: asked each time

    qtbot.waitUntil(
        lambda: store.get_task(task_id).state is TaskState.MERGED, timeout=RUN_TIMEOUT_MS
    )


def test_the_summary_is_the_executors_and_the_reviewer_has_its_own_tab(
    qtbot: QtBot, seedbed: SeedbedCli, repo: Path, app_context: AppContext
) -> None:
    seedbed.ok("profile", "add", "critic", "--kind", "command", "--command", REVIEWER)
    seedbed.ok("project", "add", str(repo), "--name", "demo", "--reviewer", "critic")
    seedbed.ok("profile", "add", "tidy", "--kind", "command", "--command", EXECUTOR)
    task_id = test_reviewer.run_task(seedbed, app_context, qtbot, "tidy")
    window = test_reviewer.open_reviewer(qtbot, app_context, task_id)
    side = window.side
    summary = side.summary.toPlainText()
    assert summary.startswith("Added a.txt with an x.") and "build log line 40" in summary
    assert "verdict" not in summary
    assert side.tabs.tabText(side.tabs.indexOf(side.reviewer)) == "Reviewer ✓"
    assert side.reviewer.toPlainText() == "Approved.\n\nFine by me."
    # The commit message: the title and the executor's first paragraph, not its log.
    assert window.message.toPlainText() == "Tidy up\n\nAdded a.txt with an x.\nb.py reads it.\n"


def test_a_task_landing_on_the_base_tells_an_open_reviewer_how_far_it_moved(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    project: str,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> None:
    """The reviewer of one task is open while another lands: its checks line says the
    base moved since they ran, as its card does, without being opened again."""
    seedbed.ok("project", "set", project, "--check", "true")
    command_profile("one", "echo 1 > one.txt")
    command_profile("two", "echo 2 > two.txt")
    first = test_reviewer.run_task(seedbed, app_context, qtbot, "one")
    second = test_reviewer.run_task(seedbed, app_context, qtbot, "two")
    window = test_reviewer.open_reviewer(qtbot, app_context, second)
    # Its own task's last changes read again: nothing of its own is left to come.
    qtbot.wait(REFRESH_MS * 2)
    qtbot.waitUntil(lambda: not window._refresh_timer.isActive() and not window._loading.busy)
    status = window.side.checks.status
    assert status.full_text() == "Checks: passed (exit 0)"

    seedbed.ok("task", "approve", str(first))

    qtbot.waitUntil(lambda: status.full_text() == "Checks: passed (exit 0) · main +1", timeout=5000)
