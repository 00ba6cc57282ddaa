"""The reviewer window over a real engine and real command agents."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog
from pytestqt.qtbot import QtBot

from seedbed.core import comments as comment_ops
from seedbed.domain.models import TaskState
from seedbed.ui.common.context import AppContext
from seedbed.ui.review import reviewer as reviewer_module
from seedbed.ui.review.file_model import Role, ViewedStore
from seedbed.ui.review.reviewer import ReviewWindow
from tests.conftest import SeedbedCli, git
from tests.core.test_review_data import AGENT, prepare

RUN_TIMEOUT_MS = 30_000


def run_task(seedbed: SeedbedCli, context: AppContext, qtbot: QtBot, profile: str) -> int:
    out = seedbed.ok(
        "task", "add", "--project", "demo", "--title", "Tidy up", "--profile", profile, "--start"
    )
    task_id = int(out.out.strip())
    qtbot.waitUntil(
        lambda: context.store.get_task(task_id).state is TaskState.AWAITING_REVIEW,
        timeout=RUN_TIMEOUT_MS,
    )
    return task_id


def open_reviewer(qtbot: QtBot, context: AppContext, task_id: int) -> ReviewWindow:
    window = ReviewWindow(context, task_id)
    qtbot.addWidget(window)
    window.show()
    # An outline comes first, then the whole diff.
    qtbot.waitUntil(lambda: window.data is not None and not window.data.outline, timeout=10_000)
    return window


@pytest.fixture
def reviewed(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    repo: Path,
    project: str,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> tuple[ReviewWindow, int]:
    prepare(repo)
    command_profile("tidy", AGENT)
    task_id = run_task(seedbed, app_context, qtbot, "tidy")
    return open_reviewer(qtbot, app_context, task_id), task_id


def test_the_reviewer_lists_the_files_and_shows_their_diff(
    reviewed: tuple[ReviewWindow, int],
) -> None:
    window, _task_id = reviewed
    model = window.files.model
    statuses = {f.path: (f.status, f.insertions, f.deletions) for f in model.files()}
    assert statuses["added.txt"] == ("A", 1, 0)
    assert statuses["README.md"][0] == "D"
    assert statuses["docs/notes.md"][0] == "R"
    assert statuses["lib.txt"] == ("M", 2, 2)
    window.files.select_row(model.row_of("lib.txt"))
    assert window.diff.file is not None and window.diff.file.path == "lib.txt"
    text = window.diff.text.toPlainText()
    assert "-line 5\n+line five" in text
    five = next(r for r in window.diff.rows if r.kind == "+" and r.new_no == 5)
    assert five.hunk == 0
    window.actions_by_name["next_hunk"].trigger()
    window.actions_by_name["next_hunk"].trigger()
    assert window.diff.current_hunk() == 1
    window.actions_by_name["next_file"].trigger()
    assert window.files.current_file() is not None


def test_the_window_opens_on_an_outline_and_reads_a_file_chosen_before_the_rest(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    repo: Path,
    project: str,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prepare(repo)
    command_profile("tidy", AGENT)
    task_id = run_task(seedbed, app_context, qtbot, "tidy")
    monkeypatch.setattr(reviewer_module, "WHOLE_AFTER_MS", 60_000)  # the rest stays away
    window = ReviewWindow(app_context, task_id)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.data is not None, timeout=10_000)
    assert window.data is not None and window.data.outline
    first = window.files.current_file()
    # The tree's first file (folders first: a pure rename, no hunks), parsed at once.
    assert first is not None and first.path == "docs/notes.md" and not first.outline
    assert first.old_path == "notes.md" and first.similarity == 100
    assert window.diff.file == first
    lib = next(f for f in window.files.model.files() if f.path == "lib.txt")
    assert lib.outline and not lib.hunks and (lib.insertions, lib.deletions) == (2, 2)

    window.files.select_row(window.files.model.row_of("lib.txt"))
    assert window.diff.placeholder_label.text() == "Reading lib.txt…"
    qtbot.waitUntil(
        lambda: window.diff.file is not None and not window.diff.file.outline,
        timeout=10_000,
    )
    assert window.diff.file.path == "lib.txt"
    assert "-line 5\n+line five" in window.diff.text.toPlainText()
    assert window.data.outline  # read on its own, not by the whole diff

    # A comment's line, asked for while its file is still being read, is gone to after.
    comment = comment_ops.add_comment(
        app_context.core, task_id, "added.txt", 1, None, "x", ""
    ).value
    window.files.select_row(window.files.model.row_of("lib.txt"))  # parsed already
    lib_comment = comment.model_copy(update={"path": "lib.txt", "line": 35})
    window.files.select_row(window.files.model.row_of("added.txt"))
    qtbot.waitUntil(lambda: not window.diff.file.outline, timeout=10_000)
    window._on_side_comment_activated(lib_comment)
    qtbot.waitUntil(
        lambda: window.diff.file.path == "lib.txt" and not window.diff.file.outline,
        timeout=10_000,
    )
    thirty_five = next(
        n for n, r in enumerate(window.diff.text.rows) if r.kind == "+" and r.new_no == 35
    )
    assert window.diff.text.textCursor().blockNumber() == thirty_five


def test_approve_merges_into_the_base(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], repo: Path, app_context: AppContext
) -> None:
    window, task_id = reviewed
    assert window.message.toPlainText().startswith("Tidy up")
    with qtbot.waitSignal(window.task_finished, timeout=RUN_TIMEOUT_MS):
        window.approve_button.click()
    assert app_context.store.get_task(task_id).state is TaskState.MERGED
    assert (repo / "docs" / "notes.md").exists()
    assert not (repo / "README.md").exists()
    assert "line five" in (repo / "lib.txt").read_text()
    assert git(repo, "log", "-1", "--format=%s", "main").strip() == "Tidy up"


def test_request_changes_sends_a_line_comment(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], app_context: AppContext
) -> None:
    window, task_id = reviewed
    window.files.select_row(window.files.model.row_of("lib.txt"))
    block = next(n for n, r in enumerate(window.diff.rows) if r.kind == "+" and r.new_no == 5)
    window.diff.comment_requested.emit(block, block)
    dialog = window.comments.dialog
    assert dialog is not None
    dialog.body_edit.setPlainText("Spell it as a digit")
    dialog.done(QDialog.DialogCode.Accepted)
    qtbot.waitUntil(lambda: window.side.comments.count() == 1, timeout=10_000)
    comment = app_context.store.list_comments(task_id)[0]
    assert (comment.path, comment.line, comment.quote) == ("lib.txt", 5, "line five")

    window.request_message.setPlainText("Please also keep the README")
    window.request_button.click()
    qtbot.waitUntil(
        lambda: (
            app_context.store.get_task(task_id).state is TaskState.RUNNING
            or len(app_context.store.list_runs(task_id)) > 1
        ),
        timeout=RUN_TIMEOUT_MS,
    )
    qtbot.waitUntil(lambda: len(app_context.store.list_runs(task_id)) > 1, timeout=RUN_TIMEOUT_MS)
    follow_up = app_context.store.list_runs(task_id)[-1].follow_up
    assert "Spell it as a digit" in follow_up and "lib.txt:5" in follow_up
    assert "Please also keep the README" in follow_up
    qtbot.waitUntil(
        lambda: all(c.sent for c in app_context.store.list_comments(task_id)), timeout=10_000
    )


def test_activating_a_card_awaiting_review_opens_its_reviewer(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], app_context: AppContext
) -> None:
    from seedbed.ui.window.main_window import MainWindow

    _window, task_id = reviewed
    main = MainWindow(app_context)
    qtbot.addWidget(main)
    qtbot.waitUntil(lambda: main.board.model.card(task_id) is not None, timeout=10_000)
    main.board.task_activated.emit(task_id)
    reviewer = main.reviewers[task_id]
    assert reviewer.isVisible() and reviewer.task_id == task_id
    main._on_board_task_activated(task_id)
    assert main.reviewers[task_id] is reviewer  # one window per task
    reviewer.close()


def test_keys_walk_back_across_files_and_tick_viewed_and_the_window_names_the_task(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], app_context: AppContext
) -> None:
    window, task_id = reviewed
    assert window.windowTitle() == f"Review #{task_id}: Tidy up"
    files = window.files
    files.select_row(files.model.row_of("lib.txt"))
    before = [f.path for f in files.model.files()]
    previous = before[before.index("lib.txt") - 1]
    window.actions_by_name["previous_hunk"].trigger()  # at the top: the file before
    assert files.current_file() is not None and files.current_file().path == previous
    files.select_row(files.model.row_of("lib.txt"))
    window.actions_by_name["next_hunk"].trigger()
    window.actions_by_name["next_hunk"].trigger()
    assert window.diff.current_hunk() == 1
    window.actions_by_name["previous_hunk"].trigger()
    assert window.diff.current_hunk() == 0 and files.current_file().path == "lib.txt"

    index = files.tree.file_index(files.model.row_of("lib.txt"))
    assert index.data(Role.VIEWED) is False
    window.actions_by_name["toggle_viewed"].trigger()
    assert index.data(Role.VIEWED) is True
    assert ViewedStore(app_context.data_dir).is_viewed(task_id, files.current_file())
    window.actions_by_name["toggle_viewed"].trigger()
    assert index.data(Role.VIEWED) is False


def test_the_request_button_counts_the_comments_it_sends(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], app_context: AppContext
) -> None:
    window, task_id = reviewed
    assert window.request_button.text() == "&Request changes"
    comment_ops.add_comment(app_context.core, task_id, "lib.txt", 5, None, "A digit", "")
    comment_ops.add_comment(app_context.core, task_id, "lib.txt", 35, None, "Here too", "")
    window.reload()
    qtbot.waitUntil(lambda: window.request_button.text() == "&Request changes (2 comments)")


def test_the_diff_stays_frozen_out_of_the_collector_until_the_last_reviewer_closes(
    qtbot: QtBot, reviewed: tuple[ReviewWindow, int], app_context: AppContext
) -> None:
    import gc

    first, task_id = reviewed
    assert gc.get_freeze_count() > 0
    second = open_reviewer(qtbot, app_context, task_id)
    first.close()
    assert gc.get_freeze_count() > 0  # the other window's diff stays frozen
    second.reload()  # a refresh does not freeze again (nor pin new garbage)
    qtbot.waitUntil(lambda: second.data is not None and not second._refresh_timer.isActive())
    second.close()
    assert gc.get_freeze_count() == 0
    assert ReviewWindow._frozen_windows == 0
