"""The reviewer over real runs: folds opened from the branch, side by side, the live
diff of a running task, "since last review" and "show anyway"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from seedbed.domain.models import TaskState
from seedbed.ui.common.context import AppContext
from seedbed.ui.review.reviewer import ReviewWindow
from tests.conftest import SeedbedCli
from tests.core.test_review_data import prepare
from tests.ui.test_reviewer import RUN_TIMEOUT_MS, open_reviewer, run_task


def select(window: ReviewWindow, path: str) -> None:
    window.files.select_row(window.files.model.row_of(path))
    assert window.diff.file is not None and window.diff.file.path == path


def test_a_fold_opens_with_the_lines_of_the_branch_tip(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    repo: Path,
    project: str,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> None:
    prepare(repo)
    command_profile("tidy", "sed -i 's/^line 5$/line five/; s/^line 35$/line 35!/' lib.txt")
    window = open_reviewer(qtbot, app_context, run_task(seedbed, app_context, qtbot, "tidy"))
    select(window, "lib.txt")
    lines = window.diff.text.toPlainText().splitlines()
    fold = lines.index("⋯ 23 unchanged lines — expand")  # lines 9 to 31
    window.diff.text.go_to_block(fold)
    qtbot.keyClick(window.diff.text, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: " line 20" in window.diff.text.toPlainText(), timeout=10_000)
    lines = window.diff.text.toPlainText().splitlines()
    assert lines[fold : fold + 23] == [f" line {n}" for n in range(9, 32)]
    row = window.diff.rows[fold]
    assert (row.old_no, row.new_no) == (9, 9)

    window.actions_by_name["toggle_split"].trigger()
    assert window.split_box.isChecked() and window.diff.split_mode
    left, right = window.diff.split.panes()
    assert " line 20" in left.toPlainText() and "+line 35!" in right.toPlainText()
    assert left.blockCount() == right.blockCount()


def test_the_live_diff_grows_and_the_file_and_scroll_stay(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    repo: Path,
    project: str,
    tmp_path: Path,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> None:
    go = tmp_path / "go"
    command_profile(
        "live",
        f"seq 101 300 > live.txt; while [ ! -e {go} ]; do sleep 0.05; done; "
        "for i in 1 2 3; do echo $i >> live.txt; sleep 0.5; done; sleep 20",
    )
    out = seedbed.ok("task", "add", "--project", "demo", "--title", "Live", "--profile", "live")
    task_id = int(out.out.strip())
    seedbed.ok("task", "start", str(task_id))
    store = app_context.store
    qtbot.waitUntil(
        lambda: (
            (task := store.get_task(task_id)).worktree is not None
            and (task.worktree / "live.txt").exists()
        ),
        timeout=RUN_TIMEOUT_MS,
    )
    window = open_reviewer(qtbot, app_context, task_id)
    window.resize(900, 300)
    qtbot.waitUntil(
        lambda: window.data is not None and window.files.model.row_of("live.txt") >= 0,
        timeout=10_000,
    )
    assert window.data is not None and window.data.live
    select(window, "live.txt")
    qtbot.waitUntil(lambda: "+300" in window.diff.text.toPlainText(), timeout=10_000)
    bar = window.diff.text.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 60, timeout=10_000)
    bar.setValue(50)
    go.touch()
    qtbot.waitUntil(
        lambda: window.diff.text.toPlainText().endswith("+300\n+1\n+2\n+3"), timeout=20_000
    )
    assert window.files.current_file() is not None
    assert window.files.current_file().path == "live.txt"
    assert window.diff.file is not None and window.diff.file.insertions == 203
    assert bar.value() == 50
    seedbed.ok("task", "stop", str(task_id))


def test_since_last_review_shows_only_what_the_agent_changed_after_it(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    repo: Path,
    project: str,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> None:
    command_profile(
        "rounds",
        "if [ -e first.txt ]; then printf 'two\\n' > second.txt; "
        "else printf 'one\\n' > first.txt; fi",
    )
    task_id = run_task(seedbed, app_context, qtbot, "rounds")
    window = open_reviewer(qtbot, app_context, task_id)
    assert not window.since_box.isEnabled()
    window.request_message.setPlainText("Add a second file")
    window.request_button.click()
    store = app_context.store
    qtbot.waitUntil(lambda: len(store.list_runs(task_id)) > 1, timeout=RUN_TIMEOUT_MS)
    qtbot.waitUntil(
        lambda: store.get_task(task_id).state is TaskState.AWAITING_REVIEW, timeout=RUN_TIMEOUT_MS
    )
    qtbot.waitUntil(
        lambda: window.data is not None and window.data.task.reviewed_commit is not None,
        timeout=10_000,
    )
    qtbot.waitUntil(lambda: window.files.model.row_of("second.txt") >= 0, timeout=10_000)
    assert window.since_box.isEnabled()
    assert {f.path for f in window.files.model.files()} == {"first.txt", "second.txt"}
    window.since_box.setChecked(True)
    qtbot.waitUntil(
        lambda: [f.path for f in window.files.model.files()] == ["second.txt"], timeout=10_000
    )
    assert window.data is not None and window.data.since is not None
    window.since_box.setChecked(False)
    qtbot.waitUntil(lambda: window.files.model.rowCount() == 2, timeout=10_000)
    # A window opened after the round starts with only what changed since.
    again = ReviewWindow(app_context, task_id)
    qtbot.addWidget(again)
    again.show()
    qtbot.waitUntil(again.since_box.isChecked)  # once the task says so
    qtbot.waitUntil(lambda: again.data is not None and not again.data.outline, timeout=10_000)
    assert [f.path for f in again.files.model.files()] == ["second.txt"]


def test_show_anyway_shows_a_file_over_the_cap(
    qtbot: QtBot,
    seedbed: SeedbedCli,
    repo: Path,
    project: str,
    command_profile: Callable[[str, str], str],
    app_context: AppContext,
) -> None:
    command_profile("big", "seq 1 20001 > big.txt")
    window = open_reviewer(qtbot, app_context, run_task(seedbed, app_context, qtbot, "big"))
    select(window, "big.txt")
    diff = window.diff
    assert diff.pages.currentWidget() is diff.placeholder
    assert "too large" in diff.placeholder_label.text()
    diff.show_anyway.click()
    qtbot.waitUntil(lambda: diff.pages.currentWidget() is diff.text, timeout=20_000)
    assert diff.text.blockCount() == 20_002  # the hunk header and every line
    assert diff.text.document().findBlockByNumber(20_001).text() == "+20001"
    assert window.files.current_file() is not None
    assert window.files.current_file().path == "big.txt"
